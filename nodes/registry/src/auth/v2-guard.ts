import type { Context } from 'hono';
import type { AppEnv, Deps } from '../deps.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import { UNAUTHORIZED } from '../../../../shared/errors/codes.js';
import { TokenError, challengeHeader, covers, type Access } from '../../../../shared/auth/index.js';
import * as accounts from '../../../../shared/db/accounts.js';
import { tokenAccess, type Action } from '../services/access.js';
import { parseAuthorization } from './credentials.js';
import { principalOf, subjectOf, type Principal } from './principal.js';

type Ctx = Context<AppEnv>;

/** The action a /v2 route and method need: "login" for the base route, which any valid token opens. */
export function requiredAction(route: string, method: string): Action | 'catalog' | 'login' {
  if (route === 'base') return 'login';
  if (route === 'catalog') return 'catalog';
  if (route === 'upload-start' || route === 'upload') return 'push';
  if (method === 'DELETE') return 'delete';
  if (method === 'PUT' || method === 'POST' || method === 'PATCH') return 'push';
  return 'pull';
}

/** Where clients get tokens: auth.realm, or this node's own token endpoint as the client reached it. */
export function realmOf(c: Ctx, deps: Deps): string {
  if (deps.config.auth.realm) return deps.config.auth.realm;
  const host = c.req.header('host');
  const safeHost = host && /^[A-Za-z0-9.:[\]-]{1,260}$/.test(host) ? host : `127.0.0.1:${deps.config.server.port}`;
  const forwarded = deps.config.server.trustForwardedFor ? c.req.header('x-forwarded-proto') : undefined;
  const proto = forwarded === 'https' ? 'https' : 'http';
  return `${proto}://${safeHost}/v2/auth`;
}

/**
 * Docker registry token auth on /v2: a request needs a bearer token, issued by a Wharf node of this cluster for
 * this service, whose access claim covers the route's action. Anything else is a 401 with the challenge that tells
 * the client where to get the token and for which scope. Private and missing repositories answer alike (401), so a
 * caller cannot tell them apart.
 */
export async function authorizeV2(c: Ctx, deps: Deps, route: string, method: string, name: string): Promise<void> {
  const auth = deps.auth;
  if (!auth || route === 'token') return;
  const need = requiredAction(route, method);
  const scope: Access[] = need === 'login' ? []
    : need === 'catalog' ? [{ type: 'registry', name: 'catalog', actions: ['*'] }]
    : [{ type: 'repository', name, actions: need === 'pull' ? ['pull'] : need === 'push' ? ['pull', 'push'] : [need] }];
  const deny = (error: string | undefined, message: string): never => {
    const challenge = challengeHeader({ realm: realmOf(c, deps), service: auth.service, scope, ...(error ? { error } : {}) });
    throw new WharfError(UNAUTHORIZED, { message, headers: { 'WWW-Authenticate': challenge }, detail: scope.length ? scope.map((a) => ({ Type: a.type, Name: a.name, Action: a.actions.join(',') })) : undefined });
  };

  const creds = parseAuthorization(c.req.header('authorization'));
  if (creds?.scheme !== 'bearer') return deny(undefined, 'authentication required');
  let claims;
  try {
    claims = await auth.verify(creds.token);
  } catch (e) {
    if (e instanceof TokenError) return deny('invalid_token', `invalid token: ${e.message}`);
    throw e;
  }
  const ok = need === 'login' ? true
    : need === 'catalog' ? covers(claims.access, 'registry', 'catalog', '*')
    : covers(claims.access, 'repository', name, need) && (need !== 'push' || covers(claims.access, 'repository', name, 'pull'));
  if (!ok) return deny('insufficient_scope', 'the token does not grant this action');

  const sub = claims.sub;
  if (sub) c.set('actor', sub);
  const principal = sub ? await principals.get(deps, sub) : null;
  if (sub && !principal) return deny('invalid_token', 'the account of this token no longer exists or is disabled');
  c.set('principal', principal ? { ...principal, via: 'bearer' } : null);
  c.set('access', tokenAccess(deps.db, claims.access, async () => subjectOf(principal)));
}

/**
 * Accounts behind bearer tokens, cached briefly: the token already proves who the caller is, and a /v2 pull must not
 * pay a database round trip for it. A disabled or deleted account loses /v2 access within the cache time.
 */
const principals = new (class {
  readonly #cache = new Map<string, { p: Principal | null; until: number }>();
  async get(deps: Deps, name: string): Promise<Principal | null> {
    const hit = this.#cache.get(name);
    if (hit && hit.until > Date.now()) return hit.p;
    const a = await accounts.findAccount(deps.db, name);
    const p = a && a.enabled && a.kind !== 'org' ? principalOf(a, 'bearer') : null;
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(name, { p, until: Date.now() + 10_000 });
    return p;
  }
})();
