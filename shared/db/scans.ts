import type { Queryable } from './pool.js';

export type IndexState = 'queued' | 'indexing' | 'indexed' | 'failed' | 'unsupported';

export interface IndexReportRow {
  manifestDigest: string;
  state: IndexState;
  reason: string | null;
  attempts: number;
  scannerSet: string | null;
  report: unknown;
  indexedAt: Date | null;
  updatedAt: Date;
}
const COLUMNS = `manifest_digest AS "manifestDigest", state, reason, attempts, scanner_set AS "scannerSet", report,
  indexed_at AS "indexedAt", updated_at AS "updatedAt"`;

export async function getIndexReport(db: Queryable, digest: string): Promise<IndexReportRow | undefined> {
  const r = await db.query<IndexReportRow>({ name: 'get-index-report', text: `SELECT ${COLUMNS} FROM index_reports WHERE manifest_digest = $1`, values: [digest] });
  return r.rows[0];
}

/** Queues a manifest for indexing unless it is queued, being indexed, or indexed by the current scanner set. */
export async function enqueueIndex(db: Queryable, digest: string, scannerSet: string, force = false): Promise<void> {
  await db.query(
    `INSERT INTO index_reports (manifest_digest, state) VALUES ($1, 'queued')
     ON CONFLICT (manifest_digest) DO UPDATE SET state = 'queued', attempts = 0, reason = NULL, next_attempt_at = now(), updated_at = now()
     WHERE $3 OR (index_reports.state IN ('indexed', 'unsupported') AND index_reports.scanner_set IS DISTINCT FROM $2)
        OR (index_reports.state = 'failed' AND index_reports.scanner_set IS DISTINCT FROM $2)`,
    [digest, scannerSet, force],
  );
}

/**
 * Manifests pushed but never queued (a lost event, the embedded node without a broker), or indexed by an older
 * scanner set: queued here, so the indexer catches up by itself.
 */
export async function enqueueMissing(db: Queryable, scannerSet: string, limit: number): Promise<number> {
  const r = await db.query(
    `WITH todo AS (
       SELECT DISTINCT m.digest FROM manifests m
       LEFT JOIN index_reports i ON i.manifest_digest = m.digest
       WHERE i.manifest_digest IS NULL OR (i.state IN ('indexed', 'unsupported') AND i.scanner_set IS DISTINCT FROM $1)
       LIMIT $2)
     INSERT INTO index_reports (manifest_digest, state) SELECT digest, 'queued' FROM todo
     ON CONFLICT (manifest_digest) DO UPDATE SET state = 'queued', attempts = 0, next_attempt_at = now(), updated_at = now()`,
    [scannerSet, limit],
  );
  return r.rowCount ?? 0;
}

/** Claims up to `n` due manifests for indexing (several scanners share the queue safely). */
export async function claimIndexWork(db: Queryable, n: number, leaseSeconds: number): Promise<{ digest: string; attempts: number }[]> {
  const r = await db.query<{ digest: string; attempts: number }>(
    `UPDATE index_reports SET state = 'indexing', lease_until = now() + make_interval(secs => $2), attempts = attempts + 1, updated_at = now()
     WHERE manifest_digest IN (
       SELECT manifest_digest FROM index_reports
       WHERE (state IN ('queued', 'failed') AND next_attempt_at <= now())
          OR (state = 'indexing' AND lease_until < now())
       ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
     RETURNING manifest_digest AS digest, attempts`,
    [n, leaseSeconds],
  );
  return r.rows;
}

export async function finishIndex(
  db: Queryable, digest: string, out: { state: 'indexed' | 'unsupported'; scannerSet: string; report: unknown; packages: { format: string; name: string }[]; reason?: string },
): Promise<void> {
  await db.query(
    `UPDATE index_reports SET state = $2, scanner_set = $3, report = $4, reason = $5, lease_until = NULL, indexed_at = now(), updated_at = now()
     WHERE manifest_digest = $1`,
    [digest, out.state, out.scannerSet, JSON.stringify(out.report), out.reason ?? null],
  );
  await db.query('DELETE FROM index_packages WHERE manifest_digest = $1', [digest]);
  if (out.packages.length > 0) {
    await db.query(
      `INSERT INTO index_packages (manifest_digest, format, name)
       SELECT DISTINCT $1, k.format, k.name FROM jsonb_to_recordset($2::jsonb) AS k(format text, name text) ON CONFLICT DO NOTHING`,
      [digest, JSON.stringify(out.packages)],
    );
  }
}

/** A failed attempt: retried with backoff until `maxAttempts`, then failed for good (reason kept). */
export async function failIndex(db: Queryable, digest: string, reason: string, retryInSeconds: number | null): Promise<void> {
  await db.query(
    `UPDATE index_reports SET state = 'failed', reason = $2, lease_until = NULL, updated_at = now(),
       next_attempt_at = CASE WHEN $3::int IS NULL THEN 'infinity'::timestamptz ELSE now() + make_interval(secs => $3::int) END
     WHERE manifest_digest = $1`,
    [digest, reason.slice(0, 2000), retryInSeconds],
  );
}

export interface LayerResult {
  scanner: string;
  version: string;
  findings: unknown;
}

export async function layerResults(db: Queryable, layer: string): Promise<LayerResult[]> {
  const r = await db.query<LayerResult>(
    'SELECT scanner, scanner_version AS version, findings FROM scan_layer_results WHERE layer_digest = $1', [layer],
  );
  return r.rows;
}

export async function saveLayerResult(db: Queryable, layer: string, scanner: string, version: string, findings: unknown): Promise<void> {
  await db.query(
    `INSERT INTO scan_layer_results (layer_digest, scanner, scanner_version, findings) VALUES ($1, $2, $3, $4)
     ON CONFLICT (layer_digest, scanner, scanner_version) DO UPDATE SET findings = EXCLUDED.findings, scanned_at = now()`,
    [layer, scanner, version, JSON.stringify(findings)],
  );
}

export async function getFindings(db: Queryable, digest: string): Promise<string[] | undefined> {
  const r = await db.query<{ keys: string[] }>('SELECT keys FROM vulnerability_findings WHERE manifest_digest = $1', [digest]);
  return r.rows[0]?.keys;
}

export async function setFindings(db: Queryable, digest: string, keys: string[]): Promise<void> {
  await db.query(
    `INSERT INTO vulnerability_findings (manifest_digest, keys) VALUES ($1, $2)
     ON CONFLICT (manifest_digest) DO UPDATE SET keys = EXCLUDED.keys, matched_at = now()`,
    [digest, keys],
  );
}

/** Repositories and tags holding a manifest (for reports and notifications). */
export async function whereIsManifest(db: Queryable, digest: string): Promise<{ repository: string; tags: string[] }[]> {
  const r = await db.query<{ repository: string; tags: string[] }>(
    `SELECT r.name AS repository, coalesce(array_agg(t.name ORDER BY t.name) FILTER (WHERE t.name IS NOT NULL), '{}') AS tags
     FROM manifests m JOIN repositories r ON r.id = m.repository_id
     LEFT JOIN tags t ON t.repository_id = m.repository_id AND t.manifest_digest = m.digest
     WHERE m.digest = $1 GROUP BY r.name ORDER BY r.name`,
    [digest],
  );
  return r.rows;
}
