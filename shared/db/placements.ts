import type { Queryable } from './pool.js';

export interface Placement {
  region: string;
  storageKey: string;
  verifiedAt: Date;
  /** The region the bytes were copied from (replication), or null when they were uploaded here. */
  copiedFrom: string | null;
}

export async function recordPlacement(db: Queryable, digest: string, region: string, storageKey: string): Promise<void> {
  await db.query(
    `INSERT INTO blob_placements (digest, region, storage_key) VALUES ($1, $2, $3)
     ON CONFLICT (digest, region) DO UPDATE SET storage_key = EXCLUDED.storage_key, verified_at = now()`,
    [digest, region, storageKey],
  );
}

export async function placementsOf(db: Queryable, digest: string): Promise<Placement[]> {
  const r = await db.query<Placement>({
    name: 'placements-of',
    text: `SELECT region, storage_key AS "storageKey", verified_at AS "verifiedAt", copied_from AS "copiedFrom"
     FROM blob_placements WHERE digest = $1 ORDER BY region`,
    values: [digest],
  });
  return r.rows;
}

export async function placementIn(db: Queryable, digest: string, region: string): Promise<Placement | undefined> {
  const r = await db.query<Placement>(
    `SELECT region, storage_key AS "storageKey", verified_at AS "verifiedAt", copied_from AS "copiedFrom"
     FROM blob_placements WHERE digest = $1 AND region = $2`,
    [digest, region],
  );
  return r.rows[0];
}

/** The placements of one region with their blob's size, in digest order after `after` (keyset pagination). */
export async function placementsInRegion(
  db: Queryable, region: string, opts: { after?: string; limit: number },
): Promise<{ digest: string; storageKey: string; size: number }[]> {
  const r = await db.query<{ digest: string; storageKey: string; size: number }>(
    `SELECT p.digest, p.storage_key AS "storageKey", b.size FROM blob_placements p JOIN blobs b ON b.digest = p.digest
     WHERE p.region = $1 AND ($2::text IS NULL OR p.digest > $2) ORDER BY p.digest LIMIT $3`,
    [region, opts.after ?? null, opts.limit],
  );
  return r.rows;
}

/** Forgets that `region` holds the blob (the bytes are the caller's business). True when a row was deleted. */
export async function deletePlacement(db: Queryable, digest: string, region: string): Promise<boolean> {
  const r = await db.query('DELETE FROM blob_placements WHERE digest = $1 AND region = $2', [digest, region]);
  return (r.rowCount ?? 0) > 0;
}
