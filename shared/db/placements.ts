import type { Queryable } from './pool.js';

export interface Placement {
  region: string;
  storageKey: string;
  verifiedAt: Date;
}

export async function recordPlacement(db: Queryable, digest: string, region: string, storageKey: string): Promise<void> {
  await db.query(
    `INSERT INTO blob_placements (digest, region, storage_key) VALUES ($1, $2, $3)
     ON CONFLICT (digest, region) DO UPDATE SET storage_key = EXCLUDED.storage_key, verified_at = now()`,
    [digest, region, storageKey],
  );
}

export async function placementsOf(db: Queryable, digest: string): Promise<Placement[]> {
  const r = await db.query<Placement>(
    'SELECT region, storage_key AS "storageKey", verified_at AS "verifiedAt" FROM blob_placements WHERE digest = $1 ORDER BY region',
    [digest],
  );
  return r.rows;
}

export async function placementIn(db: Queryable, digest: string, region: string): Promise<Placement | undefined> {
  const r = await db.query<Placement>(
    `SELECT region, storage_key AS "storageKey", verified_at AS "verifiedAt"
     FROM blob_placements WHERE digest = $1 AND region = $2`,
    [digest, region],
  );
  return r.rows[0];
}
