/**
 * Replicator crash: a few small blobs, then a big one (64 MiB), are pushed by a client of `from`; as soon as the
 * replicator of `region` is copying (its wharf_replication_copies_in_flight gauge > 0) it is killed with SIGKILL,
 * then started again. JetStream redelivers the unacknowledged event after replicator.ackWaitSeconds; the drill
 * waits until the replication status API shows every blob placed and verified in every region, and reads each
 * back from every region.
 */
import { randomBytes } from 'node:crypto';
import { request } from '../local/http-request.js';
import { killHard, restartNode } from '../local/restart.js';
import type { GeoState } from '../local/state.js';
import { blobStatus, placedEverywhere, pollUntil, regionStatus } from './cluster.js';
import { pool, readBlob, sha256, type AckedPush } from './load.js';
import { iso, secs, summary } from './report.js';
import { createHash } from 'node:crypto';

export interface ReplicatorCrashOptions {
  /** Region whose replicator is killed; default eu-west. */
  region?: string;
  /** Region whose client pushes; default the first other region. */
  from?: string;
  sizeMiB?: number;
  /** Bound on the wait for every blob to be placed; default 240 s (redelivery waits for ackWaitSeconds, 60 s). */
  timeoutS?: number;
  log?: (line: string) => void;
}

export interface ReplicatorCrashReport {
  drill: 'replicator-crash';
  region: string;
  from: string;
  repo: string;
  big_blob: { digest: string; bytes: number };
  blobs: number;
  /** Whether the kill happened while the replicator reported a copy in flight. */
  killed_mid_copy: boolean;
  /** The big blob's state in the region just before the kill (pending: the copy had not finished). */
  big_blob_state_at_kill: string | null;
  pushed_at: string | null;
  killed_at: string | null;
  restarted_at: string | null;
  placed_at: string | null;
  /** From the restart until every blob is placed and verified in every region. */
  placed_after_restart_s: number | null;
  all_placed_and_verified: boolean;
  blobs_readable: boolean;
  region_backlog_blobs: number | null;
  region_failed_blobs: number | null;
}

export async function replicatorCrash(state: GeoState, opts: ReplicatorCrashOptions = {}): Promise<ReplicatorCrashReport> {
  const log = opts.log ?? (() => undefined);
  const region = opts.region ?? 'eu-west';
  const target = state.regions.find((r) => r.name === region);
  if (!target?.replicator) throw new Error(`region ${region} has no replicator in the geo state`);
  const from = state.regions.find((r) => r.name === (opts.from ?? state.regions.find((x) => x.name !== region)!.name));
  if (!from || from.name === region) throw new Error('--from must name another region');
  const victim = state.processes.find((p) => p.name.startsWith(`replicator-${region}-`))!;
  const front = state.front!.url;
  const repo = `drill/crash-${randomBytes(3).toString('hex')}`;
  const push = async (data: Buffer): Promise<AckedPush> => {
    const digest = sha256(data);
    const r = await request(`${front}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      method: 'POST', body: data, headers: { 'Content-Type': 'application/octet-stream' }, localAddress: from.clientAddress, timeoutMs: 120_000,
    });
    if (r.status !== 201) throw new Error(`push of ${data.length} bytes: ${r.status} ${r.text().slice(0, 200)}`);
    return { digest, bytesHash: createHash('sha256').update(data).digest('base64'), size: data.length, repo, region: from.name, at: Date.now() };
  };

  const size = Math.round((opts.sizeMiB ?? 64) * 1024 * 1024);
  log(`pushing 4 small blobs as a ${from.name} client, and once they are everywhere a ${size} byte one`);
  const small = await Promise.all([1, 2, 3, 4].map(() => push(randomBytes(32 * 1024))));
  await pollUntil(30_000, async () => {
    for (const b of small) if (!placedEverywhere(await blobStatus(state, b.digest, from.clientAddress))) return false;
    return true;
  });
  // Watch the replicator from before the push: the copy may start as soon as the upload is committed.
  let inFlight = false;
  let watching = true;
  const watch = (async () => {
    while (watching && !inFlight) {
      try {
        const m = await (await fetch(`${target.replicator}/metrics`, { signal: AbortSignal.timeout(1000) })).text();
        inFlight = /^wharf_replication_copies_in_flight(\{[^}]*\})? [1-9]/m.test(m);
      } catch {
        // ignore
      }
      if (!inFlight) await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const blobs = [await push(randomBytes(size)), ...small];
  const pushedAt = Date.now();
  const seen = await pollUntil(30_000, async () => inFlight, 20);
  watching = false;
  await watch;
  const atKill = await blobStatus(state, blobs[0]!.digest, from.clientAddress).then((st) => st.regions[region]?.state ?? null, () => null);
  const killedAt = Date.now();
  log(`kill -9 ${victim.name} (${victim.pid})${seen ? ' while it copies' : ' (no copy seen in flight)'}`);
  await killHard(victim);
  await new Promise((r) => setTimeout(r, 1000));
  await restartNode(state, victim.name);
  const restartedAt = Date.now();
  log(`${victim.name} restarted; waiting until every blob is placed and verified everywhere`);
  const other = from.clientAddress;
  const placedAt = await pollUntil((opts.timeoutS ?? 240) * 1000, async () => {
    for (const b of blobs) if (!placedEverywhere(await blobStatus(state, b.digest, other))) return false;
    return true;
  }, 500);
  let readable = true;
  await pool(blobs, 4, async (b) => {
    for (const r of state.regions) if (!(await readBlob(front, r.clientAddress, b, 120_000)).ok) readable = false;
  });
  const status = await regionStatus(state, region, other).catch(() => null);
  return {
    drill: 'replicator-crash',
    region,
    from: from.name,
    repo,
    big_blob: { digest: blobs[0]!.digest, bytes: size },
    blobs: blobs.length,
    killed_mid_copy: seen !== null && atKill !== 'placed',
    big_blob_state_at_kill: atKill,
    pushed_at: iso(pushedAt),
    killed_at: iso(killedAt),
    restarted_at: iso(restartedAt),
    placed_at: iso(placedAt),
    placed_after_restart_s: placedAt === null ? null : secs(placedAt - restartedAt),
    all_placed_and_verified: placedAt !== null,
    blobs_readable: readable,
    region_backlog_blobs: status?.backlog.blobs ?? null,
    region_failed_blobs: status?.failedBlobs ?? null,
  };
}

export function describeReplicatorCrash(r: ReplicatorCrashReport): string {
  return summary(`replicator crash drill: replicator of ${r.region}, blobs pushed in ${r.from}, repo ${r.repo}`, [
    ['big blob', `${r.big_blob.digest} (${r.big_blob.bytes} bytes), ${r.blobs} blobs in all`],
    ['killed mid-copy', r.killed_mid_copy],
    ['placed + verified everywhere', r.all_placed_and_verified ? `yes, ${r.placed_after_restart_s} s after the restart` : 'NO'],
    ['readable from every region', r.blobs_readable],
    [`${r.region} backlog / failed`, `${r.region_backlog_blobs} / ${r.region_failed_blobs}`],
  ]);
}
