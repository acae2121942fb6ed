import { peersByDistance, requiredRegions } from '../../../shared/config/index.js';
import { lockDigest, withTx } from '../../../shared/db/pool.js';
import * as placementsDb from '../../../shared/db/placements.js';
import { blobReplication } from '../../../shared/db/replication.js';
import type { Digest } from '../../../shared/oci/digest.js';
import type { BlobStore } from '../../../shared/storage/driver.js';
import type { ReplicatorDeps } from './deps.js';
import { mapLimit } from './map-limit.js';
import { anyPolicyRequires } from './reconcile.js';
import { replicateBlob } from './replicate.js';

export class RemoveRegionRefusedError extends Error {
  override readonly name = 'RemoveRegionRefusedError';
}

export interface RemoveRegionReport {
  region: string;
  /** Blobs that were placed in the region. */
  blobs: number;
  /** Copies made into other regions before the region's placements were dropped. */
  copied: number;
  /** Placement rows of the region deleted. */
  removed: number;
  /** Objects deleted from the region's store (with deleteBytes). */
  bytesDeleted: number;
  /** Blobs deleted (by GC) while draining: nothing to keep. */
  gone: number;
  /** Blobs kept in the region because they could not be placed elsewhere; run again once that is fixed. */
  failed: { digest: string; error: string }[];
}

/**
 * Drains a region safely: every blob placed there is first made present in every other region its repositories
 * require (a blob no policy keeps elsewhere, and held nowhere else, goes to the nearest other region), copying from
 * the drained region or another holder with the replicator's verified copy; only then is the region's placement
 * deleted (and with `deleteBytes` its object), under the digest lock. A blob that cannot be placed elsewhere keeps
 * its placement and is reported. Refuses while a replication policy still lists the region, unless `force`: the
 * replicators would only copy everything back.
 */
export async function removeRegion(
  deps: ReplicatorDeps, opts: { region: string; force: boolean; deleteBytes: boolean; concurrency: number },
): Promise<RemoveRegionReport> {
  const { region } = opts;
  const cluster = deps.config.cluster;
  const inCluster = cluster.regions.some((r) => r.name === region);
  if (!opts.force && inCluster && anyPolicyRequires(cluster, region)) {
    throw new RemoveRegionRefusedError(
      `region ${region} is still required by the replication policy (cluster.replication); remove it from the policy first, or pass --force`,
    );
  }
  if (opts.deleteBytes && !inCluster) throw new RemoveRegionRefusedError(`region ${region} is not in the cluster config: its store cannot be opened to delete bytes`);
  const others = cluster.regions.map((r) => r.name).filter((r) => r !== region);
  const nearest = peersByDistance(cluster, region).filter((r) => others.includes(r));
  const store: BlobStore | undefined = opts.deleteBytes ? await deps.stores.get(region) : undefined;
  const report: RemoveRegionReport = { region, blobs: 0, copied: 0, removed: 0, bytesDeleted: 0, gone: 0, failed: [] };

  const drainOne = async (p: { digest: string; storageKey: string }): Promise<void> => {
    const digest = p.digest as Digest;
    const info = await blobReplication(deps.db, digest);
    if (!info) {
      report.gone++;
      return;
    }
    const required = new Set(info.repositories.flatMap((repo) => requiredRegions(cluster, repo)).filter((r) => others.includes(r)));
    const elsewhere = new Set(info.placements.map((x) => x.region).filter((r) => others.includes(r)));
    if (required.size === 0 && elsewhere.size === 0) {
      if (!nearest[0]) {
        report.failed.push({ digest, error: 'no other region in the cluster to hold it' });
        return;
      }
      required.add(nearest[0]);
    }
    for (const target of required) {
      if (elsewhere.has(target)) continue;
      const r = await replicateBlob(deps, { digest, target, attempt: 1 });
      if (r.outcome === 'copied') report.copied++;
      else if (r.outcome === 'gone') {
        report.gone++;
        return;
      } else if (r.outcome !== 'already-present') {
        const detail = 'failures' in r ? `: ${r.failures.map((f) => `${f.region}: ${f.error}`).join('; ')}` : '';
        report.failed.push({ digest, error: `copy to ${target}: ${r.outcome}${detail}` });
        return;
      }
    }
    await withTx(deps.db, async (tx) => {
      await lockDigest(tx, digest);
      const now = new Set((await placementsDb.placementsOf(tx, digest)).map((x) => x.region));
      if (![...required].every((t) => now.has(t)) || !others.some((t) => now.has(t))) {
        report.failed.push({ digest, error: 'a copy elsewhere disappeared while draining; kept' });
        return;
      }
      if (await placementsDb.deletePlacement(tx, digest, region)) report.removed++;
      if (store) {
        await store.delete(p.storageKey);
        report.bytesDeleted++;
      }
    });
  };

  let after: string | undefined;
  for (;;) {
    const page = await placementsDb.placementsInRegion(deps.db, region, { limit: 200, ...(after ? { after } : {}) });
    if (page.length === 0) break;
    after = page.at(-1)!.digest;
    report.blobs += page.length;
    await mapLimit(page, opts.concurrency, async (p) => {
      try {
        await drainOne(p);
      } catch (err) {
        report.failed.push({ digest: p.digest, error: (err as Error).message });
      }
    });
  }
  deps.log.info({ ...report, failed: report.failed.length }, 'region drained');
  return report;
}
