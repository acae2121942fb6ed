import { randomUUID } from 'node:crypto';
import type { Context } from 'hono';
import type { AppEnv, Deps } from '../deps.js';
import { withTx, type Queryable } from '../../../../shared/db/pool.js';
import { ensureRepository, findRepository, type RepositoryRow } from '../../../../shared/db/repositories.js';
import { performerOf, type Principal } from '../auth/principal.js';

/** Who did something and from where: what the audit log and notifications record. */
export interface Who {
  principal: Principal | null;
  ip: string;
  requestId?: string;
}

export function whoOf(c: Context<AppEnv>): Who {
  return { principal: c.get('principal'), ip: c.get('ip'), requestId: c.get('requestId') };
}

const entry = (who: Who, kind: string, repository: string | null, metadata: Record<string, unknown>) => ({
  kind, performer: performerOf(who.principal), repository, ip: who.ip, metadata,
});

/**
 * A repository was just created (by a push or through the API). Quay's rules: the creator gets admin on it unless it
 * is the creator's own namespace (already theirs); an organization's default permissions are applied, those tied to
 * the creating account and the unconditional ones.
 */
export async function repositoryCreated(deps: Deps, db: Queryable, repo: RepositoryRow, who: Who, how: 'push' | 'api'): Promise<void> {
  const namespace = repo.name.split('/', 1)[0]!;
  const p = who.principal;
  if (p && p.id > 0 && !(p.kind === 'user' && p.name === namespace)) {
    await db.query(
      `INSERT INTO repository_permissions (repository_id, account_id, role) VALUES ($1, $2, 'admin') ON CONFLICT DO NOTHING`,
      [repo.id, p.id],
    );
  }
  await db.query(
    `INSERT INTO repository_permissions (repository_id, account_id, team_id, role)
     SELECT DISTINCT ON (d.account_id, d.team_id) $1::bigint, d.account_id, d.team_id, d.role
     FROM default_permissions d JOIN accounts o ON o.id = d.org_id
     WHERE o.name = $2 AND (d.activating_account_id IS NULL OR d.activating_account_id = $3)
     ORDER BY d.account_id, d.team_id, CASE d.role WHEN 'admin' THEN 3 WHEN 'write' THEN 2 ELSE 1 END DESC
     ON CONFLICT DO NOTHING`,
    [repo.id, namespace, p?.id ?? null],
  );
  await deps.audit.record(entry(who, 'create_repo', repo.name, { via: how }), db);
}

/** The repository a push writes to, created (private unless auth.createPrivateOnPush is off) on first push. */
export async function repositoryForPush(deps: Deps, name: string, who: Who): Promise<RepositoryRow> {
  const found = await findRepository(deps.db, name);
  if (found) return found;
  return withTx(deps.db, async (tx) => {
    const repo = await ensureRepository(tx, name, deps.config.auth.createPrivateOnPush ? 'private' : 'public');
    if (repo.created) await repositoryCreated(deps, tx, repo, who, 'push');
    return { id: repo.id, name: repo.name };
  });
}

export async function manifestPushed(deps: Deps, who: Who, repository: string, digest: string, tag: string | undefined): Promise<void> {
  const data = { digest, ...(tag ? { tag } : {}), pushedBy: who.principal?.name ?? null };
  await deps.audit.record(entry(who, 'push_repo', repository, data));
  await deps.notifier.enqueue(deps.db, { event: 'repo_push', repository, eventId: randomUUID(), data: { ...data, tags: tag ? [tag] : [] } });
}

export function manifestPulled(deps: Deps, who: Who, repository: string, reference: string): void {
  if (deps.config.audit.recordPulls) deps.audit.recordLater(entry(who, 'pull_repo', repository, { reference }));
}

export async function tagDeleted(deps: Deps, db: Queryable, who: Who, repository: string, tag: string, digest: string): Promise<void> {
  await deps.audit.record(entry(who, 'delete_tag', repository, { tag, digest }), db);
  await deps.notifier.enqueue(db, { event: 'tag_deleted', repository, eventId: randomUUID(), data: { tag, digest, deletedBy: who.principal?.name ?? null } });
}

export async function manifestDeleted(deps: Deps, who: Who, repository: string, digest: string, tags: readonly string[]): Promise<void> {
  await deps.audit.record(entry(who, 'delete_manifest', repository, { digest, tags }));
  for (const tag of tags) await deps.notifier.enqueue(deps.db, { event: 'tag_deleted', repository, eventId: randomUUID(), data: { tag, digest, deletedBy: who.principal?.name ?? null } });
}

export async function blobDeleted(deps: Deps, who: Who, repository: string, digest: string): Promise<void> {
  await deps.audit.record(entry(who, 'delete_blob', repository, { digest }));
}
