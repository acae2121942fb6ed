/**
 * Region outage: mixed load from clients of every region; after a warm-up every process of one region (its
 * registry nodes, its replicator, its object store) is killed with SIGKILL while the load goes on; then the
 * region is started again as geo:up started it, the load stops, and the drill waits until the replication status
 * API says the region holds everything it must (backlog 0). Finally every acknowledged push is read back through
 * the front as a client of every region.
 *
 * Timeline over `durationS` of load: 30 % warm-up, 50 % outage, the restart, 20 % load after the restart.
 */
import { randomBytes } from 'node:crypto';
import { killHard, regionProcesses, restartRegion } from '../local/restart.js';
import { sleep } from '../local/processes.js';
import type { GeoState } from '../local/state.js';
import { clientsOf, pollUntil, regionStatus, blobStatus, placedEverywhere } from './cluster.js';
import { Load, pool, readBlob } from './load.js';
import { failureSample, iso, loadStats, recoverySeconds, secs, summary, type LoadStats } from './report.js';

export interface RegionOutageOptions {
  region: string;
  /** Load in namespace prod (syncRegions 2) instead of the default (asynchronous) one. */
  sync?: boolean;
  /** Seconds of load in all; default 30. */
  durationS?: number;
  /** Bound on the wait for the region to catch up; default 120 s. */
  catchUpTimeoutS?: number;
  workersPerRegion?: number;
  log?: (line: string) => void;
}

export interface RegionOutageReport extends LoadStats {
  drill: 'region-outage';
  region: string;
  sync: boolean;
  repo: string;
  killed: string[];
  started_at: string | null;
  killed_at: string | null;
  restored_at: string | null;
  load_stopped_at: string | null;
  caught_up_at: string | null;
  finished_at: string | null;
  failed_pushes_after_kill: number;
  failed_pulls_after_kill: number;
  push_recovery_s: number | null;
  pull_recovery_s: number | null;
  /** Restarting the region's store and processes until every one is ready. */
  restore_s: number;
  /** From the region's processes being ready again until its replication backlog is 0 (load stopped). */
  catch_up_s: number | null;
  acknowledged_pushes: number;
  /** Acknowledged blobs no region's client could read back with the right bytes. */
  acknowledged_pushes_lost: number;
  /** (blob, client region) reads in the final check that failed although the blob was readable elsewhere. */
  final_reads_failed: number;
  final_reads: number;
  /** Acknowledged blobs not placed and verified in every region after the catch-up. */
  not_placed_everywhere: number | null;
  failures: ReturnType<typeof failureSample>;
}

