import { withTx, type Pool, type Queryable } from './pool.js';

/** What the database needs of a vulnerability record to store and find it; the rest is kept as JSON. */
export interface StoredVulnerability {
  id: string;
  format: string;
  package: { name: string };
  distribution?: { id: string; release: string };
}

export interface ImportResult {
  feed: string;
  status: 'imported' | 'unchanged';
  updateId: number;
  vulnerabilities: number;
  /** Package (format, name) pairs with a vulnerability that the previous update of this feed did not have. */
  added: { format: string; name: string }[];
}

// Updates kept per feed: the current one and the one before it (what the last diff was computed against).
const KEEP_UPDATES = 2;
const BATCH = 2000;

/**
 * Stores one feed's parsed data as a new update operation and makes it current, unless the same data (same
 * fingerprint) is already current: then nothing changes. Older updates beyond the retention are deleted.
 */
export async function importFeed(
  pool: Pool, feed: string, fingerprint: string, source: string, vulns: readonly StoredVulnerability[],
): Promise<ImportResult> {
  return withTx(pool, async (tx) => {
    // One importer per feed at a time; other feeds import in parallel.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`vulnfeed:${feed}`]);
    const current = await tx.query<{ id: number; fingerprint: string }>(
      `SELECT u.id, u.fingerprint FROM vuln_feeds f JOIN vuln_updates u ON u.id = f.current_update WHERE f.feed = $1`, [feed],
    );
    const prev = current.rows[0];
    if (prev?.fingerprint === fingerprint) return { feed, status: 'unchanged', updateId: prev.id, vulnerabilities: vulns.length, added: [] };
    const existing = await tx.query<{ id: number }>('SELECT id FROM vuln_updates WHERE feed = $1 AND fingerprint = $2', [feed, fingerprint]);
    let updateId = existing.rows[0]?.id;
    if (updateId === undefined) {
      const u = await tx.query<{ id: number }>(
        'INSERT INTO vuln_updates (feed, fingerprint, source, vulnerabilities) VALUES ($1, $2, $3, $4) RETURNING id',
        [feed, fingerprint, source, vulns.length],
      );
      updateId = u.rows[0]!.id;
      for (let i = 0; i < vulns.length; i += BATCH) {
        const rows = vulns.slice(i, i + BATCH).map((v) => ({
          vuln_id: v.id, format: v.format, package_name: v.package.name, dist_id: v.distribution?.id ?? null,
          dist_release: v.distribution?.release ?? null, data: v,
        }));
        await tx.query(
          `INSERT INTO vulnerabilities (update_id, vuln_id, format, package_name, dist_id, dist_release, data)
           SELECT $1, r.vuln_id, r.format, r.package_name, r.dist_id, r.dist_release, r.data
           FROM jsonb_to_recordset($2::jsonb) AS r(vuln_id text, format text, package_name text, dist_id text, dist_release text, data jsonb)`,
          [updateId, JSON.stringify(rows)],
        );
      }
    }
    await tx.query(
      `INSERT INTO vuln_feeds (feed, current_update) VALUES ($1, $2)
       ON CONFLICT (feed) DO UPDATE SET current_update = EXCLUDED.current_update, updated_at = now()`,
      [feed, updateId],
    );
    const added = await tx.query<{ format: string; name: string }>(
      `SELECT DISTINCT n.format, n.package_name AS name FROM vulnerabilities n
       WHERE n.update_id = $1 AND NOT EXISTS (
         SELECT 1 FROM vulnerabilities o WHERE o.update_id = $2 AND o.vuln_id = n.vuln_id AND o.format = n.format
           AND o.package_name = n.package_name AND o.data = n.data)`,
      [updateId, prev?.id ?? -1],
    );
    await tx.query(
      `DELETE FROM vuln_updates WHERE feed = $1 AND id NOT IN (
         SELECT id FROM vuln_updates WHERE feed = $1 ORDER BY (id = $2) DESC, imported_at DESC, id DESC LIMIT $3)`,
      [feed, updateId, KEEP_UPDATES],
    );
    return { feed, status: 'imported', updateId, vulnerabilities: vulns.length, added: added.rows };
  });
}

/** Current vulnerability records (as stored JSON) for packages of one format, by package name. */
export async function currentVulnerabilities(db: Queryable, format: string, names: readonly string[]): Promise<unknown[]> {
  if (names.length === 0) return [];
  const r = await db.query<{ data: unknown }>({
    name: 'current-vulnerabilities',
    text: `SELECT v.data FROM vulnerabilities v JOIN vuln_feeds f ON f.current_update = v.update_id
           WHERE v.format = $1 AND v.package_name = ANY($2::text[])`,
    values: [format, names],
  });
  return r.rows.map((x) => x.data);
}

export interface FeedStatus {
  feed: string;
  updateId: number;
  fingerprint: string;
  source: string | null;
  vulnerabilities: number;
  importedAt: Date;
  updatedAt: Date;
}

export async function feedStatus(db: Queryable): Promise<FeedStatus[]> {
  const r = await db.query<FeedStatus>(
    `SELECT f.feed, u.id AS "updateId", u.fingerprint, u.source, u.vulnerabilities, u.imported_at AS "importedAt", f.updated_at AS "updatedAt"
     FROM vuln_feeds f JOIN vuln_updates u ON u.id = f.current_update ORDER BY f.feed`,
  );
  return r.rows;
}

/** Every current record of every feed, feed by feed, in pages (export of the whole database). */
export async function* allCurrent(db: Queryable): AsyncGenerator<{ feed: string; fingerprint: string; records: unknown[] }> {
  for (const f of await feedStatus(db)) {
    const r = await db.query<{ data: unknown }>('SELECT data FROM vulnerabilities WHERE update_id = $1 ORDER BY vuln_id, package_name', [f.updateId]);
    yield { feed: f.feed, fingerprint: f.fingerprint, records: r.rows.map((x) => x.data) };
  }
}

/** Manifests whose index report holds any of these packages (to re-match after a feed update). */
export async function manifestsWithPackages(db: Queryable, pkgs: readonly { format: string; name: string }[]): Promise<string[]> {
  if (pkgs.length === 0) return [];
  const r = await db.query<{ digest: string }>(
    `SELECT DISTINCT p.manifest_digest AS digest FROM index_packages p
     JOIN jsonb_to_recordset($1::jsonb) AS k(format text, name text) ON k.format = p.format AND k.name = p.name`,
    [JSON.stringify(pkgs)],
  );
  return r.rows.map((x) => x.digest);
}
