import type { Deps } from '../deps.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import { BLOB_UNKNOWN, NAME_UNKNOWN } from '../../../../shared/errors/codes.js';
import { policyFor, requiredRegions, type ClusterConfig } from '../../../../shared/config/index.js';
import * as replicationDb from '../../../../shared/db/replication.js';
import * as reposDb from '../../../../shared/db/repositories.js';
import * as manifestsDb from '../../../../shared/db/manifests.js';
import type { Digest } from '../../../../shared/oci/digest.js';
import { getManifest, type Reference } from './manifests.js';

type BlobState = 'placed' | 'pending' | 'failed';

/** Lag percentiles and copy throughput are computed over this trailing window. */
export const STATUS_WINDOW_SECONDS = 900;

/** Per region: is the blob there, and if not, is a copy pending or failing. Regions that need not hold it say so. */
export async function blobStatus(deps: Deps, digest: Digest) {
  const row = await replicationDb.blobReplication(deps.db, digest);
  if (!row) throw new WharfError(BLOB_UNKNOWN, { detail: { digest } });
  const required = new Set(row.repositories.flatMap((repo) => requiredRegions(deps.config.cluster, repo)));
  const regions: Record<string, object> = {};
  for (const { name } of deps.config.cluster.regions) {
    const placed = row.placements.find((p) => p.region === name);
    const failure = row.failures.find((f) => f.region === name);
    const state: BlobState = placed ? 'placed' : failure ? 'failed' : 'pending';
    if (!placed && !required.has(name)) {
      regions[name] = { state: 'not-required' };
      continue;
    }
    regions[name] = {
      state,
      required: required.has(name),
      ...(placed ? { verifiedAt: placed.verifiedAt, copiedFrom: placed.copiedFrom, lagMs: placed.lagMs } : {}),
      ...(failure && !placed ? {
        attempts: failure.attempts, lastError: failure.lastError, permanent: failure.permanent, lastAttemptAt: failure.lastAttemptAt,
      } : {}),
    };
  }
  return { digest: row.digest, size: row.size, committedAt: row.createdAt, repositories: row.repositories, regions };
}

/**
 * Is an image complete in each region? Every blob of the manifest (for an index, of each child manifest too) with,
 * per region, `complete` and the digests still missing there.
 */
export async function manifestStatus(deps: Deps, repoName: string, ref: Reference) {
  const repo = await reposDb.findRepository(deps.db, repoName);
  if (!repo) throw new WharfError(NAME_UNKNOWN, { detail: { name: repoName } });
  const root = await getManifest(deps, repoName, ref, false);
  const blobs = new Map<string, number>();
  const seen = new Set<string>();
  const walk = async (digest: string): Promise<void> => {
    if (seen.has(digest)) return;
    seen.add(digest);
    for (const r of await manifestsDb.referencesOf(deps.db, repo.id, digest)) {
      if (r.kind === 'blob') blobs.set(r.digest, r.size);
      else await walk(r.digest);
    }
  };
  await walk(root.digest);
  const { rows } = await deps.db.query<{ digest: string; region: string }>(
    'SELECT digest, region FROM blob_placements WHERE digest = ANY($1::text[])', [[...blobs.keys()]]);
  const required = new Set(requiredRegions(deps.config.cluster, repoName));
  const regions: Record<string, object> = {};
  for (const { name } of deps.config.cluster.regions) {
    const missing = [...blobs.keys()].filter((d) => !rows.some((p) => p.digest === d && p.region === name));
    regions[name] = {
      required: required.has(name),
      complete: missing.length === 0,
      missing,
      missingBytes: missing.reduce((n, d) => n + (blobs.get(d) ?? 0), 0),
    };
  }
  return {
    repository: repoName, digest: root.digest, ...(ref.kind === 'tag' ? { tag: ref.tag } : {}),
    blobs: blobs.size, bytes: [...blobs.values()].reduce((a, b) => a + b, 0), regions,
  };
}

/** Per required region: how much of the repository is still missing there. */
export async function repositoryStatus(deps: Deps, repoName: string) {
  if (!(await reposDb.findRepository(deps.db, repoName))) throw new WharfError(NAME_UNKNOWN, { detail: { name: repoName } });
  const regions: Record<string, object> = {};
  for (const region of requiredRegions(deps.config.cluster, repoName)) {
    regions[region] = await backlogOf(deps, region, repoName);
  }
  return { repository: repoName, policy: policyFor(deps.config.cluster, repoName), regions };
}

/** The cluster summary: every region's holdings, backlog, failures, lag and copy throughput. */
export async function clusterStatus(deps: Deps) {
  const stats = new Map((await replicationDb.regionStats(deps.db, STATUS_WINDOW_SECONDS)).map((s) => [s.region, s]));
  const unhealthy = deps.regionHealth.snapshot();
  const regions = [];
  for (const r of deps.config.cluster.regions) {
    const s = stats.get(r.name);
    regions.push({
      region: r.name,
      endpoint: r.endpoint,
      storeReachableFromHere: !(r.name in unhealthy),
      placed: { blobs: s?.placedBlobs ?? 0, bytes: s?.placedBytes ?? 0 },
      backlog: await backlogOf(deps, r.name),
      failedBlobs: s?.failedBlobs ?? 0,
      lag: { windowSeconds: STATUS_WINDOW_SECONDS, p50Ms: s?.lagP50Ms ?? null, p99Ms: s?.lagP99Ms ?? null },
      copied: {
        windowSeconds: STATUS_WINDOW_SECONDS, blobs: s?.copiedBlobs ?? 0, bytes: s?.copiedBytes ?? 0,
        bytesPerSecond: Math.round((s?.copiedBytes ?? 0) / STATUS_WINDOW_SECONDS),
      },
    });
  }
  const inSync = regions.every((r) => r.backlog.blobs === 0);
  return { region: deps.region, inSync, regions };
}

async function backlogOf(deps: Deps, region: string, repository?: string) {
  const b = await replicationDb.backlog(deps.db, region, scopeOf(deps.config.cluster, region), repository);
  return {
    blobs: b.blobs,
    bytes: b.bytes,
    oldestPendingAgeSeconds: b.oldestCreatedAt ? Math.max(0, Math.round((Date.now() - new Date(b.oldestCreatedAt).getTime()) / 1000)) : 0,
  };
}

export function scopeOf(cluster: ClusterConfig, region: string): replicationDb.RegionScope {
  const wants = (regions: string[] | 'all') => regions === 'all' || regions.includes(region);
  const ns = Object.entries(cluster.replication.namespaces);
  return {
    byDefault: wants(cluster.replication.default.regions),
    included: ns.filter(([, p]) => wants(p.regions)).map(([n]) => n),
    excluded: ns.filter(([, p]) => !wants(p.regions)).map(([n]) => n),
  };
}

