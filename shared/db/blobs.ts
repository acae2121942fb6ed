import type { Queryable } from './pool.js';

export interface BlobRow {
  digest: string;
  size: number;
  mediaType: string | null;
}

/** The blob if the repository may serve it, refreshing its GC grace clock. */
export async function touchLinkedBlob(db: Queryable, repositoryId: number, digest: string): Promise<BlobRow | undefined> {
  // The clock is refreshed at most once a minute (GC grace must exceed that): a popular layer pulled by many
  // clients at once would otherwise queue every pull behind one row lock and write WAL for each.
  const r = await db.query<BlobRow>({
    name: 'touch-linked-blob',
    text: `WITH linked AS (
       SELECT b.digest, b.size, b.media_type, b.last_seen_at FROM blobs b
       JOIN repository_blobs rb ON rb.digest = b.digest WHERE rb.repository_id = $1 AND rb.digest = $2),
     touched AS (
       UPDATE blobs SET last_seen_at = now() WHERE digest = (SELECT digest FROM linked)
         AND (SELECT last_seen_at FROM linked) < now() - interval '${SEEN_REFRESH_SECONDS} seconds')
     SELECT digest, size, media_type AS "mediaType" FROM linked`,
    values: [repositoryId, digest],
  });
  return r.rows[0];
}

/** How stale blobs.last_seen_at may get while clients are told a blob exists; GC grace must be well above it. */
export const SEEN_REFRESH_SECONDS = 60;

export async function findBlob(db: Queryable, digest: string): Promise<BlobRow | undefined> {
  const r = await db.query<BlobRow>('SELECT digest, size, media_type AS "mediaType" FROM blobs WHERE digest = $1', [digest]);
  return r.rows[0];
}

/** Inserts the blob row (or refreshes it) and links it to the repository. */
export async function upsertBlobAndLink(
  db: Queryable, repositoryId: number, blob: { digest: string; size: number; mediaType?: string | null },
): Promise<void> {
  await db.query(
    `INSERT INTO blobs (digest, size, media_type) VALUES ($1, $2, $3)
     ON CONFLICT (digest) DO UPDATE SET last_seen_at = now()`,
    [blob.digest, blob.size, blob.mediaType ?? null],
  );
  await linkBlob(db, repositoryId, blob.digest);
}

export async function linkBlob(db: Queryable, repositoryId: number, digest: string): Promise<void> {
  await db.query(
    'INSERT INTO repository_blobs (repository_id, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [repositoryId, digest],
  );
}

export async function unlinkBlob(db: Queryable, repositoryId: number, digest: string): Promise<boolean> {
  const r = await db.query('DELETE FROM repository_blobs WHERE repository_id = $1 AND digest = $2', [repositoryId, digest]);
  return (r.rowCount ?? 0) > 0;
}

/** Which of `digests` are linked to the repository; locks the blob rows against a concurrent GC sweep. */
export async function linkedDigestsForShare(db: Queryable, repositoryId: number, digests: string[]): Promise<Set<string>> {
  if (digests.length === 0) return new Set();
  const r = await db.query<{ digest: string }>(
    `SELECT b.digest FROM blobs b JOIN repository_blobs rb ON rb.digest = b.digest
     WHERE rb.repository_id = $1 AND b.digest = ANY($2::text[])
     FOR SHARE OF b`,
    [repositoryId, digests],
  );
  return new Set(r.rows.map((x) => x.digest));
}

/**
 * GC candidates: blobs no manifest references, not refreshed within the grace period.
 * Final checks happen again under the digest lock before anything is deleted.
 */
export async function findGarbageBlobs(db: Queryable, graceSeconds: number, limit: number): Promise<string[]> {
  const r = await db.query<{ digest: string }>(
    `SELECT b.digest FROM blobs b
     WHERE b.last_seen_at < now() - make_interval(secs => $1)
       AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.ref_digest = b.digest AND mr.ref_kind = 'blob')
     ORDER BY b.last_seen_at LIMIT $2`,
    [graceSeconds, limit],
  );
  return r.rows.map((x) => x.digest);
}

/** Deletes the blob row if it is still garbage; returns its placements so the caller can delete the bytes. */
export async function deleteBlobIfGarbage(
  db: Queryable, digest: string, graceSeconds: number,
): Promise<{ region: string; storageKey: string }[] | undefined> {
  const placements = await db.query<{ region: string; storageKey: string }>(
    'SELECT region, storage_key AS "storageKey" FROM blob_placements WHERE digest = $1',
    [digest],
  );
  const r = await db.query(
    `DELETE FROM blobs b WHERE b.digest = $1
       AND b.last_seen_at < now() - make_interval(secs => $2)
       AND NOT EXISTS (SELECT 1 FROM manifest_references mr WHERE mr.ref_digest = b.digest AND mr.ref_kind = 'blob')`,
    [digest, graceSeconds],
  );
  return (r.rowCount ?? 0) > 0 ? placements.rows : undefined;
}

/** Which of `digests` have a blob row (child manifests, for instance, do not). */
export async function existingBlobs(db: Queryable, digests: string[]): Promise<Set<string>> {
  if (digests.length === 0) return new Set();
  const r = await db.query<{ digest: string }>('SELECT digest FROM blobs WHERE digest = ANY($1::text[])', [digests]);
  return new Set(r.rows.map((x) => x.digest));
}
