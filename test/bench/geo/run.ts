/**
 * npm run bench:geo — geo-replication figures of a local three-region cluster (see README "Benchmark"):
 *
 *   1. replication lag p50/p99 per target region (eu-west, ap-south) for small and large blobs pushed as a
 *      us-east client at a fixed rate (lag = placement verified_at − blob commit, from the replication status API)
 *   2. cross-region cold pull (eu-west client, blob only in us-east, eu-west's replicator paused) vs local pulls
 *   3. catch-up throughput of eu-west's replicator after an outage (paused while N MiB are pushed, then resumed
 *      until GET /api/v1/replication/regions/eu-west reports no backlog)
 *
 * Uses the running cluster of .geo/state.json (or BENCH_GEO_STATE=<dir>) when there is one, else starts one with
 * geoUp on free ports and stops it afterwards. Prints a table; writes .bench/geo-<timestamp>.json.
 *
 * Env: BENCH_QUICK=1 (smoke run: small sizes, a few seconds each), BENCH_GEO_SECONDS, BENCH_GEO_SMALL,
 * BENCH_GEO_LARGE, BENCH_GEO_SMALL_RATE, BENCH_GEO_LARGE_RATE, BENCH_GEO_CATCHUP (total), BENCH_GEO_CATCHUP_BLOB,
 * BENCH_GEO_PULL_REPS.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MiB, parseSize } from '../data.js';
import { closeIdleSockets } from '../http.js';
import { fmt, table } from '../report.js';
import { openCluster, signalGroup, type BenchCluster } from './cluster.js';
import { catchUp, coldPull, HOME, PAUSED, replicationLag, TARGETS, type CatchUpResult, type Ctx, type LagResult, type PullRow } from './scenarios.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const quick = process.env.BENCH_QUICK === '1';
const env = (name: string, quickDefault: string, fullDefault: string): string => process.env[name] ?? (quick ? quickDefault : fullDefault);

export const settings = {
  quick,
  seconds: Number(env('BENCH_GEO_SECONDS', '5', '30')),
  small: parseSize(env('BENCH_GEO_SMALL', '1MiB', '1MiB')),
  large: parseSize(env('BENCH_GEO_LARGE', '8MiB', '64MiB')),
  smallRate: Number(env('BENCH_GEO_SMALL_RATE', '2', '2')),
  largeRate: Number(env('BENCH_GEO_LARGE_RATE', '0.4', '0.2')),
  catchUpBytes: parseSize(env('BENCH_GEO_CATCHUP', '16MiB', '128MiB')),
  catchUpBlob: parseSize(env('BENCH_GEO_CATCHUP_BLOB', '4MiB', '16MiB')),
  pullReps: Number(env('BENCH_GEO_PULL_REPS', '1', '3')),
  settleMs: quick ? 90_000 : 300_000,
};

const log = (line: string): void => void process.stderr.write(`bench:geo: ${line}\n`);

export interface GeoBenchRecord {
  startedAt: string;
  finishedAt: string;
  settings: typeof settings;
  host: { loadAvg1AtStart: number };
  cluster: { owned: boolean; regions: { name: string; store: string }[]; notes: string[] };
  lag: LagResult[];
  pulls: PullRow[];
  catchUp: CatchUpResult | null;
  errors: string[];
}

export function renderTables(rec: GeoBenchRecord): string {
  const ms = (v: number | null): string => fmt(v === null ? null : v, 0);
  const lagRows = rec.lag.flatMap((l) =>
    TARGETS.map((r) => {
      const x = l.regions[r]!;
      return [`${fmt(l.size / MiB)} MiB`, `${l.ratePerSecond}/s × ${l.seconds} s`, String(l.pushed), r, `${x.placed}/${l.pushed}`, ms(x.p50Ms), ms(x.p99Ms), ms(x.maxMs)];
    }),
  );
  const lagTable = table(['blob', 'push rate (us-east)', 'pushed', 'target', 'placed', 'lag p50 ms', 'lag p99 ms', 'max ms'], lagRows, new Set([2, 4, 5, 6, 7]));
  const pullTable = table(
    ['pull', 'client', 'served by', 'bytes from', 'size', 'runs', 'MiB/s (median)'],
    rec.pulls.map((p) => [p.what, p.client, p.servedRegion ?? '?', p.storeRegion, `${fmt(p.size / MiB)} MiB`, String(p.runs), fmt(p.medianMiBps)]),
    new Set([5, 6]),
  );
  const c = rec.catchUp;
  const catchTable = c
    ? table(
        ['catch-up', 'pushed during outage', 'backlog at resume', 'to zero backlog', 'MiB/s', 'blobs/s'],
        [[`${c.region} replicator`, `${c.pushedBlobs} × ${fmt(c.pushedBytes / c.pushedBlobs / MiB)} MiB`, `${c.backlogAtResume.blobs} blobs, ${fmt(c.backlogAtResume.bytes / MiB)} MiB`, c.seconds === null ? 'timed out' : `${fmt(c.seconds)} s`, fmt(c.mibPerSecond), fmt(c.blobsPerSecond)]],
        new Set([4, 5]),
      )
    : '(catch-up not measured)';
  return [lagTable, '', pullTable, '', catchTable].join('\n');
}

async function main(): Promise<number> {
  const startedAt = new Date().toISOString();
  const errors: string[] = [];
  let cluster: BenchCluster | undefined;
  let resumeOnExit: number | undefined;
  const cleanup = async (): Promise<void> => {
    if (resumeOnExit !== undefined) signalGroup(resumeOnExit, 'SIGCONT');
    closeIdleSockets();
    await cluster?.close();
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  const rec: GeoBenchRecord = {
    startedAt, finishedAt: '', settings, host: { loadAvg1AtStart: loadavg()[0]! },
    cluster: { owned: false, regions: [], notes: [] }, lag: [], pulls: [], catchUp: null, errors,
  };
  try {
    cluster = await openCluster(log);
    resumeOnExit = cluster.replicatorPid(PAUSED);
    rec.cluster = { owned: cluster.owned, regions: cluster.state.regions.map((r) => ({ name: r.name, store: r.store })), notes: cluster.state.notes };
    const ctx: Ctx = { cluster, log, seedBase: (Date.now() % 1_000_000) * 1000, repo: `bench/geo-${Date.now().toString(36)}` };

    for (const [size, rate] of [[settings.small, settings.smallRate], [settings.large, settings.largeRate]] as const) {
      try {
        rec.lag.push(await replicationLag(ctx, { size, rate, seconds: settings.seconds, maxInFlight: 4, settleMs: settings.settleMs }));
      } catch (err) {
        errors.push(`lag ${size} B: ${(err as Error).message}`);
        log(errors.at(-1)!);
      }
    }
    // The local pull reads a blob of the cold-pull size that the large-blob lag run placed in eu-west.
    try {
      const large = rec.lag.find((l) => l.size === settings.large);
      const localDigest = large?.placedDigests[PAUSED]?.[0];
      if (!localDigest) throw new Error(`no ${settings.large} B blob is placed in ${PAUSED} to compare with`);
      rec.pulls = await coldPull(ctx, { size: settings.large, reps: settings.pullReps, local: { digest: localDigest } });
    } catch (err) {
      errors.push(`pulls: ${(err as Error).message}`);
      log(errors.at(-1)!);
    }
    try {
      rec.catchUp = await catchUp(ctx, { blobs: Math.max(1, Math.round(settings.catchUpBytes / settings.catchUpBlob)), blobSize: settings.catchUpBlob, timeoutMs: settings.settleMs });
    } catch (err) {
      errors.push(`catch-up: ${(err as Error).message}`);
      log(errors.at(-1)!);
    } finally {
      signalGroup(cluster.replicatorPid(PAUSED), 'SIGCONT');
    }
  } catch (err) {
    errors.push((err as Error).message);
    log(errors.at(-1)!);
  } finally {
    rec.finishedAt = new Date().toISOString();
    await cleanup().catch((err: Error) => errors.push(`stopping the cluster: ${err.message}`));
  }

  const text = renderTables(rec);
  process.stdout.write(`\nWharf geo bench (${quick ? 'quick' : 'full'}; ${HOME} client pushes; cluster ${rec.cluster.owned ? 'started by the bench' : 'already running'})\n\n${text}\n`);
  for (const n of rec.cluster.notes) process.stdout.write(`note: ${n}\n`);
  for (const e of errors) process.stdout.write(`error: ${e}\n`);
  const dir = resolve(REPO_ROOT, '.bench');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `geo-${startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(rec, null, 2)}\n`);
  process.stdout.write(`\nresults: ${file}\n`);
  return errors.length > 0 ? 1 : 0;
}

process.exitCode = await main();
