import type { Hono } from 'hono';
import type { AppEnv, Deps } from '../deps.js';

/** Liveness, readiness (database, events, object store) and Prometheus metrics. */
export function registerOps(app: Hono<AppEnv>, deps: Deps): void {
  app.get('/healthz', (c) => {
    c.set('route', 'healthz');
    return c.json({ status: 'ok' });
  });
  app.get('/readyz', async (c) => {
    c.set('route', 'readyz');
    const checks = await deps.readiness();
    const ok = Object.values(checks).every((x) => x.ok);
    return c.json({ status: ok ? 'ready' : 'not ready', region: deps.region, checks }, ok ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    c.set('route', 'metrics');
    return c.body(await deps.metrics.registry.metrics(), 200, { 'Content-Type': deps.metrics.registry.contentType });
  });
}
