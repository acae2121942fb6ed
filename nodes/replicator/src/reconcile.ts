import { peersByDistance, requiredRegions, type ClusterConfig } from '../../../shared/config/index.js';
import * as placementsDb from '../../../shared/db/placements.js';
import { listRepositoryNames } from '../../../shared/db/repositories.js';
import { missingIn } from '../../../shared/db/replication.js';
import { publishSafely } from '../../../shared/events/index.js';
import type { Digest } from '../../../shared/oci/digest.js';
import type { RepoName } from '../../../shared/oci/reference.js';
import type { ReplicatorDeps } from './deps.js';

export interface ReconcileReport {
  region: string;
  /** Blobs of repositories replicated to the region that it does not hold (at most `limit`). */
  missing: number;
  /** Re-announcements published (blob.written naming a region that holds the blob). */
  requeued: number;
  /** Publishes that failed after retries. */
  failed: number;
  /** True when `missing` hit the limit: run again after the replicator caught up. */
  truncated: boolean;
}

/**
 * Makes up for lost events (STYLE §7.3: publishing follows the commit and may be lost): for each region, the blobs
 * its policy requires that it does not hold are announced again as written in the nearest region holding them, so
 * the region's replicator copies them. The re-announcement carries its own upload id (`reconcile-<run>`), so
 * the duplicate window does not drop it; repeated runs re-announce (and the replicator finds them already present).
 */
export async function reconcile(
  deps: ReplicatorDeps, opts: { regions: string[]; limit: number; runId: string },
): Promise<ReconcileReport[]> {
  const bus = deps.bus;
  if (!bus) throw new Error('reconcile publishes events: nats.url must be set');
  const reports: ReconcileReport[] = [];
  for (const region of opts.regions) {
    const report: ReconcileReport = { region, missing: 0, requeued: 0, failed: 0, truncated: false };
    reports.push(report);
    const repositories = await repositoriesRequiring(deps, region);
    if (repositories !== null && repositories.length === 0) continue;
    const rows = await missingIn(deps.db, region, repositories, opts.limit);
    report.missing = rows.length;
    report.truncated = rows.length >= opts.limit;
    const nearest = peersByDistance(deps.config.cluster, region);
    for (const row of rows) {
      const placements = await placementsDb.placementsOf(deps.db, row.digest);
      const holder = nearest.map((r) => placements.find((p) => p.region === r)).find((p) => p !== undefined);
      if (!holder) continue; // placed only in regions the cluster no longer lists
      const ok = await publishSafely(bus, {
        type: 'wharf.blob.written.v1',
        data: {
          region: holder.region, digest: row.digest as Digest, size: row.size, repository: row.repository as RepoName,
          storageKey: holder.storageKey, uploadId: `reconcile-${opts.runId}`,
        },
      }, deps.log);
      if (ok) report.requeued++;
      else report.failed++;
    }
    deps.log.info(report, 'reconciled region');
  }
  return reports;
}

/**
 * Repositories whose policy lists `region`; null when every policy does (then every repository counts, also
 * those with blobs but no manifest yet). Otherwise repositories holding a manifest, by name.
 */
export async function repositoriesRequiring(deps: ReplicatorDeps, region: string): Promise<string[] | null> {
  const cluster = deps.config.cluster;
  if (everyPolicyRequires(cluster, region)) return null;
  const out: string[] = [];
  let last: string | undefined;
  for (;;) {
    const page = await listRepositoryNames(deps.db, { limit: 1000, ...(last ? { last } : {}) });
    for (const name of page) if (requiredRegions(cluster, name).includes(region)) out.push(name);
    if (page.length < 1000) return out;
    last = page.at(-1);
  }
}

function everyPolicyRequires(cluster: ClusterConfig, region: string): boolean {
  const all = cluster.regions.map((r) => r.name);
  const lists = [cluster.replication.default, ...Object.values(cluster.replication.namespaces)].map((p) => (p.regions === 'all' ? all : p.regions));
  return lists.every((l) => l.includes(region));
}

/** Whether any replication policy (default or a namespace's) lists the region. */
export function anyPolicyRequires(cluster: ClusterConfig, region: string): boolean {
  const all = cluster.regions.map((r) => r.name);
  return [cluster.replication.default, ...Object.values(cluster.replication.namespaces)]
    .some((p) => (p.regions === 'all' ? all : p.regions).includes(region));
}
