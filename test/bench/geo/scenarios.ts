// The three geo measurements: replication lag under a sustained push rate, cross-region cold pull vs local pull,
// and catch-up throughput after a replicator outage.
import { sleep } from '../../../deploy/local/processes.js';
import { MiB, type BlobSpec } from '../data.js';
import type { BenchCluster } from './cluster.js';
import { signalGroup } from './cluster.js';
import { blobStatus, percentile, pullBlob, pushBlob, regionStatus, type Pushed } from './ops.js';

export const HOME = 'us-east';
export const TARGETS = ['eu-west', 'ap-south'] as const;
/** The region whose replicator is paused for the cold pull and the outage. */
export const PAUSED = 'eu-west';

export interface Ctx {
  cluster: BenchCluster;
  log: (line: string) => void;
  /** Distinct per run, so no push is ever "already exists" on a reused cluster. */
  seedBase: number;
  repo: string;
}

let seq = 0;
const nextSpec = (ctx: Ctx, size: number): BlobSpec => ({ size, seed: ctx.seedBase + seq++ });

// ---- 1. replication lag --------------------------------------------------------------------------------------

export interface LagResult {
  size: number;
  ratePerSecond: number;
  seconds: number;
  pushed: number;
  pushErrors: string[];
  /** Pushes per second actually started, and how late the latest start was against its schedule. */
  achievedRate: number;
  maxStartDelayMs: number;
  pushMsP50: number | null;
  /** Per target region: lag (verified_at − commit) percentiles over the blobs, and blobs never placed in time. */
  regions: Record<string, { placed: number; notPlaced: number; p50Ms: number | null; p99Ms: number | null; maxMs: number | null; lagsMs: number[] }>;
  /** Digests placed per target region. */
  placedDigests: Record<string, string[]>;
}

/**
 * Pushes `size`-byte blobs as a us-east client at `rate` per second for `seconds` (open loop: a push starts on
 * schedule unless `maxInFlight` are already running), then waits until every blob is placed in every target
 * region and reads each one's lag from GET /api/v1/replication/blobs/<digest>.
 */
export async function replicationLag(ctx: Ctx, opts: { size: number; rate: number; seconds: number; maxInFlight: number; settleMs: number }): Promise<LagResult> {
  const base = ctx.cluster.regionUrl(HOME);
  const total = Math.max(1, Math.round(opts.rate * opts.seconds));
  const interval = 1000 / opts.rate;
  const pushes: Promise<Pushed | null>[] = [];
  const errors: string[] = [];
  let inFlight = 0;
  let maxDelay = 0;
  const t0 = Date.now();
  ctx.log(`lag: ${total} pushes of ${opts.size / MiB} MiB at ${opts.rate}/s as a ${HOME} client`);
  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval;
    if (due > Date.now()) await sleep(due - Date.now());
    while (inFlight >= opts.maxInFlight) await sleep(5);
    maxDelay = Math.max(maxDelay, Date.now() - due);
    inFlight++;
    const spec = nextSpec(ctx, opts.size);
    pushes.push(
      pushBlob(base, ctx.repo, spec)
        .catch((err: Error) => {
          errors.push(err.message);
          return null;
        })
        .finally(() => inFlight--),
    );
  }
  const startedFor = (Date.now() - t0) / 1000;
  const done = (await Promise.all(pushes)).filter((p): p is Pushed => p !== null);
  ctx.log(`lag: ${done.length} pushed (${errors.length} failed) in ${((Date.now() - t0) / 1000).toFixed(1)} s; waiting for replication`);

  // Wait until each blob is placed in every target region (or the settle time runs out), then read the lags.
  const deadline = Date.now() + opts.settleMs;
  const lags: Record<string, Map<string, number>> = Object.fromEntries(TARGETS.map((r) => [r, new Map<string, number>()]));
  let pending = done;
  while (pending.length > 0 && Date.now() < deadline) {
    const next: Pushed[] = [];
    for (const p of pending) {
      const s = await blobStatus(base, p.digest);
      let complete = true;
      for (const r of TARGETS) {
        const st = s.regions[r];
        if (st?.state === 'placed' && typeof st.lagMs === 'number') lags[r]!.set(p.digest, st.lagMs);
        else complete = false;
      }
      if (!complete) next.push(p);
    }
    pending = next;
    if (pending.length > 0) await sleep(250);
  }
  const regions: LagResult['regions'] = {};
  for (const r of TARGETS) {
    const xs = [...lags[r]!.values()];
    regions[r] = { placed: xs.length, notPlaced: done.length - xs.length, p50Ms: percentile(xs, 50), p99Ms: percentile(xs, 99), maxMs: percentile(xs, 100), lagsMs: xs };
  }
  return {
    size: opts.size,
    ratePerSecond: opts.rate,
    seconds: opts.seconds,
    pushed: done.length,
    pushErrors: errors.slice(0, 5),
    achievedRate: total / Math.max(startedFor, interval / 1000),
    maxStartDelayMs: maxDelay,
    pushMsP50: percentile(done.map((p) => p.doneAt - p.startedAt), 50),
    regions,
    placedDigests: Object.fromEntries(TARGETS.map((r) => [r, [...lags[r]!.keys()]])),
  };
}

// ---- 2. cold pull vs local pull ------------------------------------------------------------------------------

export interface PullRow {
  what: string;
  client: string;
  servedRegion: string | undefined;
  /** Region whose store held the bytes. */
  storeRegion: string;
  size: number;
  runs: number;
  mibPerSecond: number[];
  medianMiBps: number | null;
}

