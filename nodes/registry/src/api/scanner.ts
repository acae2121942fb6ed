import type { Context, Hono } from 'hono';
import type { AppEnv, Deps } from '../deps.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import { NAME_INVALID, UNAVAILABLE } from '../../../../shared/errors/codes.js';
import { isRepoName } from '../../../../shared/oci/reference.js';
import { parseDigestParam } from '../services/uploads.js';
import { requireRepoRole, requireSuperuser } from './v1/guard.js';
import { appToken, authenticateBasic, parseAuthorization } from '../auth/credentials.js';
import type { Paths } from './v1/openapi.js';

type Ctx = Context<AppEnv>;

/**
 * The scanner behind the registry, as Quay puts Clair behind its API: the Quay-shaped security report of a manifest
 * (for callers who may read its repository), and the scanner's own API (Clair's indexer and matcher, the
 * vulnerability database) for superusers, forwarded as they are.
 */
export function registerScannerRoutes(app: Hono<AppEnv>, deps: Deps): void {
  const scannerUrl = () => {
    const url = deps.scannerUrl();
    if (!url) throw new WharfError(UNAVAILABLE, { message: 'no scanner is configured (scanner.url) or running' });
    return url.replace(/\/$/, '');
  };
  const authenticate = async (c: Ctx) => {
    if (!deps.auth) return;
    const creds = parseAuthorization(c.req.header('authorization'));
    if (creds?.scheme === 'basic') c.set('principal', await authenticateBasic(deps, creds.username, creds.secret, c.get('ip')));
    else if (creds?.scheme === 'bearer') c.set('principal', (await appToken(deps, creds.token)) ?? null);
  };
  const forward = async (c: Ctx, path: string): Promise<Response> => {
    const init: RequestInit & { duplex?: 'half' } = { method: c.req.method, headers: {} };
    const type = c.req.header('content-type');
    const length = c.req.header('content-length');
    if (type) (init.headers as Record<string, string>)['Content-Type'] = type;
    if (length) (init.headers as Record<string, string>)['Content-Length'] = length;
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      init.body = c.req.raw.body;
      init.duplex = 'half';
    }
    let r: Response;
    try {
      r = await fetch(`${scannerUrl()}${path}`, init);
    } catch (e) {
      throw new WharfError(UNAVAILABLE, { message: `the scanner does not answer: ${(e as Error).message}` });
    }
    return new Response(r.body, { status: r.status, headers: { 'Content-Type': r.headers.get('content-type') ?? 'application/json', ...(r.headers.get('content-disposition') ? { 'Content-Disposition': r.headers.get('content-disposition')! } : {}) } });
  };
  const superuserOnly = async (c: Ctx) => {
    await authenticate(c);
    requireSuperuser(c, deps);
  };

  for (const prefix of ['/indexer/api/v1/*', '/matcher/api/v1/*']) {
    app.all(prefix, async (c) => {
      c.set('route', 'scanner-clair');
      await superuserOnly(c);
      return forward(c, c.req.path + (new URL(c.req.url).search));
    });
  }
  app.all('/api/v1/vulndb/*', async (c) => {
    c.set('route', 'api-vulndb');
    await superuserOnly(c);
    return forward(c, c.req.path + new URL(c.req.url).search);
  });
  app.get('/api/v1/vulnerabilities/:id/manifests', async (c) => {
    c.set('route', 'api-vulnerability-manifests');
    await superuserOnly(c);
    return forward(c, c.req.path);
  });
}

/** GET /api/v1/repository/{repo}/manifest/{digest}/security?vulnerabilities=true, Quay's shape. */
export async function securityReport(c: Ctx, deps: Deps, repository: string, digestText: string): Promise<Response> {
  c.set('route', 'api-manifest-security');
  if (!isRepoName(repository)) throw new WharfError(NAME_INVALID, { detail: { name: repository.slice(0, 300) } });
  const digest = parseDigestParam(digestText);
  const access = await requireRepoRole(c, deps, repository, 'read');
  const held = await deps.db.query('SELECT 1 FROM manifests WHERE repository_id = $1 AND digest = $2', [access.repositoryId, digest]);
  if (held.rowCount === 0) throw new WharfError(UNAVAILABLE, { status: 404, message: 'manifest not found in this repository', detail: { digest } });
  const url = deps.scannerUrl();
  if (!url) throw new WharfError(UNAVAILABLE, { message: 'no scanner is configured (scanner.url) or running' });
  let r: Response;
  try {
    r = await fetch(`${url.replace(/\/$/, '')}/scanner/api/v1/security/${digest}?vulnerabilities=${c.req.query('vulnerabilities') === 'true'}`);
  } catch (e) {
    throw new WharfError(UNAVAILABLE, { message: `the scanner does not answer: ${(e as Error).message}` });
  }
  return new Response(r.body, { status: r.status, headers: { 'Content-Type': 'application/json' } });
}

export const SCANNER_PATHS: Paths = {
  '/api/v1/repository/{repository}/manifest/{digest}/security': { get: { summary: 'Quay-shaped vulnerability report of a manifest (?vulnerabilities=true for the vulnerabilities)', tags: ['security'] } },
  '/api/v1/vulndb/feeds': { get: { summary: 'Each vulnerability feed: records, age, stale warning (superuser)', tags: ['security'] } },
  '/api/v1/vulndb/import': { post: { summary: 'Import a feed file, archive or bundle (body: the file; ?name=) (superuser)', tags: ['security'] } },
  '/api/v1/vulndb/export': { get: { summary: 'Every current feed as one checksummed (and, with a key, signed) bundle (superuser)', tags: ['security'] } },
  '/api/v1/vulndb/update': { post: { summary: 'Fetch the configured feed URLs now (superuser)', tags: ['security'] } },
  '/api/v1/vulnerabilities/{id}/manifests': { get: { summary: 'Images affected by a vulnerability id or CVE (superuser)', tags: ['security'] } },
};
