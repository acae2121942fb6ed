// The five scenarios from the benchmark issue. Each is run alternately against the
// subject and the baseline registry by run.ts; here we only say what one timed run
// does, what is untimed setup, and which metrics / targets apply.
import { blobDigest, MiB, GiB, type BlobSpec } from './data.js';
import type { RunningRegistry } from './registries.js';
import { ratioAtLeast, ratioAtMost, lowerThanBaseline, below, type MetricDef } from './report.js';
import { pushMonolithic, pushChunked, pushSmallImage, pullBlob, runWrk, type MonolithicMode } from './workloads.js';
import type { BenchConfig } from './config.js';

export interface RunOutput {
  metrics: Record<string, number>;
  /** Bytes moved in the run; lets the harness derive CPU s/GiB. */
  bytes?: number;
  /** Set when the run "worked" but its numbers are not trustworthy (e.g. error responses under load). */
  error?: string;
  /** Kept in the JSON record only. */
  extra?: unknown;
}

export interface Scenario {
  id: number;
  key: string;
  title: string;
  notes: string[];
  reps: number;
  /** Metric keys from run() plus the harness-derived cpuSeconds, cpuPerGiB, peakRssMiB. */
  metrics: MetricDef[];
  /** Once per registry before its first run; untimed. */
  prepare?(reg: RunningRegistry): Promise<void>;
  /** Before each run, outside the measured window. */
  beforeRun?(reg: RunningRegistry, rep: number): Promise<void>;
  run(reg: RunningRegistry, rep: number): Promise<RunOutput>;
}

export interface ScenarioContext {
  cfg: BenchConfig;
  mode: MonolithicMode;
  modeNote: string;
  workDir: string;
}

const sizeText = (n: number): string => (n % GiB === 0 ? `${n / GiB} GiB` : n % MiB === 0 ? `${n / MiB} MiB` : `${n} B`);
const mibps = (bytes: number, seconds: number): number => bytes / MiB / seconds;

