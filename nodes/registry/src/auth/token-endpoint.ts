import type { Context } from 'hono';
import type { AppEnv, Deps } from '../deps.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import { INVALID_REQUEST, NOT_FOUND, UNAUTHORIZED } from '../../../../shared/errors/codes.js';
import { ScopeError, intersectAccess, parseScopes, type Access } from '../../../../shared/auth/index.js';
import { repoAccess, roleAtLeast } from '../../../../shared/db/access.js';
import { authenticateBasic, parseAuthorization } from './credentials.js';
import { subjectOf, type Principal } from './principal.js';

type Ctx = Context<AppEnv>;

/**
 * The token endpoint of the Docker registry token specification (GET with Basic credentials, or the OAuth2 password
 * grant as a form POST). It authenticates the caller (anonymous without credentials), works out what the caller may
 * do on each requested resource and issues a short-lived signed token for the intersection: asking for more than
 * allowed is down-scoped, not refused, exactly as the spec says, so `docker pull` of a public image works anonymously.
 */
export async function tokenEndpoint(c: Ctx, deps: Deps): Promise<Response> {
  const auth = deps.auth;
  if (!auth) throw new WharfError(NOT_FOUND, { message: 'this registry runs without authentication; no token is needed' });
  const params = await requestParams(c);
  const service = params.get('service');
  if (service !== null && service !== auth.service) {
    throw new WharfError(INVALID_REQUEST, { message: `unknown service "${service.slice(0, 100)}"; this registry is "${auth.service}"` });
  }
  let requested: Access[];
  try {
    requested = parseScopes(params.getAll('scope'));
  } catch (e) {
    if (e instanceof ScopeError) throw new WharfError(INVALID_REQUEST, { message: e.message });
    throw e;
  }

  let principal: Principal | null = null;
  if (c.req.method === 'POST') {
    const grant = params.get('grant_type');
    if (grant !== 'password') throw new WharfError(INVALID_REQUEST, { message: 'only grant_type=password is supported', detail: { error: 'unsupported_grant_type' } });
    principal = await authenticateBasic(deps, params.get('username') ?? '', params.get('password') ?? '', c.get('ip'));
  } else {
    const creds = parseAuthorization(c.req.header('authorization'));
    if (creds?.scheme === 'bearer') throw new WharfError(UNAUTHORIZED, { message: 'the token endpoint takes Basic credentials' });
    if (creds) principal = await authenticateBasic(deps, creds.username, creds.secret, c.get('ip'));
  }

  const granted = await allowedAccess(deps, principal, requested);
  const access = intersectAccess(requested, granted);
  const issued = auth.issue(principal?.name ?? '', access);
  c.header('Cache-Control', 'no-store');
  return c.json({
    token: issued.token, access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt,
  });
}

/** GET query parameters, or the form body of an OAuth2 POST (bounded). */
async function requestParams(c: Ctx): Promise<URLSearchParams> {
  if (c.req.method !== 'POST') return new URL(c.req.url).searchParams;
  const text = await c.req.text();
  if (text.length > 16 * 1024) throw new WharfError(INVALID_REQUEST, { message: 'request body too large' });
  return new URLSearchParams(text);
}

/**
 * What the caller may do on each requested resource. pull needs read; push and delete need write, or, for a
 * repository that does not exist yet, the right to create in its namespace (a push creates it); `*` needs admin.
 * The catalog is open to every caller: its listing is filtered by what each caller may read.
 */
async function allowedAccess(deps: Deps, principal: Principal | null, requested: readonly Access[]): Promise<Access[]> {
  const out: Access[] = [];
  for (const r of requested) {
    if (r.type === 'registry') {
      if (r.name === 'catalog') out.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      continue;
    }
    const a = await repoAccess(deps.db, subjectOf(principal), r.name);
    const actions: string[] = [];
    if (roleAtLeast(a.role, 'read')) actions.push('pull');
    if (roleAtLeast(a.role, 'write') || (a.repositoryId === null && a.canCreate)) actions.push('push', 'delete');
    if (roleAtLeast(a.role, 'admin')) actions.push('*');
    if (a.repositoryId === null && a.canCreate && !actions.includes('pull')) actions.push('pull');
    if (actions.length > 0) out.push({ type: 'repository', name: r.name, actions });
  }
  return out;
}
