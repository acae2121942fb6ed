import type { Queryable } from './pool.js';

export type AccountKind = 'user' | 'org' | 'robot';

export interface AccountRow {
  id: number;
  name: string;
  kind: AccountKind;
  email: string | null;
  superuser: boolean;
  enabled: boolean;
  ownerId: number | null;
  description: string;
  createdAt: Date;
}

const COLUMNS = `id, name, kind, email, superuser, enabled, owner_id AS "ownerId", description, created_at AS "createdAt"`;

/** A user or organization name: also a repository's first path segment, so it must be a valid path component. */
export const ACCOUNT_NAME_RE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
/** The short part of a robot's name, "<owner>+<short>". */
export const ROBOT_SHORT_RE = /^[a-z][a-z0-9_]{1,254}$/;

export function isAccountName(s: string): boolean {
  return s.length >= 2 && s.length <= 64 && ACCOUNT_NAME_RE.test(s);
}

export function robotName(owner: string, short: string): string {
  return `${owner}+${short}`;
}

export async function findAccount(db: Queryable, name: string): Promise<AccountRow | undefined> {
  const r = await db.query<AccountRow>({ name: 'find-account', text: `SELECT ${COLUMNS} FROM accounts WHERE name = $1`, values: [name] });
  return r.rows[0];
}

export async function findAccountById(db: Queryable, id: number): Promise<AccountRow | undefined> {
  const r = await db.query<AccountRow>({ name: 'find-account-id', text: `SELECT ${COLUMNS} FROM accounts WHERE id = $1`, values: [id] });
  return r.rows[0];
}

/** The stored password hash of an enabled user (organizations and robots have none). */
export async function findPasswordHash(db: Queryable, name: string): Promise<{ account: AccountRow; hash: string } | undefined> {
  const r = await db.query<AccountRow & { hash: string }>({
    name: 'find-password-hash',
    text: `SELECT ${COLUMNS}, password_hash AS hash FROM accounts WHERE name = $1 AND kind = 'user' AND password_hash IS NOT NULL`,
    values: [name],
  });
  const row = r.rows[0];
  if (!row) return undefined;
  const { hash, ...account } = row;
  return { account, hash };
}

export async function setPasswordHash(db: Queryable, id: number, hash: string): Promise<void> {
  await db.query('UPDATE accounts SET password_hash = $2 WHERE id = $1', [id, hash]);
}

/** Creates a user or organization; undefined when the name is taken (by any kind of account). */
export async function createAccount(
  db: Queryable,
  a: { name: string; kind: 'user' | 'org'; email?: string | null; passwordHash?: string | null; superuser?: boolean },
): Promise<AccountRow | undefined> {
  const r = await db.query<AccountRow>(
    `INSERT INTO accounts (name, kind, email, password_hash, superuser) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`,
    [a.name, a.kind, a.email ?? null, a.passwordHash ?? null, a.superuser ?? false],
  );
  return r.rows[0];
}

export async function updateAccount(db: Queryable, id: number, patch: { email?: string | null; enabled?: boolean; superuser?: boolean; description?: string }): Promise<void> {
  await db.query(
    `UPDATE accounts SET email = CASE WHEN $2 THEN $3 ELSE email END,
       enabled = COALESCE($4, enabled), superuser = COALESCE($5, superuser), description = COALESCE($6, description)
     WHERE id = $1`,
    [id, 'email' in patch, patch.email ?? null, patch.enabled ?? null, patch.superuser ?? null, patch.description ?? null],
  );
}

export async function deleteAccount(db: Queryable, id: number): Promise<boolean> {
  const r = await db.query('DELETE FROM accounts WHERE id = $1', [id]);
  return (r.rowCount ?? 0) > 0;
}

export async function listAccounts(db: Queryable, kind: AccountKind, opts: { ownerId?: number } = {}): Promise<AccountRow[]> {
  const r = await db.query<AccountRow>(
    `SELECT ${COLUMNS} FROM accounts WHERE kind = $1 AND ($2::bigint IS NULL OR owner_id = $2) ORDER BY name`,
    [kind, opts.ownerId ?? null],
  );
  return r.rows;
}

// ---------------------------------------------------------------------------------------------------------------
// Robots
// ---------------------------------------------------------------------------------------------------------------

