import type { Queryable } from './pool.js';

/**
 * Placements written by replication: the copy's source and the lag from the blob's first commit (blobs.created_at)
 * to now. Clears any failure recorded for the pair.
 */
export async function recordReplicatedPlacement(
  db: Queryable, p: { digest: string; region: string; storageKey: string; copiedFrom: string },
): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO blob_placements (digest, region, storage_key, copied_from, lag_ms)
     SELECT b.digest, $2, $3, $4, (extract(epoch FROM clock_timestamp() - b.created_at) * 1000)::bigint
     FROM blobs b WHERE b.digest = $1
     ON CONFLICT (digest, region) DO UPDATE SET verified_at = now()`,
    [p.digest, p.region, p.storageKey, p.copiedFrom],
  );
  await db.query('DELETE FROM replication_failures WHERE digest = $1 AND region = $2', [p.digest, p.region]);
  return (r.rowCount ?? 0) > 0;
}

export async function recordReplicationFailure(
  db: Queryable, f: { digest: string; region: string; error: string; permanent: boolean },
): Promise<void> {
  await db.query(
    `INSERT INTO replication_failures (digest, region, last_error, permanent)
     SELECT digest, $2, $3, $4 FROM blobs WHERE digest = $1
     ON CONFLICT (digest, region) DO UPDATE SET attempts = replication_failures.attempts + 1,
       last_error = EXCLUDED.last_error, permanent = EXCLUDED.permanent, last_attempt_at = now()`,
    [f.digest, f.region, f.error.slice(0, 2000), f.permanent],
  );
}

export interface BlobReplicationRow {
  digest: string;
  size: number;
  createdAt: Date;
  placements: { region: string; verifiedAt: Date; copiedFrom: string | null; lagMs: number | null }[];
  failures: { region: string; attempts: number; lastError: string; permanent: boolean; lastAttemptAt: Date }[];
  repositories: string[];
}

export async function blobReplication(db: Queryable, digest: string): Promise<BlobReplicationRow | undefined> {
  const r = await db.query<BlobReplicationRow>(
    `SELECT b.digest, b.size, b.created_at AS "createdAt",
       COALESCE((SELECT json_agg(json_build_object('region', p.region, 'verifiedAt', p.verified_at, 'copiedFrom', p.copied_from,
         'lagMs', p.lag_ms) ORDER BY p.region) FROM blob_placements p WHERE p.digest = b.digest), '[]') AS placements,
       COALESCE((SELECT json_agg(json_build_object('region', f.region, 'attempts', f.attempts, 'lastError', f.last_error,
         'permanent', f.permanent, 'lastAttemptAt', f.last_attempt_at) ORDER BY f.region)
         FROM replication_failures f WHERE f.digest = b.digest), '[]') AS failures,
       COALESCE((SELECT array_agg(r.name ORDER BY r.name) FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id
         WHERE rb.digest = b.digest), '{}') AS repositories
     FROM blobs b WHERE b.digest = $1`,
    [digest],
  );
  return r.rows[0];
}

/**
 * Blobs of `repositories` (null = all) that lack a placement in `region`: the region's backlog, oldest first.
 * A blob is required in a region when a repository linking it is replicated there; the caller passes that set.
 */
export async function missingIn(
  db: Queryable, region: string, repositories: string[] | null, limit: number,
): Promise<{ digest: string; size: number; createdAt: Date; repository: string }[]> {
  const r = await db.query<{ digest: string; size: number; createdAt: Date; repository: string }>(
    `SELECT DISTINCT ON (b.created_at, b.digest) b.digest, b.size, b.created_at AS "createdAt", r.name AS repository
     FROM blobs b JOIN repository_blobs rb ON rb.digest = b.digest JOIN repositories r ON r.id = rb.repository_id
     WHERE ($2::text[] IS NULL OR r.name = ANY($2::text[]))
       AND NOT EXISTS (SELECT 1 FROM blob_placements p WHERE p.digest = b.digest AND p.region = $1)
       AND EXISTS (SELECT 1 FROM blob_placements p WHERE p.digest = b.digest)
     ORDER BY b.created_at, b.digest LIMIT $3`,
    [region, repositories, limit],
  );
  return r.rows;
}

export interface RegionStats {
  region: string;
  placedBlobs: number;
  placedBytes: number;
  failedBlobs: number;
  lagP50Ms: number | null;
  lagP99Ms: number | null;
  copiedBlobs: number;
  copiedBytes: number;
}

/** Per region: what it holds, its failures, and lag and copy volume over the last `windowSeconds`. */
export async function regionStats(db: Queryable, windowSeconds: number): Promise<RegionStats[]> {
  const r = await db.query<RegionStats>(
    `SELECT p.region,
       count(*)::bigint AS "placedBlobs", COALESCE(sum(b.size), 0)::bigint AS "placedBytes",
       (SELECT count(*) FROM replication_failures f WHERE f.region = p.region)::bigint AS "failedBlobs",
       percentile_cont(0.5) WITHIN GROUP (ORDER BY p.lag_ms) FILTER (WHERE p.lag_ms IS NOT NULL
         AND p.verified_at > now() - make_interval(secs => $1)) AS "lagP50Ms",
       percentile_cont(0.99) WITHIN GROUP (ORDER BY p.lag_ms) FILTER (WHERE p.lag_ms IS NOT NULL
         AND p.verified_at > now() - make_interval(secs => $1)) AS "lagP99Ms",
       count(*) FILTER (WHERE p.copied_from IS NOT NULL AND p.verified_at > now() - make_interval(secs => $1))::bigint AS "copiedBlobs",
       COALESCE(sum(b.size) FILTER (WHERE p.copied_from IS NOT NULL AND p.verified_at > now() - make_interval(secs => $1)), 0)::bigint AS "copiedBytes"
     FROM blob_placements p JOIN blobs b ON b.digest = p.digest
     GROUP BY p.region ORDER BY p.region`,
    [windowSeconds],
  );
  return r.rows;
}

/** Which repositories require a region, expressed on namespaces (the first path component) for SQL. */
export interface RegionScope {
  /** The default policy requires the region. */
  byDefault: boolean;
  /** Namespaces whose override requires the region. */
  included: string[];
  /** Namespaces whose override does not. */
  excluded: string[];
}

const SCOPE_SQL = `(split_part(r.name, '/', 1) = ANY($2::text[])
  OR ($3::boolean AND NOT split_part(r.name, '/', 1) = ANY($4::text[])))`;

/** What `region` should hold but does not (optionally within one repository): count, bytes and the oldest. */
export async function backlog(
  db: Queryable, region: string, scope: RegionScope, repository?: string,
): Promise<{ blobs: number; bytes: number; oldestCreatedAt: Date | null }> {
  const r = await db.query<{ blobs: number; bytes: number; oldestCreatedAt: Date | null }>(
    `SELECT count(*)::bigint AS blobs, COALESCE(sum(size), 0)::bigint AS bytes, min(created_at) AS "oldestCreatedAt"
     FROM blobs b WHERE EXISTS (
         SELECT 1 FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id
         WHERE rb.digest = b.digest AND ${SCOPE_SQL} AND ($5::text IS NULL OR r.name = $5))
       AND NOT EXISTS (SELECT 1 FROM blob_placements p WHERE p.digest = b.digest AND p.region = $1)`,
    [region, scope.included, scope.byDefault, scope.excluded, repository ?? null],
  );
  return r.rows[0]!;
}
