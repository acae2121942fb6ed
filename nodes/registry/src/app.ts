import { Hono } from 'hono';
import type { AppEnv, Deps } from './deps.js';
import { requestContext } from './middleware/request-context.js';
import { toErrorResponse } from './middleware/errors.js';
import { WharfError } from '../../../shared/errors/errcode.js';
import { NAME_INVALID, NOT_FOUND } from '../../../shared/errors/codes.js';
import { dispatchV2 } from './v2/routes.js';
import { registerOps } from './ops/routes.js';
import { apiV1 } from './api/v1/index.js';
import { registerScannerRoutes } from './api/scanner.js';

export function createApp(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requestContext(deps));
  app.use('*', async (c, next) => {
    // The URL parser resolves '.' and '..' before routing, so /v2/a/../b/... would serve repository b: a proxy or
    // policy that judged the raw path would be bypassed. No valid request has dot segments; refuse them.
    if (hasDotSegment(c.env?.incoming?.url)) {
      throw new WharfError(NAME_INVALID, { message: 'the request path must not contain "." or ".." segments' });
    }
    await next();
  });
  registerOps(app, deps);
  registerScannerRoutes(app, deps);
  app.route('/api/v1', apiV1(deps));
  const v2 = dispatchV2(deps);
  app.all('/v2', v2);
  app.all('/v2/*', v2);
  app.notFound((c) => toErrorResponse(c, new WharfError(NOT_FOUND, { detail: { path: c.req.path } }), deps));
  app.onError((err, c) => toErrorResponse(c, err, deps));
  return app;
}

/** Whether the raw request-target's path has a "." or ".." segment, literally or percent-encoded. */
export function hasDotSegment(target: string | undefined): boolean {
  if (!target) return false;
  let path = target;
  if (!path.startsWith('/')) path = path.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  path = path.split(/[?#]/, 1)[0] ?? '';
  return path.split('/').some((seg) => /^(?:\.|%2e){1,2}$/i.test(seg));
}