export function buildScenarios(ctx: ScenarioContext): Scenario[] {
  const { cfg, mode } = ctx;
  // Each repetition pushes a *different* blob (seed varies with rep), so no run can be
  // short-circuited by "blob already exists"; both registries get the same seeds.
  const blob = (seedBase: number, size: number, rep: number): BlobSpec => ({ size, seed: seedBase + rep });

  const monolithic: Scenario = {
    id: 1,
    key: 'push-monolithic',
    title: `monolithic push ${sizeText(cfg.blobBytes)}`,
    notes: [ctx.modeNote],
    reps: cfg.reps,
    metrics: [
      { key: 'mibps', label: 'throughput', unit: 'MiB/s', target: ratioAtLeast(1.2) },
      { key: 'cpuPerGiB', label: 'registry CPU', unit: 's/GiB' },
    ],
    beforeRun: async (_reg, rep) => void blobDigest(blob(1000, cfg.blobBytes, rep)),
    async run(reg, rep) {
      const spec = blob(1000, cfg.blobBytes, rep);
      const t = await pushMonolithic(reg.url, 'bench/push-monolithic', spec, blobDigest(spec), mode);
      return { metrics: { mibps: mibps(t.bytes, t.seconds), seconds: t.seconds }, bytes: t.bytes };
    },
  };

  const chunked: Scenario = {
    id: 2,
    key: 'push-chunked',
    title: `chunked push ${sizeText(cfg.chunkedBytes)} in ${sizeText(cfg.chunkBytes)} PATCHes`,
    notes: ['POST, sequential PATCHes with Content-Range, closing PUT ?digest= without body'],
    reps: cfg.reps,
    metrics: [
      { key: 'mibps', label: 'throughput', unit: 'MiB/s' },
      { key: 'cpuPerGiB', label: 'registry CPU', unit: 's/GiB' },
    ],
    beforeRun: async (_reg, rep) => void blobDigest(blob(2000, cfg.chunkedBytes, rep)),
    async run(reg, rep) {
      const spec = blob(2000, cfg.chunkedBytes, rep);
      const t = await pushChunked(reg.url, 'bench/push-chunked', spec, blobDigest(spec), cfg.chunkBytes);
      return { metrics: { mibps: mibps(t.bytes, t.seconds), seconds: t.seconds }, bytes: t.bytes };
    },
  };

  const manifestUrl = (reg: RunningRegistry): string => `${reg.url}/v2/bench/small/manifests/latest`;
  const wrkOpts = (seconds: number) => ({ threads: cfg.wrkThreads, connections: cfg.wrkConnections, durationSeconds: seconds, scriptDir: ctx.workDir });
  const manifests: Scenario = {
    id: 3,
    key: 'manifest-get',
    title: `manifest GET by tag, ${cfg.wrkConnections} conns, ${cfg.wrkSeconds} s`,
    notes: [
      `wrk -t${cfg.wrkThreads} -c${cfg.wrkConnections} -d${cfg.wrkSeconds}s --latency, Accept: OCI + Docker manifest/index types` +
        (cfg.wrkWarmupSeconds > 0 ? `; ${cfg.wrkWarmupSeconds} s unmeasured warm-up before each run` : ''),
      'image: OCI manifest + config + one 32 KiB layer, pushed untimed first',
    ],
    reps: cfg.reps,
    metrics: [
      { key: 'rps', label: 'requests/s', unit: 'req/s', target: ratioAtLeast(2) },
      { key: 'p50Ms', label: 'latency p50', unit: 'ms' },
      { key: 'p99Ms', label: 'latency p99', unit: 'ms', target: lowerThanBaseline },
      { key: 'errors', label: 'errors/non-2xx', unit: 'count' },
    ],
    prepare: async (reg) => void (await pushSmallImage(reg.url, 'bench/small', 'latest', mode)),
    async beforeRun(reg) {
      // Warm-up lets a JIT-compiled server reach steady state; the same is done for both.
      if (cfg.wrkWarmupSeconds > 0) await runWrk(manifestUrl(reg), wrkOpts(cfg.wrkWarmupSeconds));
    },
    async run(reg) {
      const r = await runWrk(manifestUrl(reg), wrkOpts(cfg.wrkSeconds));
      return {
        metrics: { rps: r.requestsPerSecond, p50Ms: r.p50Ms, p90Ms: r.p90Ms, p99Ms: r.p99Ms, errors: r.errors, requests: r.requests },
        // Fast error responses would inflate req/s; don't let them count as a result.
        error: r.errors > r.requests * 0.001 ? `wrk saw ${r.errors} errors/non-2xx of ${r.requests} requests` : undefined,
        extra: { wrkOutput: r.raw },
      };
    },
  };

  const pullSpec: BlobSpec = { size: cfg.blobBytes, seed: 4000 };
  const pull: Scenario = {
    id: 4,
    key: 'pull',
    title: `blob pull ${sizeText(cfg.blobBytes)} ×${cfg.pullsPerRep}`,
    notes: ['blob pushed untimed first and pulled once with sha256 verification; timed pulls stream and discard'],
    reps: cfg.reps,
    metrics: [
      { key: 'mibps', label: 'throughput', unit: 'MiB/s' },
      { key: 'cpuPerGiB', label: 'registry CPU', unit: 's/GiB', target: ratioAtMost(1) },
    ],
    async prepare(reg) {
      const digest = blobDigest(pullSpec);
      await pushMonolithic(reg.url, 'bench/pull', pullSpec, digest, mode);
      await pullBlob(reg.url, 'bench/pull', digest, pullSpec.size, true);
    },
    async run(reg) {
      let bytes = 0;
      let seconds = 0;
      for (let i = 0; i < cfg.pullsPerRep; i++) {
        const t = await pullBlob(reg.url, 'bench/pull', blobDigest(pullSpec), pullSpec.size);
        bytes += t.bytes;
        seconds += t.seconds;
      }
      return { metrics: { mibps: mibps(bytes, seconds), seconds }, bytes };
    },
  };

  const big: Scenario = {
    id: 5,
    key: 'push-big',
    title: `monolithic push ${sizeText(cfg.bigBytes)}`,
    notes: [ctx.modeNote, 'registry RSS polled every 50 ms (+ VmHWM reset via clear_refs where permitted)'],
    reps: cfg.bigReps,
    metrics: [
      { key: 'peakRssMiB', label: 'peak RSS', unit: 'MiB', target: below(256, 'MiB') },
      { key: 'mibps', label: 'throughput', unit: 'MiB/s' },
    ],
    beforeRun: async (_reg, rep) => void blobDigest(blob(5000, cfg.bigBytes, rep)),
    async run(reg, rep) {
      const spec = blob(5000, cfg.bigBytes, rep);
      const t = await pushMonolithic(reg.url, 'bench/push-big', spec, blobDigest(spec), mode);
      return { metrics: { mibps: mibps(t.bytes, t.seconds), seconds: t.seconds }, bytes: t.bytes };
    },
  };

  return [monolithic, chunked, manifests, pull, big].filter((s) => cfg.scenarios.has(s.id));
}
