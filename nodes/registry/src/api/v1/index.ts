import { Hono, type Context } from 'hono';
import type { AppEnv, Deps } from '../../deps.js';
import { WharfError } from '../../../../../shared/errors/errcode.js';
import { UNAUTHORIZED } from '../../../../../shared/errors/codes.js';
import { appToken, authenticateBasic, parseAuthorization } from '../../auth/credentials.js';
import { replicationApi } from '../replication.js';
import { SCANNER_PATHS, securityReport } from '../scanner.js';
import { openapiDocument, type Paths } from './openapi.js';
import * as user from './user.js';
import * as organizations from './organizations.js';
import * as repositories from './repositories.js';
import * as superuser from './superuser.js';
import * as tags from './tags.js';
import * as logs from './logs.js';
import * as notifications from './notifications.js';

/** An /api/v1 module: its routes and their OpenAPI description. */
export interface ApiModule {
  paths: Paths;
  register(api: Hono<AppEnv>, deps: Deps): void;
}

const MODULES: ApiModule[] = [user, organizations, repositories, superuser, tags, logs, notifications];

/**
 * /api/v1, shaped after Quay's API. Credentials: HTTP Basic with a user's password or app token or a robot's token,
 * or `Authorization: Bearer <app token>`. Bad credentials are refused (401), never downgraded to anonymous.
 */
export function apiV1(deps: Deps): Hono<AppEnv> {
  const api = new Hono<AppEnv>();
  api.use('*', async (c, next) => {
    if (deps.auth) {
      const creds = parseAuthorization(c.req.header('authorization'));
      if (creds?.scheme === 'basic') {
        c.set('principal', await authenticateBasic(deps, creds.username, creds.secret, c.get('ip')));
      } else if (creds?.scheme === 'bearer') {
        const p = await appToken(deps, creds.token);
        if (!p) throw new WharfError(UNAUTHORIZED, { message: 'invalid or expired application token' });
        c.set('principal', p);
      }
      const p = c.get('principal');
      if (p) c.set('actor', p.name);
    }
    await next();
  });
  api.route('/replication', replicationApi(deps));
  api.use('/repository/*', async (c, next) => {
    const m = /^\/api\/v1\/repository\/(.+)\/manifest\/([^/]+)\/security$/.exec(c.req.path);
    if (!m || c.req.method !== 'GET') return next();
    return securityReport(c, deps, m[1]!, m[2]!);
  });
  for (const m of MODULES) m.register(api, deps);
  const doc = openapiDocument([...MODULES.map((m) => m.paths), REPLICATION_PATHS, SCANNER_PATHS, OPENAPI_PATHS], '1');
  const serveDoc = (c: Context<AppEnv>) => {
    c.set('route', 'api-openapi');
    return c.json(doc);
  };
  api.get('/openapi.json', serveDoc);
  api.get('/discovery', serveDoc);
  return api;
}

const OPENAPI_PATHS: Paths = {
  '/api/v1/openapi.json': { get: { summary: 'This OpenAPI document', tags: ['meta'] } },
  '/api/v1/discovery': { get: { summary: 'This OpenAPI document (Quay\'s path for it)', tags: ['meta'] } },
};

const REPLICATION_PATHS: Paths = {
  '/api/v1/replication/status': { get: { summary: 'Cluster replication summary: backlog, lag and throughput per region', tags: ['replication'] } },
  '/api/v1/replication/regions/{region}': { get: { summary: 'One region of the summary', tags: ['replication'] } },
  '/api/v1/replication/blobs/{digest}': { get: { summary: 'Per region: placed, pending, failed or not required', tags: ['replication'] } },
  '/api/v1/replication/repositories/{name}': { get: { summary: 'Replication backlog of a repository per required region', tags: ['replication'] } },
  '/api/v1/replication/repositories/{name}/manifests/{ref}': { get: { summary: 'Whether a manifest is complete in each region', tags: ['replication'] } },
};