/**
 * With eu-west's replicator paused (SIGSTOP), pushes a blob as a us-east client, checks it is not placed in
 * eu-west, and pulls it as an eu-west client (remote-region read from us-east's store); then pulls, as an eu-west
 * client, a blob of the same size placed in eu-west (local read), and the cold blob as a us-east client (local
 * read from its home store). The replicator stays paused when this returns (the outage scenario follows).
 */
export async function coldPull(ctx: Ctx, opts: { size: number; reps: number; local: { digest: string } }): Promise<PullRow[]> {
  const { cluster, log } = ctx;
  const us = cluster.regionUrl(HOME);
  const eu = cluster.regionUrl(PAUSED);
  signalGroup(cluster.replicatorPid(PAUSED), 'SIGSTOP');
  log(`cold pull: ${PAUSED} replicator paused (SIGSTOP ${cluster.replicatorPid(PAUSED)})`);
  const cold = await pushBlob(us, ctx.repo, nextSpec(ctx, opts.size));
  const st = await blobStatus(us, cold.digest);
  if (st.regions[PAUSED]?.state === 'placed') throw new Error(`cold pull: ${cold.digest} is already placed in ${PAUSED} (is its replicator paused?)`);
  const rows: PullRow[] = [];
  const measure = async (what: string, client: string, base: string, digest: string, storeRegion: string): Promise<void> => {
    const speeds: number[] = [];
    let served: string | undefined;
    for (let i = 0; i < opts.reps; i++) {
      const p = await pullBlob(base, ctx.repo, digest, opts.size);
      served = p.servedRegion;
      speeds.push(p.bytes / MiB / (p.ms / 1000));
    }
    const sorted = [...speeds].sort((a, b) => a - b);
    rows.push({ what, client, servedRegion: served, storeRegion, size: opts.size, runs: speeds.length, mibPerSecond: speeds, medianMiBps: percentile(sorted, 50) });
    log(`pull: ${what}: ${speeds.map((s) => s.toFixed(0)).join(', ')} MiB/s`);
  };
  await measure(`cold: not in ${PAUSED}, read from ${HOME}`, PAUSED, eu, cold.digest, HOME);
  const still = await blobStatus(us, cold.digest);
  if (still.regions[PAUSED]?.state === 'placed') log(`warning: ${cold.digest} became placed in ${PAUSED} during the cold pulls`);
  await measure(`local: placed in ${PAUSED}`, PAUSED, eu, opts.local.digest, PAUSED);
  await measure(`local: placed in ${HOME}`, HOME, us, cold.digest, HOME);
  return rows;
}

// ---- 3. catch-up after an outage -----------------------------------------------------------------------------

export interface CatchUpResult {
  region: string;
  pushedBytes: number;
  pushedBlobs: number;
  backlogAtResume: { blobs: number; bytes: number };
  seconds: number | null;
  mibPerSecond: number | null;
  blobsPerSecond: number | null;
}

/**
 * eu-west's replicator is paused (the "outage"); pushes `blobs` × `blobSize` as a us-east client, waits until
 * eu-west's backlog holds them, resumes the replicator (SIGCONT) and measures until the backlog is 0.
 */
export async function catchUp(ctx: Ctx, opts: { blobs: number; blobSize: number; timeoutMs: number }): Promise<CatchUpResult> {
  const { cluster, log } = ctx;
  const us = cluster.regionUrl(HOME);
  const pid = cluster.replicatorPid(PAUSED);
  signalGroup(pid, 'SIGSTOP'); // (already paused after the cold pull; harmless again)
  log(`catch-up: pushing ${opts.blobs} × ${opts.blobSize / MiB} MiB while the ${PAUSED} replicator is paused`);
  const specs = Array.from({ length: opts.blobs }, () => nextSpec(ctx, opts.blobSize));
  for (let i = 0; i < specs.length; i += 2) await Promise.all(specs.slice(i, i + 2).map((s) => pushBlob(us, ctx.repo, s)));
  const want = opts.blobs * opts.blobSize;
  let before = await regionStatus(us, PAUSED);
  for (let i = 0; i < 40 && before.backlog.bytes < want; i++) {
    await sleep(250);
    before = await regionStatus(us, PAUSED);
  }
  log(`catch-up: ${PAUSED} backlog ${before.backlog.blobs} blobs, ${(before.backlog.bytes / MiB).toFixed(1)} MiB; resuming its replicator`);
  const t0 = process.hrtime.bigint();
  signalGroup(pid, 'SIGCONT');
  const deadline = Date.now() + opts.timeoutMs;
  let seconds: number | null = null;
  for (;;) {
    const s = await regionStatus(us, PAUSED);
    if (s.backlog.blobs === 0) {
      seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      break;
    }
    if (Date.now() > deadline) {
      log(`catch-up: backlog still ${s.backlog.blobs} blobs after ${opts.timeoutMs / 1000} s`);
      break;
    }
    await sleep(100);
  }
  return {
    region: PAUSED,
    pushedBytes: want,
    pushedBlobs: opts.blobs,
    backlogAtResume: { blobs: before.backlog.blobs, bytes: before.backlog.bytes },
    seconds,
    mibPerSecond: seconds ? before.backlog.bytes / MiB / seconds : null,
    blobsPerSecond: seconds ? before.backlog.blobs / seconds : null,
  };
}
