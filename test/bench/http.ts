// Minimal node:http client for the bench: streamed request bodies, streamed (and
// usually discarded) response bodies, no buffering of anything large.
import http from 'node:http';
import type { Readable } from 'node:stream';

// keepAlive so small requests (probes, manifest setup) don't pay a connect each;
// big transfers don't care either way.
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Response body as text (only when collected; capped). */
  text: string;
  /** Response body byte count. */
  bytes: number;
}

export interface RequestOptions {
  method: string;
  headers?: Record<string, string | number>;
  /** Request body: a Buffer/string, or a stream (pass Content-Length in headers to avoid chunked encoding). */
  body?: Buffer | string | Readable;
  /** Keep at most this many bytes of the response body as `text` (rest is counted and dropped). */
  collect?: number;
  /** Consume each response chunk (e.g. to hash it); called before it is dropped. */
  onData?: (chunk: Buffer) => void;
  timeoutMs?: number;
}

export function request(url: string | URL, opts: RequestOptions): Promise<HttpResult> {
  const u = typeof url === 'string' ? new URL(url) : url;
  const collect = opts.collect ?? 64 * 1024;
  const body = opts.body;
  return new Promise<HttpResult>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      if (body && typeof body !== 'string' && !Buffer.isBuffer(body)) body.destroy();
      reject(err);
    };
    const req = http.request(
      u,
      { method: opts.method, headers: opts.headers, agent, timeout: opts.timeoutMs ?? 600_000 },
      (res) => {
        const parts: Buffer[] = [];
        let kept = 0;
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          opts.onData?.(chunk);
          if (kept < collect) {
            const part = chunk.subarray(0, collect - kept);
            parts.push(part);
            kept += part.length;
          }
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          // The server may answer (e.g. with an error) before consuming all of a
          // streamed body; stop producing it.
          if (body && typeof body !== 'string' && !Buffer.isBuffer(body) && !body.readableEnded) body.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(parts).toString('utf8'), bytes });
        });
        res.on('error', fail);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${opts.method} ${u.pathname}: timed out`)));
    req.on('error', fail);
    if (body === undefined) req.end();
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
    else {
      // If the server answers early and closes, piping fails with EPIPE/ECONNRESET;
      // the response (already delivered) is what matters, so that error is only
      // reported if no response arrives.
      body.on('error', (e) => req.destroy(e));
      body.pipe(req);
    }
  });
}

/** Throws a descriptive error unless the status is one of `expected`. */
export function expectStatus(res: HttpResult, expected: number[], what: string): HttpResult {
  if (!expected.includes(res.status)) {
    throw new Error(`${what}: HTTP ${res.status} (expected ${expected.join('/')}): ${res.text.slice(0, 500)}`);
  }
  return res;
}

/** Resolves a Location header against the request URL (registries may send relative or absolute). */
export function location(res: HttpResult, base: string | URL, what: string): URL {
  const loc = res.headers.location;
  if (!loc) throw new Error(`${what}: HTTP ${res.status} without Location header`);
  return new URL(loc, base);
}

export function closeIdleSockets(): void {
  agent.destroy();
}
