import type { Queryable } from './pool.js';

export interface UploadRow {
  id: string;
  repositoryId: number;
  region: string;
  storageKey: string;
  size: number;
  writerState: Record<string, unknown> | null;
  startedAt: Date;
}

const COLUMNS = `id, repository_id AS "repositoryId", region, storage_key AS "storageKey", size,
  writer_state AS "writerState", started_at AS "startedAt"`;

export async function createUpload(
  db: Queryable, u: { id: string; repositoryId: number; region: string; storageKey: string },
): Promise<void> {
  await db.query('INSERT INTO uploads (id, repository_id, region, storage_key) VALUES ($1, $2, $3, $4)',
    [u.id, u.repositoryId, u.region, u.storageKey]);
}

export async function getUpload(db: Queryable, id: string, repositoryId: number): Promise<UploadRow | undefined> {
  const r = await db.query<UploadRow>(`SELECT ${COLUMNS} FROM uploads WHERE id = $1 AND repository_id = $2`, [id, repositoryId]);
  return r.rows[0];
}

/**
 * Takes the upload's write lease if it is at `expectedSize` and nobody else holds the lease. A lease (not a row
 * lock) because a chunk can take minutes to arrive and must not pin a database connection meanwhile.
 */
export async function acquireUploadLease(
  db: Queryable, id: string, repositoryId: number, expectedSize: number | undefined, leaseSeconds: number,
): Promise<{ row: UploadRow } | { conflict: 'busy' | 'offset'; size: number } | undefined> {
  const r = await db.query<UploadRow>(
    `UPDATE uploads SET lease_until = now() + make_interval(secs => $4)
     WHERE id = $1 AND repository_id = $2 AND ($3::bigint IS NULL OR size = $3)
       AND (lease_until IS NULL OR lease_until < now())
     RETURNING ${COLUMNS}`,
    [id, repositoryId, expectedSize ?? null, leaseSeconds],
  );
  if (r.rows[0]) return { row: r.rows[0] };
  const cur = await db.query<{ size: number; busy: boolean }>(
    'SELECT size, (lease_until IS NOT NULL AND lease_until >= now()) AS busy FROM uploads WHERE id = $1 AND repository_id = $2',
    [id, repositoryId],
  );
  const row = cur.rows[0];
  if (!row) return undefined;
  return { conflict: row.busy ? 'busy' : 'offset', size: row.size };
}

/** Records the new offset and writer state and gives the lease back. */
export async function advanceUpload(db: Queryable, id: string, size: number, writerState: Record<string, unknown>): Promise<void> {
  await db.query('UPDATE uploads SET size = $2, writer_state = $3, lease_until = NULL, updated_at = now() WHERE id = $1',
    [id, size, writerState]);
}

export async function releaseUploadLease(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE uploads SET lease_until = NULL WHERE id = $1', [id]);
}

export async function deleteUpload(db: Queryable, id: string): Promise<boolean> {
  const r = await db.query('DELETE FROM uploads WHERE id = $1', [id]);
  return (r.rowCount ?? 0) > 0;
}

/**
 * Uploads untouched for longer than `idleSeconds` (abandoned by their clients) or started more than
 * `maxAgeSeconds` ago (no session lives longer, which is what lets scratch older than that be swept blindly).
 */
export async function staleUploads(db: Queryable, idleSeconds: number, maxAgeSeconds: number, limit: number): Promise<UploadRow[]> {
  const r = await db.query<UploadRow>(
    `SELECT ${COLUMNS} FROM uploads
     WHERE (updated_at < now() - make_interval(secs => $1) OR started_at < now() - make_interval(secs => $2))
       AND (lease_until IS NULL OR lease_until < now()) ORDER BY updated_at LIMIT $3`,
    [idleSeconds, maxAgeSeconds, limit],
  );
  return r.rows;
}
