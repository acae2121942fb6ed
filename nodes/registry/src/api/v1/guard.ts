import type { Context } from 'hono';
import type { AppEnv, Deps } from '../../deps.js';
import { WharfError } from '../../../../../shared/errors/errcode.js';
import { DENIED, INVALID_REQUEST, NAME_INVALID, NOT_FOUND, UNAUTHORIZED } from '../../../../../shared/errors/codes.js';
import { isRepoName } from '../../../../../shared/oci/reference.js';
import { orgRole, repoAccess, roleAtLeast, type RepoAccess, type RepoRole, type TeamRole } from '../../../../../shared/db/access.js';
import * as accounts from '../../../../../shared/db/accounts.js';
import { subjectOf, type Principal } from '../../auth/principal.js';

type Ctx = Context<AppEnv>;

/**
 * Authorization for the REST API. On an open node (auth.mode open) everything is allowed, as on /v2. Otherwise a
 * caller without access to a private repository gets the same 404 as for one that does not exist, so the API never
 * reveals private names; a caller who can see a resource but not change it gets 403; anonymous gets 401.
 */
export function requireUser(c: Ctx, deps: Deps): Principal {
  const p = c.get('principal');
  if (p) return p;
  if (!deps.auth) return OPEN_NODE_ADMIN;
  throw new WharfError(UNAUTHORIZED, { message: 'this endpoint needs credentials (Basic, or a bearer app token)' });
}

/** On an open node the API acts as an anonymous superuser with no account behind it. */
export const OPEN_NODE_ADMIN: Principal = Object.freeze({ id: 0, name: 'anonymous', kind: 'user', superuser: true, via: 'password' });

export function requireSuperuser(c: Ctx, deps: Deps): Principal {
  const p = requireUser(c, deps);
  if (!p.superuser) throw new WharfError(DENIED, { message: 'superuser only' });
  return p;
}

export function repoNameOf(namespace: string, repo: string): string {
  const name = `${namespace}/${repo}`;
  if (!isRepoName(name)) throw new WharfError(NAME_INVALID, { detail: { name: name.slice(0, 300) } });
  return name;
}

/** The caller's access to an existing repository, requiring `role`; 404 when it does not exist or is hidden. */
export async function requireRepoRole(c: Ctx, deps: Deps, name: string, role: RepoRole): Promise<RepoAccess & { repositoryId: number }> {
  const p = c.get('principal');
  const a = deps.auth ? await repoAccess(deps.db, subjectOf(p), name) : { ...(await repoAccess(deps.db, null, name)), role: 'admin' as const, canCreate: true };
  if (a.repositoryId === null || !roleAtLeast(a.role, 'read')) {
    // Anonymous callers are asked to authenticate whether or not the repository exists: that reveals nothing.
    if (!p && deps.auth) throw new WharfError(UNAUTHORIZED, { message: 'this repository needs credentials' });
    throw new WharfError(NOT_FOUND, { message: 'repository not found', detail: { repository: name } });
  }
  if (!roleAtLeast(a.role, role)) {
    if (!p && deps.auth) throw new WharfError(UNAUTHORIZED, { message: 'this action needs credentials' });
    throw new WharfError(DENIED, { message: `this action needs ${role} permission on the repository`, detail: { repository: name } });
  }
  return a as RepoAccess & { repositoryId: number };
}

/** An organization and the caller's role in it, requiring at least `role`; 404 for non-members who are not admins. */
export async function requireOrg(c: Ctx, deps: Deps, name: string, role: TeamRole): Promise<{ org: accounts.AccountRow; role: TeamRole | null }> {
  const p = requireUser(c, deps);
  const org = await accounts.findAccount(deps.db, name);
  if (!org || org.kind !== 'org') throw new WharfError(NOT_FOUND, { message: 'organization not found', detail: { organization: name } });
  const have = deps.auth ? await orgRole(deps.db, subjectOf(p), org.id) : 'admin';
  const rank = (r: TeamRole | null) => (r === 'admin' ? 3 : r === 'creator' ? 2 : r === 'member' ? 1 : 0);
  if (rank(have) === 0) throw new WharfError(NOT_FOUND, { message: 'organization not found', detail: { organization: name } });
  if (rank(have) < rank(role)) throw new WharfError(DENIED, { message: `this action needs the ${role} role in the organization` });
  return { org, role: have };
}

/** The request's JSON body as an object; INVALID_REQUEST for anything else. */
export async function jsonBody(c: Ctx): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.length > 256 * 1024) throw new WharfError(INVALID_REQUEST, { status: 413, message: 'request body too large' });
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new WharfError(INVALID_REQUEST, { message: 'request body is not valid JSON' });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new WharfError(INVALID_REQUEST, { message: 'request body must be a JSON object' });
  return v as Record<string, unknown>;
}

export function stringField(body: Record<string, unknown>, key: string, opts: { required?: boolean; max?: number; pattern?: RegExp } = {}): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) {
    if (opts.required) throw new WharfError(INVALID_REQUEST, { message: `"${key}" is required` });
    return undefined;
  }
  if (typeof v !== 'string') throw new WharfError(INVALID_REQUEST, { message: `"${key}" must be a string` });
  if (v.length > (opts.max ?? 1024)) throw new WharfError(INVALID_REQUEST, { message: `"${key}" is too long` });
  if (opts.pattern && !opts.pattern.test(v)) throw new WharfError(INVALID_REQUEST, { message: `"${key}" is not valid`, detail: { pattern: String(opts.pattern) } });
  return v;
}

export function oneOf<T extends string>(body: Record<string, unknown>, key: string, allowed: readonly T[], required = true): T | undefined {
  const v = body[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new WharfError(INVALID_REQUEST, { message: `"${key}" must be one of ${allowed.join(', ')}` });
  }
  return v as T;
}

/** Who and from where, for the audit log. */
export function who(c: Ctx): { performer: { name: string; kind: string } | null; ip: string } {
  const p = c.get('principal');
  return { performer: p ? { name: p.name, kind: p.kind } : null, ip: c.get('ip') };
}
