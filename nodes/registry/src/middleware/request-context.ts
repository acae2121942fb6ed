import { randomUUID } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import type { AppEnv, Deps } from '../deps.js';
import { openAccess, type RequestAccess } from '../services/access.js';

const noAccess: RequestAccess = { can: () => false, readable: async () => new Set() };

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Request id (the caller's X-Request-Id when it is sane), a child logger, and metrics taken when the Node response
 * finishes, so streamed bodies count in full.
 */
export function requestContext(deps: Deps) {
  return createMiddleware<AppEnv>(async function requestContext(c, next) {
    const start = process.hrtime.bigint();
    const given = c.req.header('x-request-id');
    const requestId = given && REQUEST_ID_RE.test(given) ? given : randomUUID();
    const log = deps.log.child({ requestId });
    c.set('requestId', requestId);
    c.set('log', log);
    c.set('route', 'unmatched');
    c.set('actor', 'anonymous');
    c.set('principal', null);
    c.set('access', deps.auth ? noAccess : openAccess);
    c.set('ip', clientAddress(c.env?.incoming?.socket?.remoteAddress, c.req.header('x-forwarded-for'), deps.config.server.trustForwardedFor));
    const out = c.env?.outgoing;
    // 'close' fires for finished and for aborted exchanges alike; an abort (client gone mid-upload or mid-pull)
    // is counted under status "aborted" rather than disappearing from logs and metrics.
    out?.once('close', () => {
      const route = c.get('route');
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const finished = out.writableFinished;
      const status = finished ? String(out.statusCode) : 'aborted';
      deps.metrics.requests.inc({ route, method: c.req.method, status });
      deps.metrics.latency.observe({ route, method: c.req.method }, seconds);
      const length = Number(out.getHeader('content-length') ?? 0);
      if (finished && length > 0 && c.req.method !== 'HEAD') deps.metrics.bytesOut.inc({ route }, length);
      const entry = { method: c.req.method, path: c.req.path, status, route, ms: Math.round(seconds * 1e4) / 10 };
      if (!finished) log.warn(entry, 'request aborted');
      else if (out.statusCode >= 500) log.error(entry, 'request failed');
      else log.info(entry, 'request');
    });
    await next();
    // Streamed blob responses are written to the socket directly and already carry it.
    if (!c.res.headers.has('x-hono-already-sent')) c.header('X-Request-Id', requestId);
  });
}

/**
 * The client's address: the socket's, or behind a trusted proxy (server.trustForwardedFor, e.g. the HAProxy front)
 * the last X-Forwarded-For hop, which is the one that proxy appended and the only one a client cannot forge.
 */
export function clientAddress(socket: string | undefined, forwardedFor: string | undefined, trusted: boolean): string {
  const direct = (socket ?? 'unknown').replace(/^::ffff:/, '');
  if (!trusted || !forwardedFor) return direct;
  const last = forwardedFor.split(',').at(-1)?.trim();
  return last && /^[0-9a-fA-F:.]{2,45}$/.test(last) ? last.replace(/^::ffff:/, '') : direct;
}
