import { hashPassword, createSecretToken } from '../../shared/auth/index.js';
import type { Queryable } from '../../shared/db/pool.js';
import * as accounts from '../../shared/db/accounts.js';
import type { Creds } from './registry-auth.js';

/**
 * Fixtures written straight into the tenancy tables, for tests that exercise /v2 and the token endpoint without
 * depending on the REST API that manages them (its own tests cover it).
 */
export async function createUser(db: Queryable, name: string, opts: { superuser?: boolean } = {}): Promise<Creds & { id: number }> {
  const password = `${name}-Pa55word!`;
  const a = await accounts.createAccount(db, { name, kind: 'user', passwordHash: await hashPassword(password), superuser: opts.superuser ?? false });
  if (!a) throw new Error(`user ${name} exists`);
  return { username: name, password, id: a.id };
}

export async function createOrg(db: Queryable, name: string): Promise<number> {
  const a = await accounts.createAccount(db, { name, kind: 'org' });
  if (!a) throw new Error(`org ${name} exists`);
  return a.id;
}

export async function createTeam(db: Queryable, orgId: number, name: string, role: 'member' | 'creator' | 'admin', members: number[]): Promise<number> {
  const r = await db.query<{ id: number }>('INSERT INTO teams (org_id, name, role) VALUES ($1, $2, $3) RETURNING id', [orgId, name, role]);
  const id = r.rows[0]!.id;
  for (const m of members) await db.query('INSERT INTO team_members (team_id, account_id) VALUES ($1, $2)', [id, m]);
  return id;
}

export async function createRobot(db: Queryable, owner: string, short: string): Promise<Creds & { id: number }> {
  const o = await accounts.findAccount(db, owner);
  if (!o) throw new Error(`no owner ${owner}`);
  const t = createSecretToken('robot');
  const a = await accounts.createRobot(db, o, short, t);
  if (!a) throw new Error(`robot ${short} exists`);
  return { username: a.name, password: t.token, id: a.id };
}

export async function grant(db: Queryable, repository: string, to: { account?: number; team?: number }, role: 'read' | 'write' | 'admin'): Promise<void> {
  await db.query(
    `INSERT INTO repository_permissions (repository_id, account_id, team_id, role)
     SELECT id, $2, $3, $4 FROM repositories WHERE name = $1`,
    [repository, to.account ?? null, to.team ?? null, role],
  );
}

export async function setVisibility(db: Queryable, repository: string, visibility: 'public' | 'private'): Promise<void> {
  await db.query('UPDATE repositories SET visibility = $2 WHERE name = $1', [repository, visibility]);
}
