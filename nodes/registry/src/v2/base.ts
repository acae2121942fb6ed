import type { MethodMap } from './routes.js';

/** GET /v2/: the API version check every client makes first. */
export function baseHandlers(): MethodMap {
  const ok = () => new Response('{}', { status: 200, headers: { 'Content-Type': 'application/json' } });
  return { GET: ok, HEAD: ok };
}
