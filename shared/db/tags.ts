import type { Queryable } from './pool.js';

export async function resolveTag(db: Queryable, repositoryId: number, tag: string): Promise<string | undefined> {
  const r = await db.query<{ digest: string }>(
    'SELECT manifest_digest AS digest FROM tags WHERE repository_id = $1 AND name = $2',
    [repositoryId, tag],
  );
  return r.rows[0]?.digest;
}

/** Points the tag at the manifest and records the movement in tag_history (no row when nothing changed). */
export async function setTag(db: Queryable, repositoryId: number, tag: string, digest: string): Promise<void> {
  const r = await db.query<{ previous: string | null }>(
    `WITH prev AS (SELECT manifest_digest FROM tags WHERE repository_id = $1 AND name = $2 FOR UPDATE),
     up AS (
       INSERT INTO tags (repository_id, name, manifest_digest) VALUES ($1, $2, $3)
       ON CONFLICT (repository_id, name) DO UPDATE SET manifest_digest = EXCLUDED.manifest_digest, updated_at = now()
       WHERE tags.manifest_digest <> EXCLUDED.manifest_digest
       RETURNING 1)
     SELECT (SELECT manifest_digest FROM prev) AS previous, EXISTS (SELECT 1 FROM up) AS changed`,
    [repositoryId, tag, digest],
  );
  const row = r.rows[0] as { previous: string | null; changed: boolean } | undefined;
  if (!row?.changed) return;
  await db.query(
    `INSERT INTO tag_history (repository_id, tag, manifest_digest, previous_digest, action) VALUES ($1, $2, $3, $4, $5)`,
    [repositoryId, tag, digest, row.previous, row.previous ? 'move' : 'create'],
  );
}

export async function deleteTag(db: Queryable, repositoryId: number, tag: string): Promise<string | undefined> {
  const r = await db.query<{ digest: string }>(
    'DELETE FROM tags WHERE repository_id = $1 AND name = $2 RETURNING manifest_digest AS digest',
    [repositoryId, tag],
  );
  const digest = r.rows[0]?.digest;
  if (digest) await recordTagDeletion(db, repositoryId, tag, digest);
  return digest;
}

/** Deletes every tag pointing at the manifest (before the manifest itself goes); returns their names. */
export async function deleteTagsOf(db: Queryable, repositoryId: number, digest: string): Promise<string[]> {
  const r = await db.query<{ name: string }>(
    'DELETE FROM tags WHERE repository_id = $1 AND manifest_digest = $2 RETURNING name',
    [repositoryId, digest],
  );
  for (const { name } of r.rows) await recordTagDeletion(db, repositoryId, name, digest);
  return r.rows.map((x) => x.name);
}

async function recordTagDeletion(db: Queryable, repositoryId: number, tag: string, digest: string): Promise<void> {
  await db.query(
    `INSERT INTO tag_history (repository_id, tag, manifest_digest, previous_digest, action) VALUES ($1, $2, NULL, $3, 'delete')`,
    [repositoryId, tag, digest],
  );
}

/** Tag names in lexical (byte) order after `last`. */
export async function listTags(db: Queryable, repositoryId: number, opts: { limit: number; last?: string }): Promise<string[]> {
  const r = await db.query<{ name: string }>(
    `SELECT name FROM tags WHERE repository_id = $1 AND ($2::text IS NULL OR name COLLATE "C" > $2)
     ORDER BY name COLLATE "C" LIMIT $3`,
    [repositoryId, opts.last ?? null, opts.limit],
  );
  return r.rows.map((x) => x.name);
}
