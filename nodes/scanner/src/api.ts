import { Hono } from 'hono';
import type { Pool } from '../../../shared/db/pool.js';
import type { Logger } from '../../../shared/logging/logger.js';
import * as scans from '../../../shared/db/scans.js';
import { feedStatus } from '../../../shared/db/vulndb.js';
import { parseDigest } from '../../../shared/oci/digest.js';
import { indexManifest, IndexError, scannerSet, type IndexerDeps } from './indexer/controller.js';
import { manifestVulnerabilities } from './reports.js';
import { clairIndexReport, clairVulnerabilityReport, quaySecurity } from './formats.js';
import { importFeedBytes, exportBundle, affectedManifests, type BundleKeys } from './vulndb.js';
import type { FeedUrlResult } from './updater.js';

export interface ScannerApiDeps {
  db: Pool;
  log: Logger;
  indexer: IndexerDeps;
  staleFeedHours: number;
  bundleKeys: BundleKeys;
  /** Called after an import changed data: re-match affected manifests and notify. */
  afterImport(added: { format: string; name: string }[]): Promise<number>;
  /** Runs the URL updaters now (scanner.feedUrls). */
  updateFeeds(): Promise<FeedUrlResult[]>;
}

class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const MAX_IMPORT_BYTES = 1024 * 1024 * 1024;

function digestParam(s: string): string {
  try {
    return parseDigest(s).digest;
  } catch {
    throw new ApiError(400, 'DIGEST_INVALID', `"${s.slice(0, 100)}" is not a digest`);
  }
}

/**
 * The scanner's HTTP API, Clair v4's paths: the indexer (index a manifest, its report, the index state), the matcher
 * (a vulnerability report, matched now against current data), plus the vulnerability database (import feed files or
 * a bundle, export a bundle, feed ages) and the images a vulnerability affects. Quay-shaped security reports are
 * served here too and forwarded by the registry, which authorizes the caller first.
 */
export function scannerApi(deps: ScannerApiDeps): Hono {
  const app = new Hono();
  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json({ code: err.code, message: err.message }, err.status as 400);
    deps.log.error({ err }, 'scanner API error');
    return c.json({ code: 'UNKNOWN', message: 'internal error' }, 500);
  });
  app.notFound((c) => c.json({ code: 'NOT_FOUND', message: 'no such endpoint' }, 404));

  app.post('/indexer/api/v1/index_report', async (c) => {
    let body: { hash?: unknown };
    try {
      body = await c.req.json();
    } catch {
      throw new ApiError(400, 'INVALID_REQUEST', 'body must be JSON {"hash": "<manifest digest>"}');
    }
    const digest = digestParam(typeof body.hash === 'string' ? body.hash : '');
    await scans.enqueueIndex(deps.db, digest, scannerSet(deps.indexer.scanners), true);
    try {
      await indexManifest(deps.indexer, digest);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      await scans.failIndex(deps.db, digest, reason, e instanceof IndexError && e.permanent ? null : 60);
      if (e instanceof IndexError && e.message.includes('not found')) throw new ApiError(404, 'MANIFEST_UNKNOWN', reason);
    }
    const row = await scans.getIndexReport(deps.db, digest);
    return c.json(clairIndexReport(digest, row), 201);
  });
  app.get('/indexer/api/v1/index_report/:digest', async (c) => {
    const digest = digestParam(c.req.param('digest'));
    const row = await scans.getIndexReport(deps.db, digest);
    if (!row) throw new ApiError(404, 'NOT_FOUND', 'no index report for this manifest');
    return c.json(clairIndexReport(digest, row));
  });
  app.get('/indexer/api/v1/index_state', (c) => c.json({ state: scannerSet(deps.indexer.scanners) }));
  app.get('/matcher/api/v1/vulnerability_report/:digest', async (c) => {
    const v = await manifestVulnerabilities(deps.db, digestParam(c.req.param('digest')));
    if (v.state === 'unknown') throw new ApiError(404, 'NOT_FOUND', 'no index report for this manifest');
    if (v.state !== 'indexed') throw new ApiError(409, 'NOT_INDEXED', `the manifest is ${v.state}${v.reason ? `: ${v.reason}` : ''}`);
    return c.json(clairVulnerabilityReport(v));
  });
  app.get('/scanner/api/v1/security/:digest', async (c) => {
    const v = await manifestVulnerabilities(deps.db, digestParam(c.req.param('digest')));
    return c.json(quaySecurity(v, c.req.query('vulnerabilities') === 'true'));
  });

  app.get('/api/v1/vulndb/feeds', async (c) => {
    const now = Date.now();
    const feeds = (await feedStatus(deps.db)).map((f) => {
      const ageHours = (now - f.updatedAt.getTime()) / 3_600_000;
      return {
        feed: f.feed, fingerprint: f.fingerprint, vulnerabilities: f.vulnerabilities, source: f.source,
        updatedAt: f.updatedAt.toISOString(), ageHours: Math.round(ageHours * 10) / 10,
        stale: ageHours > deps.staleFeedHours,
      };
    });
    const stale = feeds.filter((f) => f.stale).map((f) => f.feed);
    return c.json({ feeds, ...(stale.length ? { warning: `${stale.length} feed(s) older than ${deps.staleFeedHours} h: ${stale.join(', ')}` } : {}) });
  });
  app.post('/api/v1/vulndb/import', async (c) => {
    const name = c.req.query('name') ?? 'upload';
    const declared = Number(c.req.header('content-length') ?? 0);
    if (declared > MAX_IMPORT_BYTES) throw new ApiError(413, 'TOO_LARGE', `imports are limited to ${MAX_IMPORT_BYTES} bytes`);
    const bytes = Buffer.from(await c.req.arrayBuffer());
    if (bytes.length > MAX_IMPORT_BYTES) throw new ApiError(413, 'TOO_LARGE', `imports are limited to ${MAX_IMPORT_BYTES} bytes`);
    let results;
    try {
      results = await importFeedBytes(deps.db, name, bytes, deps.bundleKeys);
    } catch (e) {
      throw new ApiError(400, 'INVALID_FEED', (e as Error).message);
    }
    const added = results.flatMap((r) => r.added);
    const notified = added.length > 0 ? await deps.afterImport(added) : 0;
    return c.json({ imported: results.map(({ added: a, ...r }) => ({ ...r, packagesWithNewRecords: a.length })), rematchedManifests: notified });
  });
  app.post('/api/v1/vulndb/update', async (c) => c.json({ results: await deps.updateFeeds() }));
  app.get('/api/v1/vulndb/export', async (c) => {
    const bundle = await exportBundle(deps.db, deps.bundleKeys.signing);
    return new Response(bundle, { headers: { 'Content-Type': 'application/vnd.wharf.vulndb.bundle.v1+json', 'Content-Disposition': 'attachment; filename="wharf-vulndb.bundle"' } });
  });
  app.get('/api/v1/vulnerabilities/:id/manifests', async (c) => c.json(await affectedManifests(deps.db, c.req.param('id'))));
  return app;
}
