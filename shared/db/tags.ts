import type { Queryable } from './pool.js';

export async function resolveTag(db: Queryable, repositoryId: number, tag: string): Promise<string | undefined> {
  const r = await db.query<{ digest: string }>(
    'SELECT manifest_digest AS digest FROM tags WHERE repository_id = $1 AND name = $2',
    [repositoryId, tag],
  );
  return r.rows[0]?.digest;
}

/**
 * Points the tag at the manifest and records the movement in tag_history (no row when nothing changed). Returns the
 * digest it pointed at before (null for a new tag) and whether anything changed.
 */
export async function setTag(db: Queryable, repositoryId: number, tag: string, digest: string): Promise<{ previous: string | null; changed: boolean }> {
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
  if (!row?.changed) return { previous: row?.previous ?? null, changed: false };
  await db.query(
    `INSERT INTO tag_history (repository_id, tag, manifest_digest, previous_digest, action) VALUES ($1, $2, $3, $4, $5)`,
    [repositoryId, tag, digest, row.previous, row.previous ? 'move' : 'create'],
  );
  return { previous: row.previous, changed: true };
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

/** One period of a tag's life: when it started pointing at a manifest and, unless still active, when it stopped. */
export interface TagPeriod {
  name: string;
  manifestDigest: string;
  start: Date;
  /** Undefined for the tag's current period. */
  end?: Date;
  /** The manifest's media type, when the manifest still exists. */
  mediaType: string | null;
  /** The period began with a restore (matched to its revert_tag audit record, written in the same transaction). */
  reversion: boolean;
}

/**
 * A repository's tags with their history, newest period first (Quay's order: start descending, then name). Past
 * periods come from tag_history (each create/move row lasts until the tag's next row); current ones from tags.
 */
export async function listTagPeriods(
  db: Queryable, repositoryId: number, repositoryName: string,
  opts: { tag?: string | undefined; onlyActive: boolean; limit: number; offset: number },
): Promise<TagPeriod[]> {
  const r = await db.query<{ name: string; digest: string; start: Date; end: Date | null; media_type: string | null; reversion: boolean }>(
    `WITH h AS (
       SELECT tag, manifest_digest, action, at, lead(at) OVER (PARTITION BY tag ORDER BY at, id) AS end_at
       FROM tag_history WHERE repository_id = $1 AND ($3::text IS NULL OR tag = $3)
     ),
     periods AS (
       SELECT tag AS name, manifest_digest AS digest, at AS start, end_at AS "end" FROM h
       WHERE NOT $4::boolean AND action <> 'delete' AND end_at IS NOT NULL
       UNION ALL
       SELECT t.name, t.manifest_digest,
              coalesce((SELECT max(at) FROM tag_history x WHERE x.repository_id = t.repository_id AND x.tag = t.name
                          AND x.manifest_digest = t.manifest_digest AND x.action <> 'delete'), t.updated_at),
              NULL
       FROM tags t WHERE t.repository_id = $1 AND ($3::text IS NULL OR t.name = $3)
     )
     SELECT p.name, p.digest, p.start, p."end", m.media_type,
            EXISTS (SELECT 1 FROM audit_log a WHERE a.repository = $2 AND a.at = p.start AND a.kind = 'revert_tag'
                      AND a.metadata->>'tag' = p.name AND a.metadata->>'digest' = p.digest) AS reversion
     FROM periods p LEFT JOIN manifests m ON m.repository_id = $1 AND m.digest = p.digest
     ORDER BY p.start DESC, p.name COLLATE "C", p."end" DESC NULLS FIRST
     LIMIT $5 OFFSET $6`,
    [repositoryId, repositoryName, opts.tag ?? null, opts.onlyActive, opts.limit, opts.offset],
  );
  return r.rows.map((x) => ({
    name: x.name, manifestDigest: x.digest, start: x.start, ...(x.end ? { end: x.end } : {}),
    mediaType: x.media_type, reversion: x.reversion,
  }));
}

/**
 * Whether the tag pointed at the manifest within the last `windowSeconds` (by the database's clock): some tag_history
 * row began (create/move) or ended (move/delete) such a period since then. 'never' when no row mentions the pair.
 */
export async function pointedWithin(
  db: Queryable, repositoryId: number, tag: string, digest: string, windowSeconds: number,
): Promise<'within' | 'expired' | 'never'> {
  const r = await db.query<{ last: Date | null; within: boolean | null }>(
    `SELECT max(at) AS last, max(at) >= now() - make_interval(secs => $4::double precision) AS within FROM tag_history
     WHERE repository_id = $1 AND tag = $2 AND (manifest_digest = $3 OR previous_digest = $3)`,
    [repositoryId, tag, digest, windowSeconds],
  );
  const row = r.rows[0];
  if (!row?.last) return 'never';
  return row.within ? 'within' : 'expired';
}
