import { Hono } from 'hono';
import type { AppEnv, Deps } from '../deps.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import { NAME_INVALID, NOT_FOUND } from '../../../../shared/errors/codes.js';
import { isRepoName } from '../../../../shared/oci/reference.js';
import { parseDigestParam } from '../services/uploads.js';
import { parseReference } from '../services/manifests.js';
import { requireRepoRole, requireSuperuser } from './v1/guard.js';
import { blobStatus, clusterStatus, manifestStatus, repositoryStatus } from '../services/replication-status.js';

/**
 * GET /api/v1/replication/status                                  cluster summary
 * GET /api/v1/replication/regions/{region}                        one region of the summary
 * GET /api/v1/replication/blobs/{digest}                          per region: placed | pending | failed
 * GET /api/v1/replication/repositories/{name}                     per required region: backlog of the repository
 * GET /api/v1/replication/repositories/{name}/manifests/{ref}     per region: complete, missing digests
 */
export function replicationApi(deps: Deps): Hono<AppEnv> {
  const api = new Hono<AppEnv>();
  // Under token auth, cluster-wide views (status, regions, blobs of any repository) are for superusers; a
  // repository's own view needs read on it.
  api.use('*', async (c, next) => {
    if (!c.req.path.includes('/replication/repositories/')) requireSuperuser(c, deps);
    await next();
  });
  api.get('/status', async (c) => {
    c.set('route', 'api-replication-status');
    return c.json(await clusterStatus(deps));
  });
  api.get('/regions/:region', async (c) => {
    c.set('route', 'api-replication-region');
    const status = await clusterStatus(deps);
    const region = status.regions.find((r) => r.region === c.req.param('region'));
    if (!region) throw new WharfError(NOT_FOUND, { message: 'unknown region', detail: { region: c.req.param('region') } });
    return c.json(region);
  });
  api.get('/blobs/:digest', async (c) => {
    c.set('route', 'api-replication-blob');
    return c.json(await blobStatus(deps, parseDigestParam(c.req.param('digest'))));
  });
  // Repository names contain '/', so the rest of the path is matched here rather than by the router.
  api.get('/repositories/*', async (c) => {
    c.set('route', 'api-replication-repository');
    const rest = c.req.path.replace(/^.*?\/replication\/repositories\//, '');
    const m = /^(.+)\/manifests\/([^/]+)$/.exec(rest);
    const name = m ? m[1]! : rest;
    if (!isRepoName(name)) throw new WharfError(NAME_INVALID, { detail: { name: name.slice(0, 300) } });
    await requireRepoRole(c, deps, name, 'read');
    if (m) return c.json(await manifestStatus(deps, name, parseReference(m[2]!)));
    return c.json(await repositoryStatus(deps, name));
  });
  return api;
}