export async function createRobot(
  db: Queryable, owner: AccountRow, short: string, token: { lookup: string; hash: string }, description = '',
): Promise<AccountRow | undefined> {
  const r = await db.query<AccountRow>(
    `INSERT INTO accounts (name, kind, owner_id, token_lookup, token_hash, description) VALUES ($1, 'robot', $2, $3, $4, $5)
     ON CONFLICT (name) DO NOTHING RETURNING ${COLUMNS}`,
    [robotName(owner.name, short), owner.id, token.lookup, token.hash, description],
  );
  return r.rows[0];
}

export async function setRobotToken(db: Queryable, id: number, token: { lookup: string; hash: string }): Promise<void> {
  await db.query(`UPDATE accounts SET token_lookup = $2, token_hash = $3 WHERE id = $1 AND kind = 'robot'`, [id, token.lookup, token.hash]);
}

/** The robot whose token has this lookup id, with the stored hash to compare against. */
export async function findRobotByLookup(db: Queryable, lookup: string): Promise<{ account: AccountRow; hash: string } | undefined> {
  const r = await db.query<AccountRow & { hash: string }>({
    name: 'find-robot-lookup',
    text: `SELECT ${COLUMNS}, token_hash AS hash FROM accounts WHERE token_lookup = $1 AND kind = 'robot'`,
    values: [lookup],
  });
  const row = r.rows[0];
  if (!row) return undefined;
  const { hash, ...account } = row;
  return { account, hash };
}

// ---------------------------------------------------------------------------------------------------------------
// Application tokens
// ---------------------------------------------------------------------------------------------------------------

export interface AppTokenRow {
  id: string;
  accountId: number;
  title: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
}
const TOKEN_COLUMNS = `id, account_id AS "accountId", title, created_at AS "createdAt", last_used_at AS "lastUsedAt", expires_at AS "expiresAt"`;

export async function createAppToken(
  db: Queryable, accountId: number, title: string, token: { lookup: string; hash: string }, expiresAt: Date | null = null,
): Promise<AppTokenRow> {
  const r = await db.query<AppTokenRow>(
    `INSERT INTO app_tokens (account_id, title, token_lookup, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING ${TOKEN_COLUMNS}`,
    [accountId, title, token.lookup, token.hash, expiresAt],
  );
  return r.rows[0]!;
}

export async function listAppTokens(db: Queryable, accountId: number): Promise<AppTokenRow[]> {
  const r = await db.query<AppTokenRow>(`SELECT ${TOKEN_COLUMNS} FROM app_tokens WHERE account_id = $1 ORDER BY created_at`, [accountId]);
  return r.rows;
}

export async function findAppToken(db: Queryable, accountId: number, id: string): Promise<AppTokenRow | undefined> {
  const r = await db.query<AppTokenRow>(
    `SELECT ${TOKEN_COLUMNS} FROM app_tokens WHERE account_id = $1 AND id::text = $2`, [accountId, id],
  );
  return r.rows[0];
}

export async function deleteAppToken(db: Queryable, accountId: number, id: string): Promise<boolean> {
  const r = await db.query('DELETE FROM app_tokens WHERE account_id = $1 AND id::text = $2', [accountId, id]);
  return (r.rowCount ?? 0) > 0;
}

/** An unexpired app token by lookup id, its owner and stored hash; marks it used. */
export async function findAppTokenByLookup(db: Queryable, lookup: string): Promise<{ token: AppTokenRow; account: AccountRow; hash: string } | undefined> {
  const r = await db.query<AppTokenRow & { hash: string; account: AccountRow }>({
    name: 'find-app-token-lookup',
    text: `UPDATE app_tokens t SET last_used_at = now()
           WHERE token_lookup = $1 AND (expires_at IS NULL OR expires_at > now())
           RETURNING t.id, t.account_id AS "accountId", t.title, t.created_at AS "createdAt", t.last_used_at AS "lastUsedAt",
             t.expires_at AS "expiresAt", t.token_hash AS hash,
             (SELECT row_to_json(a) FROM (SELECT ${COLUMNS} FROM accounts WHERE id = t.account_id) a) AS account`,
    values: [lookup],
  });
  const row = r.rows[0];
  if (!row) return undefined;
  const { hash, account, ...token } = row;
  return { token, account: { ...account, createdAt: new Date(account.createdAt) }, hash };
}
