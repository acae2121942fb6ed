// Bench configuration from the environment. BENCH_QUICK=1 shrinks everything to a
// smoke test that finishes in well under a minute.
import { GiB, MiB, parseSize } from './data.js';
import type { MonolithicMode } from './workloads.js';

export interface BenchConfig {
  quick: boolean;
  /** 'wharf' normally; 'distribution' runs a second Distribution as the subject (harness validation). */
  subject: 'wharf' | 'distribution';
  scenarios: Set<number>;
  reps: number;
  blobBytes: number;
  chunkedBytes: number;
  chunkBytes: number;
  pullsPerRep: number;
  bigBytes: number;
  bigReps: number;
  wrkThreads: number;
  wrkConnections: number;
  wrkSeconds: number;
  wrkWarmupSeconds: number;
  monolithic: 'auto' | MonolithicMode;
  keepTemp: boolean;
  tmpRoot: string | undefined;
}

function env(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : v;
}

function int(name: string, dflt: number): number {
  const v = env(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

function size(name: string, dflt: number): number {
  const v = env(name);
  return v === undefined ? dflt : parseSize(v);
}

export function loadConfig(): BenchConfig {
  const quick = env('BENCH_QUICK') === '1';
  const subjectRaw = env('BENCH_SUBJECT') ?? (env('BENCH_ONLY') === 'distribution' ? 'distribution' : 'wharf');
  if (subjectRaw !== 'wharf' && subjectRaw !== 'distribution') throw new Error(`BENCH_SUBJECT must be wharf or distribution, got ${subjectRaw}`);
  const mono = env('BENCH_MONOLITHIC') ?? 'auto';
  if (mono !== 'auto' && mono !== 'single-post' && mono !== 'post-put') throw new Error(`BENCH_MONOLITHIC must be auto, single-post or post-put`);
  const scenarios = new Set((env('BENCH_SCENARIOS') ?? '1,2,3,4,5').split(',').map((s) => Number(s.trim())));
  return {
    quick,
    subject: subjectRaw,
    scenarios,
    reps: Math.max(1, int('BENCH_REPS', quick ? 2 : 5)),
    blobBytes: size('BENCH_BLOB_BYTES', quick ? 16 * MiB : 512 * MiB),
    chunkedBytes: size('BENCH_CHUNKED_BYTES', quick ? 8 * MiB : 64 * MiB),
    chunkBytes: size('BENCH_CHUNK_BYTES', quick ? 1 * MiB : 8 * MiB),
    pullsPerRep: Math.max(1, int('BENCH_PULLS', quick ? 2 : 3)),
    bigBytes: size('BENCH_BIG_BYTES', quick ? 64 * MiB : 5 * GiB),
    // One 5 GiB push per registry is enough for a peak-RSS figure and saves minutes.
    bigReps: Math.max(1, int('BENCH_BIG_REPS', 1)),
    wrkThreads: Math.max(1, int('BENCH_WRK_THREADS', 2)),
    wrkConnections: Math.max(1, int('BENCH_WRK_CONNECTIONS', 64)),
    wrkSeconds: Math.max(1, int('BENCH_WRK_SECONDS', quick ? 2 : 10)),
    wrkWarmupSeconds: int('BENCH_WRK_WARMUP_SECONDS', quick ? 1 : 2),
    monolithic: mono,
    keepTemp: env('BENCH_KEEP') === '1',
    tmpRoot: env('BENCH_TMPDIR'),
  };
}
