import type { Context } from 'hono';
import type { AppEnv, Deps } from '../deps.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import { METHOD_NOT_ALLOWED, NAME_INVALID, NOT_FOUND } from '../../../../shared/errors/codes.js';
import { isRepoName } from '../../../../shared/oci/reference.js';
import { baseHandlers } from './base.js';
import { catalogHandlers } from './catalog.js';
import { tagHandlers } from './tags.js';
import { manifestHandlers } from './manifests.js';
import { referrerHandlers } from './referrers.js';
import { uploadStartHandlers, uploadHandlers } from './uploads.js';
import { blobHandlers } from './blobs.js';
import { tokenEndpoint } from '../auth/token-endpoint.js';
import { authorizeV2 } from '../auth/v2-guard.js';

export type Ctx = Context<AppEnv>;
export interface RouteParams {
  name: string;
  ref: string;
}
export type Handler = (c: Ctx, p: RouteParams) => Promise<Response> | Response;
export type MethodMap = Partial<Record<'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE', Handler>>;

/**
 * The /v2 route table. Repository names contain '/', so routes are matched on the whole path, most specific first;
 * the captured name is validated once here, before any handler runs. Route names label metrics and logs.
 */
interface Route {
  name: string;
  pattern: RegExp;
  methods: MethodMap;
}

export function dispatchV2(deps: Deps) {
  const routes: Route[] = [
    { name: 'base', pattern: /^\/v2\/?$/, methods: baseHandlers() },
    { name: 'token', pattern: /^\/v2\/auth$/, methods: { GET: (c) => tokenEndpoint(c, deps), POST: (c) => tokenEndpoint(c, deps) } },
    { name: 'catalog', pattern: /^\/v2\/_catalog$/, methods: catalogHandlers(deps) },
    { name: 'tags', pattern: /^\/v2\/(.+)\/tags\/list$/, methods: tagHandlers(deps) },
    { name: 'manifest', pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/, methods: manifestHandlers(deps) },
    { name: 'referrers', pattern: /^\/v2\/(.+)\/referrers\/([^/]+)$/, methods: referrerHandlers(deps) },
    { name: 'upload-start', pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/, methods: uploadStartHandlers(deps) },
    { name: 'upload', pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, methods: uploadHandlers(deps) },
    { name: 'blob', pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/, methods: blobHandlers(deps) },
  ];
  return async function v2(c: Ctx): Promise<Response> {
    const path = c.req.path;
    for (const route of routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      c.set('route', route.name);
      const method = c.req.method as keyof MethodMap;
      const handler = route.methods[method];
      if (!handler) {
        throw new WharfError(METHOD_NOT_ALLOWED, {
          message: `method ${method} is not allowed on this route`,
          detail: { method, route: route.name }, headers: { Allow: Object.keys(route.methods).join(', ') },
        });
      }
      const name = m[1] ?? '';
      if (route.name !== 'base' && route.name !== 'catalog' && route.name !== 'token' && !isRepoName(name)) {
        throw new WharfError(NAME_INVALID, { detail: { name: name.slice(0, 300) } });
      }
      await authorizeV2(c, deps, route.name, method, name);
      const res = await handler(c, { name, ref: m[2] ?? '' });
      res.headers.set('Docker-Distribution-API-Version', 'registry/2.0');
      return res;
    }
    throw new WharfError(NOT_FOUND, { detail: { path } });
  };
}
