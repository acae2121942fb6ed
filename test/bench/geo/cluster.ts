// The cluster the geo bench runs against: a running one (geo state file) or one it starts with geoUp on free
// ports and stops afterwards. Clients pick a region by the front address they connect to (127.0.<n>.1:<port>),
// so the single-region bench's HTTP client (test/bench/http.ts) is used as is.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePorts, geoUp } from '../../../deploy/local/geo-up.js';
import { geoDown } from '../../../deploy/local/geo-down.js';
import { alive } from '../../../deploy/local/processes.js';
import { DEFAULT_GEO_DIR, loadState, type GeoState } from '../../../deploy/local/state.js';

export interface BenchCluster {
  state: GeoState;
  /** True when the bench started it (and stops it in close()). */
  owned: boolean;
  /** Base URL of the front as a client of `region` (its front address). */
  regionUrl(region: string): string;
  /** PID of the region's replicator (leads its own process group). */
  replicatorPid(region: string): number;
  close(): Promise<void>;
}

export async function openCluster(log: (line: string) => void): Promise<BenchCluster> {
  const requested = process.env.BENCH_GEO_STATE;
  const stateDir = resolve(requested ?? DEFAULT_GEO_DIR);
  const running = await loadState(stateDir);
  // (Ceph's start script exits once its daemons run; the nodes, replicators and the front must be alive.)
  const serving = running?.processes.filter((p) => /^(registry|replicator)-|^haproxy$/.test(p.name)) ?? [];
  if (running?.ready && serving.length > 0 && serving.every((p) => alive(p.pid))) {
    log(`using the running geo cluster of ${stateDir}`);
    return wrap(running, false, async () => undefined);
  }
  if (requested) throw new Error(`BENCH_GEO_STATE=${requested}: no running, ready geo cluster there`);
  const dir = await mkdtemp(join(tmpdir(), 'wharf-geo-bench-'));
  const t0 = Date.now();
  log('starting a geo cluster on free ports (geoUp)');
  const state = await geoUp({
    stateDir: dir,
    ports: await freePorts(),
    bucketSuffix: randomBytes(4).toString('hex'),
    database: `wharf_geo_bench_${randomBytes(4).toString('hex')}`,
    nodeEnv: { WHARF_LOG_LEVEL: process.env.WHARF_LOG_LEVEL ?? 'warn' },
    log: (l) => log(`geo:up: ${l}`),
  });
  log(`geo cluster up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return wrap(state, true, async () => {
    await geoDown({ stateDir: dir, state: (await loadState(dir)) ?? state });
    await rm(dir, { recursive: true, force: true });
  });
}

function wrap(state: GeoState, owned: boolean, stop: () => Promise<void>): BenchCluster {
  if (!state.front) throw new Error('the geo cluster has no front');
  const port = state.front.port;
  let closed = false;
  return {
    state,
    owned,
    regionUrl(region) {
      const r = state.regions.find((x) => x.name === region);
      if (!r) throw new Error(`no region ${region} in the geo cluster`);
      return `http://${r.clientAddress}:${port}`;
    },
    replicatorPid(region) {
      const p = state.processes.find((x) => x.name === `replicator-${region}-1`);
      if (!p) throw new Error(`the geo cluster has no replicator for ${region}`);
      return p.pid;
    },
    async close() {
      if (closed) return;
      closed = true;
      await stop();
    },
  };
}

/** Pauses (SIGSTOP) or resumes (SIGCONT) a process group; the replicator keeps its state, JetStream its events. */
export function signalGroup(pid: number, sig: 'SIGSTOP' | 'SIGCONT'): void {
  try {
    process.kill(-pid, sig);
  } catch {
    process.kill(pid, sig);
  }
}
