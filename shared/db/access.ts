import type { Queryable } from './pool.js';

/** A repository role; each includes the ones before it. */
export type RepoRole = 'read' | 'write' | 'admin';
export type TeamRole = 'member' | 'creator' | 'admin';
export const REPO_ROLES: readonly RepoRole[] = ['read', 'write', 'admin'];
export const TEAM_ROLES: readonly TeamRole[] = ['member', 'creator', 'admin'];

export function maxRole(a: RepoRole | null, b: RepoRole | null): RepoRole | null {
  if (!a) return b;
  if (!b) return a;
  return REPO_ROLES.indexOf(a) >= REPO_ROLES.indexOf(b) ? a : b;
}

export function roleAtLeast(have: RepoRole | null, need: RepoRole): boolean {
  return have !== null && REPO_ROLES.indexOf(have) >= REPO_ROLES.indexOf(need);
}

/** Who is asking, as the permission queries need it. */
export interface Subject {
  id: number;
  kind: 'user' | 'robot';
  superuser: boolean;
}

/** What a subject (or anonymous, null) may do on a repository name, whether or not the repository exists yet. */
export interface RepoAccess {
  /** The repository row, when it exists. */
  repositoryId: number | null;
  visibility: 'public' | 'private' | null;
  /** The namespace (first path segment) is an existing user or organization. */
  namespaceKind: 'user' | 'org' | null;
  /** The effective role: the highest of ownership, organization admin, direct and team grants, public read. */
  role: RepoRole | null;
  /** May create a repository in this namespace (own namespace, org admin or creator team, superuser). */
  canCreate: boolean;
}

/**
 * One query answers everything the token endpoint and the API need to know about a subject and a repository.
 * Ownership: a user administers the repositories of its own namespace; an organization's admin teams administer all
 * of the organization's; creator and admin teams may create repositories there. Robots get only what is granted to
 * them or to their teams; they never own a namespace. Disabled accounts and organizations get nothing but public read.
 */
export async function repoAccess(db: Queryable, subject: Subject | null, repository: string): Promise<RepoAccess> {
  const namespace = repository.split('/', 1)[0]!;
  const r = await db.query<{
    repo_id: number | null; visibility: 'public' | 'private' | null; ns_id: number | null; ns_kind: 'user' | 'org' | 'robot' | null;
    enabled: boolean | null; granted: number | null; team_role: number | null;
  }>({
    name: 'repo-access',
    text: `WITH s AS (SELECT id, enabled FROM accounts WHERE id = $3),
               teams_of AS (SELECT tm.team_id, t.org_id, t.role FROM team_members tm JOIN teams t ON t.id = tm.team_id
                            WHERE tm.account_id = $3 AND EXISTS (SELECT 1 FROM s WHERE s.enabled))
          SELECT r.id AS repo_id, r.visibility, ns.id AS ns_id, ns.kind AS ns_kind, (SELECT enabled FROM s) AS enabled,
            (SELECT max(CASE p.role WHEN 'read' THEN 1 WHEN 'write' THEN 2 ELSE 3 END) FROM repository_permissions p
              WHERE p.repository_id = r.id AND EXISTS (SELECT 1 FROM s WHERE s.enabled)
                AND (p.account_id = $3 OR p.team_id IN (SELECT team_id FROM teams_of))) AS granted,
            (SELECT max(CASE t.role WHEN 'member' THEN 1 WHEN 'creator' THEN 2 ELSE 3 END) FROM teams_of t
              WHERE t.org_id = ns.id) AS team_role
          FROM (SELECT 1) one
          LEFT JOIN accounts ns ON ns.name = $2 AND ns.kind IN ('user', 'org')
          LEFT JOIN repositories r ON r.name = $1`,
    values: [repository, namespace, subject?.id ?? null],
  });
  const row = r.rows[0]!;
  const namespaceKind = row.ns_kind === 'user' || row.ns_kind === 'org' ? row.ns_kind : null;
  const out: RepoAccess = { repositoryId: row.repo_id, visibility: row.visibility, namespaceKind, role: null, canCreate: false };
  if (row.visibility === 'public') out.role = 'read';
  if (!subject || !row.enabled) return out;
  if (subject.superuser && subject.kind === 'user') {
    return { ...out, role: 'admin', canCreate: namespaceKind !== null };
  }
  const ownsNamespace = subject.kind === 'user' && row.ns_id === subject.id;
  const teamRole = row.team_role ?? 0;
  if (ownsNamespace || teamRole === 3) out.role = 'admin';
  out.canCreate = ownsNamespace || (namespaceKind === 'org' && teamRole >= 2);
  const granted = row.granted === 1 ? 'read' : row.granted === 2 ? 'write' : row.granted === 3 ? 'admin' : null;
  out.role = maxRole(out.role, granted);
  return out;
}

/** The subject's role in an organization: admin (or superuser) administers it; creator may create; member sees it. */
export async function orgRole(db: Queryable, subject: Subject | null, orgId: number): Promise<TeamRole | null> {
  if (!subject) return null;
  if (subject.superuser && subject.kind === 'user') return 'admin';
  const r = await db.query<{ role: number | null }>({
    name: 'org-role',
    text: `SELECT max(CASE t.role WHEN 'member' THEN 1 WHEN 'creator' THEN 2 ELSE 3 END) AS role
           FROM team_members tm JOIN teams t ON t.id = tm.team_id JOIN accounts a ON a.id = tm.account_id
           WHERE tm.account_id = $1 AND t.org_id = $2 AND a.enabled`,
    values: [subject.id, orgId],
  });
  const n = r.rows[0]?.role ?? 0;
  return n === 3 ? 'admin' : n === 2 ? 'creator' : n === 1 ? 'member' : null;
}

/** Of the given repository names, those the subject may read (public, owned, administered or granted). */
export async function readableRepositories(db: Queryable, subject: Subject | null, names: readonly string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  if (subject?.superuser && subject.kind === 'user') return new Set(names);
  const r = await db.query<{ name: string }>({
    name: 'readable-repositories',
    text: `WITH s AS (SELECT id FROM accounts WHERE id = $2 AND enabled),
               teams_of AS (SELECT tm.team_id, t.org_id, t.role FROM team_members tm JOIN teams t ON t.id = tm.team_id
                            WHERE tm.account_id IN (SELECT id FROM s))
          SELECT r.name FROM repositories r
          WHERE r.name = ANY($1::text[]) AND (
            r.visibility = 'public'
            OR ($3 AND EXISTS (SELECT 1 FROM accounts ns WHERE ns.name = r.namespace AND ns.id IN (SELECT id FROM s)))
            OR EXISTS (SELECT 1 FROM teams_of t JOIN accounts ns ON ns.id = t.org_id WHERE ns.name = r.namespace AND t.role = 'admin')
            OR EXISTS (SELECT 1 FROM repository_permissions p WHERE p.repository_id = r.id
                       AND (p.account_id IN (SELECT id FROM s) OR p.team_id IN (SELECT team_id FROM teams_of))))`,
    values: [names, subject?.id ?? null, subject?.kind === 'user'],
  });
  return new Set(r.rows.map((x) => x.name));
}
