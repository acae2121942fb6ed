import { WharfError } from '../../../../shared/errors/errcode.js';
import { TOOMANYREQUESTS, UNAUTHORIZED } from '../../../../shared/errors/codes.js';
import { parseSecretToken, verifyPassword, verifySecretToken, hashPassword, needsRehash } from '../../../../shared/auth/index.js';
import * as accounts from '../../../../shared/db/accounts.js';
import type { Deps } from '../deps.js';
import { principalOf, type Principal } from './principal.js';
import { lockedFor, recordFailure, recordSuccess } from './throttle.js';

export type Credentials = { scheme: 'basic'; username: string; secret: string } | { scheme: 'bearer'; token: string };

/** Parses an Authorization header; undefined when absent, UNAUTHORIZED when present but malformed. */
export function parseAuthorization(header: string | undefined): Credentials | undefined {
  if (!header) return undefined;
  const m = /^(\S+)\s+(\S+)\s*$/.exec(header);
  if (!m) throw new WharfError(UNAUTHORIZED, { message: 'malformed Authorization header' });
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'bearer') return { scheme: 'bearer', token: m[2]! };
  if (scheme !== 'basic') throw new WharfError(UNAUTHORIZED, { message: `unsupported authorization scheme ${m[1]!.slice(0, 20)}` });
  const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new WharfError(UNAUTHORIZED, { message: 'malformed Basic credentials' });
  return { scheme: 'basic', username: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

// Usernames Quay clients send with an application token in place of a password.
const APP_TOKEN_USERNAMES = new Set(['$app', '$token', '$oauthtoken']);
// Compared against when the user does not exist, so an unknown name costs as much as a wrong password.
let dummyHash: Promise<string> | undefined;

/**
 * Checks Basic credentials: a user's password, a robot's token ("<owner>+<short>" as username) or a user's app
 * token (the username is the user's name or "$app"). Throttled per account and client address; every failure is
 * the same UNAUTHORIZED so the answer never tells which part was wrong.
 */
export async function authenticateBasic(deps: Deps, username: string, secret: string, ip: string): Promise<Principal> {
  const keys = { account: APP_TOKEN_USERNAMES.has(username) ? undefined : username, address: ip };
  const wait = await lockedFor(deps.db, keys);
  if (wait > 0) {
    throw new WharfError(TOOMANYREQUESTS, {
      message: 'too many failed logins; try again later', headers: { 'Retry-After': String(wait) }, detail: { retryAfterSeconds: wait },
    });
  }
  const principal = await check(deps, username, secret);
  if (!principal) {
    await recordFailure(deps.db, keys, deps.config.auth);
    throw new WharfError(UNAUTHORIZED, { message: 'invalid username or password' });
  }
  if (keys.account) await recordSuccess(deps.db, keys.account);
  return principal;
}

async function check(deps: Deps, username: string, secret: string): Promise<Principal | undefined> {
  if (username.length > 300 || secret.length > 1024) return undefined;
  const token = parseSecretToken(secret);
  if (token?.kind === 'robot') {
    const found = await accounts.findRobotByLookup(deps.db, token.lookup);
    if (!found || !verifySecretToken(secret, found.hash) || found.account.name !== username || !found.account.enabled) return undefined;
    if (!(await ownerEnabled(deps, found.account.ownerId))) return undefined;
    return principalOf(found.account, 'robot-token');
  }
  if (token?.kind === 'app') return appToken(deps, secret, username);
  const found = await accounts.findPasswordHash(deps.db, username);
  if (!found) {
    dummyHash ??= hashPassword('wharf-timing-equaliser');
    await verifyPassword(secret, await dummyHash);
    return undefined;
  }
  if (!(await verifyPassword(secret, found.hash)) || !found.account.enabled) return undefined;
  if (needsRehash(found.hash)) await accounts.setPasswordHash(deps.db, found.account.id, await hashPassword(secret));
  return principalOf(found.account, 'password');
}

/** A bearer app token on the REST API, or one given as a Basic password. */
export async function appToken(deps: Deps, secret: string, username?: string): Promise<Principal | undefined> {
  const token = parseSecretToken(secret);
  if (token?.kind !== 'app') return undefined;
  const found = await accounts.findAppTokenByLookup(deps.db, token.lookup);
  if (!found || !verifySecretToken(secret, found.hash) || !found.account.enabled) return undefined;
  if (username !== undefined && !APP_TOKEN_USERNAMES.has(username) && username !== found.account.name) return undefined;
  return principalOf(found.account, 'app-token');
}

async function ownerEnabled(deps: Deps, ownerId: number | null): Promise<boolean> {
  if (ownerId === null) return false;
  return (await accounts.findAccountById(deps.db, ownerId))?.enabled ?? false;
}
