import type { Deps } from '../deps.js';
import { lockDigest, withTx } from '../../../../shared/db/pool.js';
import * as blobsDb from '../../../../shared/db/blobs.js';
import * as uploadsDb from '../../../../shared/db/uploads.js';
import { uploadPrefix } from '../../../../shared/storage/paths.js';
import type { WriterState } from '../../../../shared/storage/driver.js';

export interface GcReport {
  blobsDeleted: number;
  uploadsExpired: number;
  scratchRemoved: number;
}

export interface GcOptions {
  graceSeconds: number;
  uploadExpirySeconds: number;
  /** No upload session outlives this; writer scratch older than it (plus a margin) belongs to crashed writers. */
  uploadMaxAgeSeconds: number;
  batch?: number;
}

// Object stores date scratch by their own clocks (often whole seconds); never cut closer than this to a live writer.
const SCRATCH_MARGIN_SECONDS = 3600;

/**
 * Online garbage collection. A blob is garbage when no manifest references it and no client was told it exists
 * within the grace period (upload, mount, HEAD and GET refresh that clock). Each deletion re-checks under the
 * digest lock that uploads and mounts also take, and deletes the bytes before that lock is released, so a
 * concurrent push of the same blob either keeps it alive or re-creates it after the bytes are gone — never a row
 * without bytes.
 */
export async function collectGarbage(deps: Deps, opts: GcOptions): Promise<GcReport> {
  const report: GcReport = { blobsDeleted: 0, uploadsExpired: 0, scratchRemoved: 0 };
  const batch = opts.batch ?? 500;
  for (;;) {
    const candidates = await blobsDb.findGarbageBlobs(deps.db, opts.graceSeconds, batch);
    for (const digest of candidates) {
      const deleted = await withTx(deps.db, async (tx) => {
        await lockDigest(tx, digest);
        const placements = await blobsDb.deleteBlobIfGarbage(tx, digest, opts.graceSeconds);
        if (!placements) return false;
        // The row is global, so every region's copy goes now; a region that cannot be reached keeps an orphan
        // object (space, never visibility: nothing references it any more).
        for (const p of placements) {
          await deps.stores.get(p.region).then((store) => store.delete(p.storageKey))
            .catch((err) => deps.log.warn({ err, digest, region: p.region }, 'could not delete a collected blob in a region'));
        }
        return true;
      });
      if (deleted) {
        report.blobsDeleted++;
        deps.metrics.gcDeleted.inc({ kind: 'blob' });
        await deps.events.blobDeleted(digest);
      }
    }
    if (candidates.length < batch) break;
  }
  for (;;) {
    const stale = await uploadsDb.staleUploads(deps.db, opts.uploadExpirySeconds, opts.uploadMaxAgeSeconds, batch);
    for (const u of stale.filter((x) => x.region === deps.region)) {
      if (await uploadsDb.deleteUpload(deps.db, u.id)) {
        // Resuming and cancelling the writer is what frees its in-flight scratch (temp file, multipart upload).
        if (u.writerState) {
          await deps.store.openWriter(u.storageKey, { resume: u.writerState as WriterState })
            .then((w) => w.cancel())
            .catch((err) => deps.log.warn({ err, uploadId: u.id }, 'could not cancel an expired upload writer'));
        }
        await deps.store.delete(uploadPrefix(u.id));
        report.uploadsExpired++;
        deps.metrics.gcDeleted.inc({ kind: 'upload' });
      }
    }
    if (stale.length < batch) break;
  }
  const cutoff = new Date(Date.now() - (opts.uploadMaxAgeSeconds + SCRATCH_MARGIN_SECONDS) * 1000);
  report.scratchRemoved = (await deps.store.sweepScratch(cutoff)).removed;
  deps.metrics.gcDeleted.inc({ kind: 'scratch' }, report.scratchRemoved);
  deps.log.info({ ...report }, 'garbage collection finished');
  return report;
}

/** Runs collectGarbage every interval until the signal aborts; one node at a time thanks to an advisory lock. */
export function scheduleGc(deps: Deps, signal: AbortSignal): void {
  const { intervalSeconds, graceSeconds, uploadExpirySeconds, uploadMaxAgeSeconds } = deps.config.gc;
  const run = async () => {
    const client = await deps.db.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(0x77676331) AS ok');
      if (!rows[0]?.ok) return;
      try {
        await collectGarbage(deps, { graceSeconds, uploadExpirySeconds, uploadMaxAgeSeconds });
      } finally {
        await client.query('SELECT pg_advisory_unlock(0x77676331)');
      }
    } catch (err) {
      deps.log.error({ err }, 'garbage collection failed');
    } finally {
      client.release();
    }
  };
  const timer = setInterval(() => void run(), intervalSeconds * 1000);
  timer.unref();
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
}
