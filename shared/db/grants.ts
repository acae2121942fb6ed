import type { Queryable } from './pool.js';
import type { RepoRole, Subject } from './access.js';

// ---------------------------------------------------------------------------------------------------------------
// Repository permissions: grants on one repository to a user, a robot or a team.
// ---------------------------------------------------------------------------------------------------------------

export interface AccountGrant {
  name: string;
  kind: 'user' | 'robot';
  role: RepoRole;
}

export interface TeamGrant {
  name: string;
  role: RepoRole;
}

export async function listAccountGrants(db: Queryable, repositoryId: number): Promise<AccountGrant[]> {
  const r = await db.query<AccountGrant>(
    `SELECT a.name, a.kind, p.role FROM repository_permissions p JOIN accounts a ON a.id = p.account_id
     WHERE p.repository_id = $1 ORDER BY a.name`,
    [repositoryId],
  );
  return r.rows;
}

export async function listTeamGrants(db: Queryable, repositoryId: number): Promise<TeamGrant[]> {
  const r = await db.query<TeamGrant>(
    `SELECT t.name, p.role FROM repository_permissions p JOIN teams t ON t.id = p.team_id
     WHERE p.repository_id = $1 ORDER BY t.name`,
    [repositoryId],
  );
  return r.rows;
}

export async function findAccountGrant(db: Queryable, repositoryId: number, accountId: number): Promise<RepoRole | undefined> {
  const r = await db.query<{ role: RepoRole }>('SELECT role FROM repository_permissions WHERE repository_id = $1 AND account_id = $2', [repositoryId, accountId]);
  return r.rows[0]?.role;
}

export async function findTeamGrant(db: Queryable, repositoryId: number, teamId: number): Promise<RepoRole | undefined> {
  const r = await db.query<{ role: RepoRole }>('SELECT role FROM repository_permissions WHERE repository_id = $1 AND team_id = $2', [repositoryId, teamId]);
  return r.rows[0]?.role;
}

/** Sets (creates or replaces) an account's role on a repository; returns the role it had before. */
export async function setAccountGrant(db: Queryable, repositoryId: number, accountId: number, role: RepoRole): Promise<RepoRole | undefined> {
  const before = await findAccountGrant(db, repositoryId, accountId);
  await db.query(
    `INSERT INTO repository_permissions (repository_id, account_id, role) VALUES ($1, $2, $3)
     ON CONFLICT (repository_id, account_id) WHERE account_id IS NOT NULL DO UPDATE SET role = EXCLUDED.role`,
    [repositoryId, accountId, role],
  );
  return before;
}

export async function setTeamGrant(db: Queryable, repositoryId: number, teamId: number, role: RepoRole): Promise<RepoRole | undefined> {
  const before = await findTeamGrant(db, repositoryId, teamId);
  await db.query(
    `INSERT INTO repository_permissions (repository_id, team_id, role) VALUES ($1, $2, $3)
     ON CONFLICT (repository_id, team_id) WHERE team_id IS NOT NULL DO UPDATE SET role = EXCLUDED.role`,
    [repositoryId, teamId, role],
  );
  return before;
}

export async function deleteAccountGrant(db: Queryable, repositoryId: number, accountId: number): Promise<boolean> {
  const r = await db.query('DELETE FROM repository_permissions WHERE repository_id = $1 AND account_id = $2', [repositoryId, accountId]);
  return (r.rowCount ?? 0) > 0;
}

export async function deleteTeamGrant(db: Queryable, repositoryId: number, teamId: number): Promise<boolean> {
  const r = await db.query('DELETE FROM repository_permissions WHERE repository_id = $1 AND team_id = $2', [repositoryId, teamId]);
  return (r.rowCount ?? 0) > 0;
}

/** The repositories an account (a robot, typically) is granted directly, with the role. */
export async function grantsOfAccount(db: Queryable, accountId: number): Promise<{ repository: string; role: RepoRole }[]> {
  const r = await db.query<{ repository: string; role: RepoRole }>(
    `SELECT r.name AS repository, p.role FROM repository_permissions p JOIN repositories r ON r.id = p.repository_id
     WHERE p.account_id = $1 ORDER BY r.name`,
    [accountId],
  );
  return r.rows;
}

// ---------------------------------------------------------------------------------------------------------------
// Default permissions (Quay's prototypes): applied to every repository created in an organization.
// ---------------------------------------------------------------------------------------------------------------

export interface DefaultPermissionRow {
  id: string;
  role: RepoRole;
  delegate: { kind: 'user' | 'team'; name: string; isRobot: boolean };
  activatingUser: { name: string } | null;
  createdAt: Date;
}

