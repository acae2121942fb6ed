import type { Context } from 'hono';
import type { AppEnv, Deps } from '../../deps.js';
import type { Queryable } from '../../../../../shared/db/pool.js';
import { WharfError } from '../../../../../shared/errors/errcode.js';
import { DENIED, INVALID_REQUEST, NAME_INVALID } from '../../../../../shared/errors/codes.js';
import type { Principal } from '../../auth/principal.js';
import { requireUser, who } from './guard.js';

type Ctx = Context<AppEnv>;

/**
 * Helpers shared by the tenancy modules (user, organizations, robots, repositories, superuser): the caller as a real
 * user account, name checks that answer NAME_INVALID, and the audit write every change makes.
 */

/** The caller as a user with an account behind it: robots are refused (403), the open node's anonymous admin too (400). */
export function requireAccountUser(c: Ctx, deps: Deps): Principal {
  const p = requireUser(c, deps);
  if (p.id === 0) throw new WharfError(INVALID_REQUEST, { message: 'this node runs without accounts (auth mode open): there is no user to act as' });
  if (p.kind !== 'user') throw new WharfError(DENIED, { message: 'robot accounts cannot do this' });
  return p;
}

export function checkName(kind: string, name: string, valid: (s: string) => boolean): string {
  if (!valid(name)) throw new WharfError(NAME_INVALID, { message: `invalid ${kind} name`, detail: { [kind]: name.slice(0, 300) } });
  return name;
}

/** The request body's field as a name, required and valid. */
export function nameField(body: Record<string, unknown>, key: string, kind: string, valid: (s: string) => boolean): string {
  const v = body[key];
  if (typeof v !== 'string') throw new WharfError(INVALID_REQUEST, { message: `"${key}" is required and must be a string` });
  return checkName(kind, v, valid);
}

export function boolField(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new WharfError(INVALID_REQUEST, { message: `"${key}" must be true or false` });
  return v;
}

/** An object-valued field ({kind, name} of a prototype's delegate). */
export function objectField(body: Record<string, unknown>, key: string, required: boolean): Record<string, unknown> | undefined {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required) throw new WharfError(INVALID_REQUEST, { message: `"${key}" is required` });
    return undefined;
  }
  if (typeof v !== 'object' || Array.isArray(v)) throw new WharfError(INVALID_REQUEST, { message: `"${key}" must be an object` });
  return v as Record<string, unknown>;
}

export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 1024;

export function passwordField(body: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required) throw new WharfError(INVALID_REQUEST, { message: `"${key}" is required` });
    return undefined;
  }
  if (typeof v !== 'string' || v.length < MIN_PASSWORD || v.length > MAX_PASSWORD) {
    throw new WharfError(INVALID_REQUEST, { message: `"${key}" must be a string of ${MIN_PASSWORD} to ${MAX_PASSWORD} characters` });
  }
  return v;
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;

export function emailField(body: Record<string, unknown>, key: string, required: boolean): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required) throw new WharfError(INVALID_REQUEST, { message: `"${key}" is required` });
    return undefined;
  }
  if (typeof v !== 'string' || v.length > 254 || !EMAIL_RE.test(v)) throw new WharfError(INVALID_REQUEST, { message: `"${key}" must be an e-mail address` });
  return v;
}

/** Writes an audit record for a change made through the API (inside the change's transaction when `db` is one). */
export async function audit(
  deps: Deps, c: Ctx, kind: string,
  on: { namespace?: string | null; repository?: string | null; metadata?: Record<string, unknown> }, db?: Queryable,
): Promise<void> {
  await deps.audit.record({ kind, ...who(c), namespace: on.namespace ?? null, repository: on.repository ?? null, metadata: on.metadata ?? {} }, db);
}

export const iso = (d: Date | string | null | undefined): string | null => (d ? new Date(d).toISOString() : null);

/** A UUID as text, so malformed ids are a 404 rather than a cast error. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
