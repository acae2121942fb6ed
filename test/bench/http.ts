// Minimal node:http client for the bench: streamed request bodies, streamed (and
// usually discarded) response bodies, no buffering of anything large.
import http from 'node:http';
import net from 'node:net';
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

/**
 * GET whose body is counted and dropped through a raw socket reading into one reused
 * 1 MiB buffer (net's `onread`). node:http allocates and emits every chunk, which cost
 * the bench about a core per GB/s and made the *client* the bottleneck of blob pulls.
 * Resolves null unless the answer is a plain 200 with Content-Length (redirect, error,
 * chunked encoding), in which case the caller should fall back to request().
 */
export function getAndDiscard(url: URL, timeoutMs = 600_000): Promise<{ status: number; bytes: number } | null> {
  return new Promise((resolve, reject) => {
    let header: Buffer | null = Buffer.alloc(0);
    let expected = 0;
    let bytes = 0;
    let done = false;
    const finish = (v: { status: number; bytes: number } | null, err?: Error): void => {
      if (done) return;
      done = true;
      sock.destroy();
      if (err) reject(err);
      else resolve(v);
    };
    const sock = net.connect({
      host: url.hostname,
      port: Number(url.port || 80),
      onread: {
        buffer: Buffer.allocUnsafe(1024 * 1024),
        callback(n: number, buf: Uint8Array): boolean {
          if (done) return false;
          let body = n;
          if (header) {
            header = Buffer.concat([header, buf.subarray(0, n)]);
            const end = header.indexOf('\r\n\r\n');
            if (end < 0) {
              if (header.length > 64 * 1024) finish(null, new Error('response header too large'));
              return true;
            }
            const head = header.subarray(0, end).toString('latin1');
            body = header.length - end - 4;
            header = null;
            const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
            const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
            if (status !== 200 || !len || /\r\ntransfer-encoding:/i.test(head)) {
              finish(null);
              return false;
            }
            expected = Number(len[1]);
          }
          bytes += body;
          if (bytes >= expected) finish({ status: 200, bytes });
          return true;
        },
      },
    });
    sock.setTimeout(timeoutMs, () => finish(null, new Error(`GET ${url.pathname}: timed out`)));
    sock.on('error', (e) => finish(null, e));
    sock.on('end', () => finish(null, new Error(`GET ${url.pathname}: connection closed after ${bytes} of ${expected} body bytes`)));
    sock.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: wharf-bench\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n`);
  });
}

export function closeIdleSockets(): void {
  agent.destroy();
}
