import { randomUUID } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import type { AppEnv, Deps } from '../deps.js';

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
