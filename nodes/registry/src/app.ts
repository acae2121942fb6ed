import { Hono } from 'hono';
import type { AppEnv, Deps } from './deps.js';
import { requestContext } from './middleware/request-context.js';
import { toErrorResponse } from './middleware/errors.js';
import { WharfError } from '../../../shared/errors/errcode.js';
import { NOT_FOUND } from '../../../shared/errors/codes.js';
import { dispatchV2 } from './v2/routes.js';
import { registerOps } from './ops/routes.js';

export function createApp(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requestContext(deps));
  registerOps(app, deps);
  const v2 = dispatchV2(deps);
  app.all('/v2', v2);
  app.all('/v2/*', v2);
  app.notFound((c) => toErrorResponse(c, new WharfError(NOT_FOUND, { detail: { path: c.req.path } }), deps));
  app.onError((err, c) => toErrorResponse(c, err, deps));
  return app;
}