export async function regionOutage(state: GeoState, opts: RegionOutageOptions): Promise<RegionOutageReport> {
  const log = opts.log ?? (() => undefined);
  const region = opts.region;
  if (!state.regions.some((r) => r.name === region)) throw new Error(`unknown region "${region}" (regions: ${state.regions.map((r) => r.name).join(', ')})`);
  const durationMs = (opts.durationS ?? 30) * 1000;
  const repo = `${opts.sync ? 'prod' : 'drill'}/outage-${region}-${randomBytes(3).toString('hex')}`;
  const front = state.front!.url;
  const other = state.regions.find((r) => r.name !== region)!.clientAddress;
  const load = new Load({ front, clients: clientsOf(state), repo, workersPerRegion: opts.workersPerRegion ?? 2 });

  log(`load on ${repo} (${opts.sync ? 'synchronous: syncRegions 2' : 'asynchronous'} replication) from clients of ${state.regions.map((r) => r.name).join(', ')}`);
  load.start();
  await sleep(durationMs * 0.3);
  const victims = regionProcesses(state, region);
  log(`kill -9 ${victims.map((v) => `${v.name} (${v.pid})`).join(', ')}`);
  const killedAt = Date.now();
  // Nodes first (clients lose them as in a real outage), then the replicator and the store.
  for (const v of victims) await killHard(v);
  await sleep(durationMs * 0.5);
  log(`restarting ${region}`);
  const restoreStart = Date.now();
  let restoredAt: number;
  try {
    await restartRegion(state, region, victims);
    restoredAt = Date.now();
  } catch (err) {
    await load.stop();
    throw err;
  }
  log(`${region} is back after ${secs(restoredAt - restoreStart)} s; load goes on`);
  await sleep(durationMs * 0.2);
  await load.stop();
  log(`load stopped: ${load.outcomes.length} requests, ${load.acked.length} acknowledged pushes; waiting for ${region} to catch up`);

  const caughtUpAt = await pollUntil((opts.catchUpTimeoutS ?? 120) * 1000, async () => {
    const s = await regionStatus(state, region, other);
    return s.backlog.blobs === 0;
  }, 250);

  log(`reading back ${load.acked.length} acknowledged blobs as a client of every region`);
  let lost = 0;
  let failedReads = 0;
  await pool(load.acked, 8, async (blob) => {
    let readable = false;
    for (const r of state.regions) {
      const res = await readBlob(front, r.clientAddress, blob);
      if (res.ok) readable = true;
      else failedReads++;
    }
    if (!readable) lost++;
  });
  let notPlaced: number | null = null;
  if (caughtUpAt !== null) {
    notPlaced = 0;
    await pool(load.acked, 8, async (blob) => {
      const ok = await blobStatus(state, blob.digest, other).then(placedEverywhere, () => false);
      if (!ok) notPlaced!++;
    });
  }
  const after = load.outcomes.filter((o) => o.end >= killedAt && !o.ok);
  return {
    drill: 'region-outage',
    region,
    sync: opts.sync ?? false,
    repo,
    killed: victims.map((v) => v.name),
    ...loadStats(load.outcomes),
    failed_pushes_after_kill: after.filter((o) => o.op === 'push').length,
    failed_pulls_after_kill: after.filter((o) => o.op === 'pull').length,
    push_recovery_s: recoverySeconds(load.outcomes, 'push', killedAt),
    pull_recovery_s: recoverySeconds(load.outcomes, 'pull', killedAt),
    restore_s: secs(restoredAt - restoreStart),
    catch_up_s: caughtUpAt === null ? null : secs(caughtUpAt - restoredAt),
    acknowledged_pushes: load.acked.length,
    acknowledged_pushes_lost: lost,
    final_reads: load.acked.length * state.regions.length,
    final_reads_failed: failedReads,
    not_placed_everywhere: notPlaced,
    started_at: iso(load.startedAt),
    killed_at: iso(killedAt),
    restored_at: iso(restoredAt),
    load_stopped_at: iso(load.stoppedAt),
    caught_up_at: iso(caughtUpAt),
    finished_at: iso(Date.now()),
    failures: failureSample(load.outcomes),
  };
}

export function describeRegionOutage(r: RegionOutageReport): string {
  return summary(`region outage drill: ${r.region} (${r.sync ? 'sync, syncRegions 2' : 'async'}), repo ${r.repo}`, [
    ['killed', r.killed.join(', ')],
    ['requests', `${r.requests} (${r.pushes} pushes, ${r.pulls} pulls)`],
    ['failed pushes', `${r.failed_pushes} (${r.failed_pushes_after_kill} after the kill; not acknowledged, clients retry)`],
    ['failed pulls', `${r.failed_pulls} (${r.failed_pulls_after_kill} after the kill)`],
    ['served by another region', r.served_elsewhere],
    ['push recovery', r.push_recovery_s === null ? 'never' : `${r.push_recovery_s} s`],
    ['pull recovery', r.pull_recovery_s === null ? 'never' : `${r.pull_recovery_s} s`],
    ['restore', `${r.restore_s} s`],
    ['catch-up', r.catch_up_s === null ? 'NOT caught up' : `${r.catch_up_s} s (backlog 0)`],
    ['acknowledged pushes', r.acknowledged_pushes],
    ['acknowledged pushes lost', r.acknowledged_pushes_lost],
    ['final reads failed', `${r.final_reads_failed} of ${r.final_reads}`],
    ['not placed everywhere', r.not_placed_everywhere],
    ...r.failures.slice(0, 5).map((f, i): [string, unknown] => [`failure ${i + 1}`, `${f.at} ${f.op} by ${f.region}: ${f.status}${f.served ? ` (served by ${f.served})` : ''} ${f.error ?? ''}`]),
  ]);
}
