import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type ReadinessChecks = () => Promise<Record<string, { ok: boolean; detail?: string }>>;

export interface OpsServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The replicator's only HTTP surface, on plain node:http (no framework for three routes): /healthz (the process
 * runs), /readyz (database, events, home store; 503 when one fails) and /metrics (Prometheus).
 */
export async function startOpsServer(opts: {
  host: string; port: number; region: string; registry: Registry; readiness: ReadinessChecks;
}): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' });
      res.end();
      return;
    }
    void (async () => {
      try {
        if (path === '/healthz') return json(200, { status: 'ok' });
        if (path === '/readyz') {
          const checks = await opts.readiness();
          const ok = Object.values(checks).every((c) => c.ok);
          return json(ok ? 200 : 503, { status: ok ? 'ready' : 'not ready', region: opts.region, checks });
        }
        if (path === '/metrics') {
          const body = await opts.registry.metrics();
          res.writeHead(200, { 'Content-Type': opts.registry.contentType });
          res.end(body);
          return;
        }
        json(404, { error: 'not found' });
      } catch (err) {
        if (!res.headersSent) json(500, { error: (err as Error).message });
        else res.destroy();
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
