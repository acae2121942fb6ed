import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';

/**
 * Plain node:http requests from a chosen source address (`localAddress`, e.g. 127.0.2.1 to be an eu-west client of
 * the front). fetch cannot pick its source address, so the front tests speak HTTP through this.
 */
export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  header(name: string): string | undefined;
  text(): string;
  json<T = any>(): T;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  localAddress?: string;
  timeoutMs?: number;
}

export function request(url: string, opts: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
    const headers: Record<string, string> = { ...opts.headers };
    if (body !== undefined) headers['Content-Length'] = String(body.length);
    const req = httpRequest(
      url,
      {
        method: opts.method ?? 'GET',
        headers,
        // A fresh connection per request, so each one is routed (and load-balanced) on its own.
        agent: false,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const buf = Buffer.concat(chunks);
          const h = res.headers;
          resolve({
            status: res.statusCode ?? 0,
            headers: h,
            body: buf,
            header: (name) => {
              const v = h[name.toLowerCase()];
              return Array.isArray(v) ? v.join(', ') : v;
            },
            text: () => buf.toString('utf8'),
            json: () => JSON.parse(buf.toString('utf8')),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${opts.method ?? 'GET'} ${url}: no answer within ${opts.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs` with `what`. */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
