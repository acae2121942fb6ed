import type { Queryable } from './pool.js';
import type { AccountKind } from './accounts.js';
import type { TeamRole } from './access.js';

/** A team of an organization: its role applies organization-wide (see access.ts). */
export interface TeamRow {
  id: number;
  orgId: number;
  name: string;
  role: TeamRole;
  description: string;
  createdAt: Date;
}

const COLUMNS = `id, org_id AS "orgId", name, role, description, created_at AS "createdAt"`;

/** A team name (Quay's rule, lowercased): a letter, then letters, digits, '_' or '-'. */
export const TEAM_NAME_RE = /^[a-z][a-z0-9_-]{1,63}$/;
/** The team Quay creates with every organization; its creator is its first member. */
export const OWNERS_TEAM = 'owners';

export async function findTeam(db: Queryable, orgId: number, name: string): Promise<TeamRow | undefined> {
  const r = await db.query<TeamRow>(`SELECT ${COLUMNS} FROM teams WHERE org_id = $1 AND name = $2`, [orgId, name]);
  return r.rows[0];
}

export async function listTeams(db: Queryable, orgId: number): Promise<(TeamRow & { memberCount: number })[]> {
  const r = await db.query<TeamRow & { memberCount: number }>(
    `SELECT ${COLUMNS}, (SELECT count(*)::int FROM team_members m WHERE m.team_id = teams.id) AS "memberCount"
     FROM teams WHERE org_id = $1 ORDER BY name`,
    [orgId],
  );
  return r.rows;
}

/** Creates the team or updates its role and description; `created` says which. */
export async function upsertTeam(
  db: Queryable, orgId: number, name: string, role: TeamRole, description: string | undefined,
): Promise<{ team: TeamRow; created: boolean; previousRole: TeamRole | null }> {
  const before = await db.query<{ role: TeamRole }>('SELECT role FROM teams WHERE org_id = $1 AND name = $2 FOR UPDATE', [orgId, name]);
  const r = await db.query<TeamRow>(
    `INSERT INTO teams (org_id, name, role, description) VALUES ($1, $2, $3, COALESCE($4, ''))
     ON CONFLICT (org_id, name) DO UPDATE SET role = EXCLUDED.role, description = COALESCE($4, teams.description)
     RETURNING ${COLUMNS}`,
    [orgId, name, role, description ?? null],
  );
  const prev = before.rows[0]?.role ?? null;
  return { team: r.rows[0]!, created: prev === null, previousRole: prev };
}

export async function deleteTeam(db: Queryable, teamId: number): Promise<boolean> {
  const r = await db.query('DELETE FROM teams WHERE id = $1', [teamId]);
  return (r.rowCount ?? 0) > 0;
}

export interface MemberRow {
  id: number;
  name: string;
  kind: AccountKind;
  enabled: boolean;
}

export async function listTeamMembers(db: Queryable, teamId: number): Promise<MemberRow[]> {
  const r = await db.query<MemberRow>(
    `SELECT a.id, a.name, a.kind, a.enabled FROM team_members m JOIN accounts a ON a.id = m.account_id
     WHERE m.team_id = $1 ORDER BY a.name`,
    [teamId],
  );
  return r.rows;
}

/** Adds an account to a team; false when it already was a member. */
export async function addTeamMember(db: Queryable, teamId: number, accountId: number): Promise<boolean> {
  const r = await db.query('INSERT INTO team_members (team_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [teamId, accountId]);
  return (r.rowCount ?? 0) > 0;
}

export async function removeTeamMember(db: Queryable, teamId: number, accountId: number): Promise<boolean> {
  const r = await db.query('DELETE FROM team_members WHERE team_id = $1 AND account_id = $2', [teamId, accountId]);
  return (r.rowCount ?? 0) > 0;
}

/** Every member of any team of the organization, with the teams they are in. */
export async function listOrgMembers(db: Queryable, orgId: number): Promise<(MemberRow & { teams: { name: string; role: TeamRole }[] })[]> {
  const r = await db.query<MemberRow & { teams: { name: string; role: TeamRole }[] }>(
    `SELECT a.id, a.name, a.kind, a.enabled,
       json_agg(json_build_object('name', t.name, 'role', t.role) ORDER BY t.name) AS teams
     FROM teams t JOIN team_members m ON m.team_id = t.id JOIN accounts a ON a.id = m.account_id
     WHERE t.org_id = $1 GROUP BY a.id ORDER BY a.name`,
    [orgId],
  );
  return r.rows;
}

/** The organizations an account is a member of (through any team), and whether it administers each. */
export async function organizationsOf(db: Queryable, accountId: number): Promise<{ name: string; isAdmin: boolean }[]> {
  const r = await db.query<{ name: string; isAdmin: boolean }>(
    `SELECT o.name, bool_or(t.role = 'admin') AS "isAdmin"
     FROM team_members m JOIN teams t ON t.id = m.team_id JOIN accounts o ON o.id = t.org_id
     WHERE m.account_id = $1 GROUP BY o.name ORDER BY o.name`,
    [accountId],
  );
  return r.rows;
}

/**
 * Serialises changes to an organization's teams (take it first inside the transaction), so two concurrent removals
 * cannot each see the other admin and together leave the organization without one.
 */
export async function lockOrg(db: Queryable, orgId: number): Promise<void> {
  await db.query(`SELECT 1 FROM accounts WHERE id = $1 AND kind = 'org' FOR UPDATE`, [orgId]);
}

/** How many enabled users are members of an admin team of the organization. */
export async function countOrgAdmins(db: Queryable, orgId: number): Promise<number> {
  const r = await db.query<{ n: number }>(
    `SELECT count(DISTINCT a.id)::int AS n FROM teams t JOIN team_members m ON m.team_id = t.id JOIN accounts a ON a.id = m.account_id
     WHERE t.org_id = $1 AND t.role = 'admin' AND a.kind = 'user' AND a.enabled`,
    [orgId],
  );
  return r.rows[0]?.n ?? 0;
}