const PROTOTYPE_SELECT = `SELECT d.id::text AS id, d.role, d.created_at AS "createdAt",
    CASE WHEN d.team_id IS NOT NULL THEN json_build_object('kind', 'team', 'name', t.name, 'isRobot', false)
         ELSE json_build_object('kind', 'user', 'name', a.name, 'isRobot', a.kind = 'robot') END AS delegate,
    CASE WHEN d.activating_account_id IS NULL THEN NULL ELSE json_build_object('name', act.name) END AS "activatingUser"
  FROM default_permissions d
  LEFT JOIN teams t ON t.id = d.team_id
  LEFT JOIN accounts a ON a.id = d.account_id
  LEFT JOIN accounts act ON act.id = d.activating_account_id`;

export async function listDefaultPermissions(db: Queryable, orgId: number): Promise<DefaultPermissionRow[]> {
  const r = await db.query<DefaultPermissionRow>(`${PROTOTYPE_SELECT} WHERE d.org_id = $1 ORDER BY d.created_at, d.id`, [orgId]);
  return r.rows;
}

export async function findDefaultPermission(db: Queryable, orgId: number, id: string): Promise<DefaultPermissionRow | undefined> {
  const r = await db.query<DefaultPermissionRow>(`${PROTOTYPE_SELECT} WHERE d.org_id = $1 AND d.id::text = $2`, [orgId, id]);
  return r.rows[0];
}

export async function createDefaultPermission(
  db: Queryable, orgId: number,
  p: { role: RepoRole; accountId?: number; teamId?: number; activatingAccountId?: number | null },
): Promise<DefaultPermissionRow> {
  const r = await db.query<{ id: string }>(
    `INSERT INTO default_permissions (org_id, activating_account_id, account_id, team_id, role) VALUES ($1, $2, $3, $4, $5) RETURNING id::text`,
    [orgId, p.activatingAccountId ?? null, p.accountId ?? null, p.teamId ?? null, p.role],
  );
  return (await findDefaultPermission(db, orgId, r.rows[0]!.id))!;
}

export async function deleteDefaultPermission(db: Queryable, orgId: number, id: string): Promise<boolean> {
  const r = await db.query('DELETE FROM default_permissions WHERE org_id = $1 AND id::text = $2', [orgId, id]);
  return (r.rowCount ?? 0) > 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Listing what a subject may see
// ---------------------------------------------------------------------------------------------------------------

export interface VisibleRepository {
  id: number;
  name: string;
  namespace: string;
  visibility: 'public' | 'private';
  description: string;
}

/**
 * The repositories a subject (or anonymous, null) may read, in byte order after `last`: public ones, those of its
 * own namespace, of organizations it administers, and those granted to it or its teams (the same rules as
 * access.ts's readableRepositories, as one paged query).
 */
export async function listVisibleRepositories(
  db: Queryable, subject: Subject | null, opts: { namespace?: string; publicOnly?: boolean; last?: string; limit: number },
): Promise<VisibleRepository[]> {
  const r = await db.query<VisibleRepository>(
    `WITH s AS (SELECT id FROM accounts WHERE id = $1 AND enabled),
          teams_of AS (SELECT tm.team_id, t.org_id, t.role FROM team_members tm JOIN teams t ON t.id = tm.team_id
                       WHERE tm.account_id IN (SELECT id FROM s))
     SELECT r.id, r.name, r.namespace, r.visibility, r.description FROM repositories r
     WHERE ($4::text IS NULL OR r.namespace = $4)
       AND ($5::text IS NULL OR r.name COLLATE "C" > $5)
       AND (r.visibility = 'public' OR (NOT $6 AND (
         ($2 AND EXISTS (SELECT 1 FROM s))
         OR ($3 AND EXISTS (SELECT 1 FROM accounts ns WHERE ns.name = r.namespace AND ns.id IN (SELECT id FROM s)))
         OR EXISTS (SELECT 1 FROM teams_of t JOIN accounts ns ON ns.id = t.org_id WHERE ns.name = r.namespace AND t.role = 'admin')
         OR EXISTS (SELECT 1 FROM repository_permissions p WHERE p.repository_id = r.id
                    AND (p.account_id IN (SELECT id FROM s) OR p.team_id IN (SELECT team_id FROM teams_of))))))
     ORDER BY r.name COLLATE "C" LIMIT $7`,
    [subject?.id ?? null, subject?.superuser === true && subject.kind === 'user', subject?.kind === 'user',
      opts.namespace ?? null, opts.last ?? null, opts.publicOnly ?? false, opts.limit],
  );
  return r.rows;
}
