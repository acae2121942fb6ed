import { performance } from 'node:perf_hooks';
import { peersByDistance } from '../../../shared/config/index.js';
import { lockDigest, withTx } from '../../../shared/db/pool.js';
import * as blobsDb from '../../../shared/db/blobs.js';
import * as placementsDb from '../../../shared/db/placements.js';
import { recordReplicatedPlacement, recordReplicationFailure } from '../../../shared/db/replication.js';
import { publishSafely } from '../../../shared/events/index.js';
import type { Digest } from '../../../shared/oci/digest.js';
import { CorruptSourceError, copyVerified } from '../../../shared/storage/copy-verified.js';
import { NotFoundError, type BlobStore } from '../../../shared/storage/driver.js';
import { blobKey } from '../../../shared/storage/paths.js';
import type { ReplicatorDeps } from './deps.js';

/** Why one source could not give us the blob. */
export interface SourceFailure {
  region: string;
  /** corrupt: wrong digest or size, or the bytes are missing there; unavailable: the store (or ours) failed. */
  kind: 'corrupt' | 'unavailable';
  error: string;
}

export type CopyResult =
  | { outcome: 'copied'; digest: Digest; size: number; source: string; durationMs: number }
  | { outcome: 'already-present'; digest: Digest }
  /** The blob row is gone (deleted by GC): nothing to hold. */
  | { outcome: 'gone'; digest: Digest }
  /** No other region has a placement yet. */
  | { outcome: 'no-source'; digest: Digest }
  /** At least one source failed for a reason that may pass (network, store down). */
  | { outcome: 'unavailable'; digest: Digest; failures: SourceFailure[] }
  /** Every source had bad bytes. */
  | { outcome: 'corrupt'; digest: Digest; failures: SourceFailure[] }
  | { outcome: 'aborted'; digest: Digest };

export type CopyOutcome = CopyResult['outcome'];

export interface ReplicateRequest {
  digest: Digest;
  /** The region that must end up holding the blob (the replicator's home region; any region for remove-region). */
  target: string;
  /** Delivery attempt, for the replication.done event. */
  attempt: number;
  /** Aborts the copy (shutdown); the result is then `aborted` and nothing is placed. */
  signal?: AbortSignal;
  /** Called as bytes stream (every 16 MiB): keeps the event's ack deadline alive. */
  onProgress?: (bytes: number) => void;
}

/**
 * Makes `target` hold the blob, idempotently (quay's storage replication, STYLE §4): already placed there → done;
 * otherwise copy from the regions holding it, nearest to the target first, verifying digest and size while
 * streaming and checking the object exists at the target before the placement is recorded. A corrupt source is
 * recorded as a replication failure and the next one is tried. The placement is written under the digest lock GC
 * takes too: if the blob row vanished meanwhile, the copied bytes are deleted under that same lock, so they can
 * never outlive their row (nor can a concurrent re-push's bytes be deleted, since it commits under the lock).
 */
export async function replicateBlob(deps: ReplicatorDeps, req: ReplicateRequest): Promise<CopyResult> {
  const result = await attempt(deps, req);
  deps.metrics?.copies.inc({ outcome: result.outcome });
  return result;
}

async function attempt(deps: ReplicatorDeps, req: ReplicateRequest): Promise<CopyResult> {
  const { db, log } = deps;
  const { digest, target } = req;
  const blob = await blobsDb.findBlob(db, digest);
  if (!blob) return { outcome: 'gone', digest };
  const placements = await placementsDb.placementsOf(db, digest);
  const here = placements.find((p) => p.region === target);
  if (here) {
    // A copy whose replication.done was lost (crash after the placement commit) is announced again; the message id
    // is the same, so one that did get out is deduplicated.
    if (here.copiedFrom) await announce(deps, req, { size: blob.size, source: here.copiedFrom, outcome: 'already-present', durationMs: 0 });
    return { outcome: 'already-present', digest };
  }
  const holders = new Map(placements.map((p) => [p.region, p.storageKey]));
  const sources = peersByDistance(deps.config.cluster, target).filter((r) => holders.has(r));
  if (sources.length === 0) return { outcome: 'no-source', digest };

  let targetStore: BlobStore;
  try {
    targetStore = await deps.stores.get(target);
  } catch (err) {
    return { outcome: 'unavailable', digest, failures: [{ region: target, kind: 'unavailable', error: message(err) }] };
  }
  const key = blobKey(digest);
  const failures: SourceFailure[] = [];
  for (const region of sources) {
    if (req.signal?.aborted) return { outcome: 'aborted', digest };
    const started = performance.now();
    deps.metrics?.inFlight.inc();
    try {
      const source = await deps.stores.get(region);
      await copyVerified(source, holders.get(region)!, targetStore, key, { digest, size: blob.size }, {
        ...(req.signal ? { signal: req.signal } : {}),
        onProgress: (n) => req.onProgress?.(n),
      });
    } catch (err) {
      if (req.signal?.aborted) return { outcome: 'aborted', digest };
      const kind = err instanceof CorruptSourceError || err instanceof NotFoundError ? 'corrupt' : 'unavailable';
      failures.push({ region, kind, error: message(err) });
      deps.metrics?.failures.inc({ kind });
      log.warn({ err, digest, source: region, target, kind }, 'copy from source region failed; trying the next one');
      await recordReplicationFailure(db, { digest, region: target, error: `${kind} source ${region}: ${message(err)}`, permanent: false })
        .catch((e: unknown) => log.warn({ err: e, digest }, 'could not record replication failure'));
      continue;
    } finally {
      deps.metrics?.inFlight.dec();
    }
    const recorded = await withTx(db, async (tx) => {
      await lockDigest(tx, digest);
      if (await recordReplicatedPlacement(tx, { digest, region: target, storageKey: key, copiedFrom: region })) return true;
      await targetStore.delete(key);
      return false;
    });
    if (!recorded) {
      log.info({ digest, target }, 'blob deleted while it was being copied; copy removed');
      return { outcome: 'gone', digest };
    }
    const durationMs = Math.round(performance.now() - started);
    deps.metrics?.bytesCopied.inc(blob.size);
    deps.metrics?.copyDuration.observe(durationMs / 1000);
    log.info({ digest, size: blob.size, source: region, target, durationMs }, 'blob replicated');
    await announce(deps, req, { size: blob.size, source: region, outcome: 'copied', durationMs });
    return { outcome: 'copied', digest, size: blob.size, source: region, durationMs };
  }
  // Every source failed. GC may have removed the blob under us (its bytes first seen missing): that is no failure.
  if (!(await blobsDb.findBlob(db, digest))) return { outcome: 'gone', digest };
  return failures.some((f) => f.kind === 'unavailable')
    ? { outcome: 'unavailable', digest, failures }
    : { outcome: 'corrupt', digest, failures };
}

async function announce(
  deps: ReplicatorDeps, req: ReplicateRequest,
  r: { size: number; source: string; outcome: 'copied' | 'already-present'; durationMs: number },
): Promise<void> {
  if (!deps.bus || r.source === req.target) return;
  await publishSafely(deps.bus, {
    type: 'wharf.replication.done.v1',
    data: {
      digest: req.digest, size: r.size, sourceRegion: r.source, targetRegion: req.target, outcome: r.outcome,
      durationMs: r.durationMs, attempt: Math.max(1, req.attempt),
    },
  }, deps.log);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
