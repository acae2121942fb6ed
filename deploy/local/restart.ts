/**
 * Hard kills and restarts of single parts of a running local geo cluster, for the drills (deploy/drill/): every
 * process of a region (its registry nodes, its replicator, its scanner, its object store), one NATS server, one
 * replicator or scanner.
 * A restart starts the part again exactly as geo:up did (same ports, dirs, config and environment, from
 * `state.launch`), appends to the same log file and records the new PID in the state file, so geo:down still
 * stops everything.
 *
 * What survives a kill -9 of a store: Azurite keeps blobs and metadata in its --location dir (metadata saved every
 * few seconds, so the last writes may be lost); the Cloud Storage emulator keeps object metadata in memory (its
 * objects are gone after a restart); Ceph runs on memstore, so a restarted us-east starts empty (a fresh cluster in
 * a new run dir). Lost bytes are found by `npm run replication -- verify --repair` and refilled by `reconcile`.
 */
import { join } from 'node:path';
import { GEO_REGIONS } from './geo-up.js';
import { startAzurite, startCeph, startGcsEmulator, spawnNode, track, waitReady, type NodeKind, type Tracked } from './launchers.js';
import { alive, findBinary, portOpen, sleep, spawnLogged, tail } from './processes.js';
import { saveState, type GeoLaunch, type GeoState } from './state.js';

/** The object store process of a region, by the name geo:up tracks it under. */
export const STORE_PROCESS: Record<string, string> = { 'us-east': 'ceph', 'eu-west': 'azurite', 'ap-south': 'gcs-emulator' };

function launchOf(state: GeoState): GeoLaunch {
  if (!state.launch) throw new Error('the geo state has no launch record (started by an older geo:up): restart the cluster with npm run geo:down && npm run geo:up');
  return state.launch;
}

/** Registry nodes, replicators and scanners of `region`, and its object store when geo:up started it. */
export function regionProcesses(state: GeoState, region: string): Tracked[] {
  const own = state.processes.filter((p) => ['registry', 'replicator', 'scanner'].some((kind) => p.name.startsWith(`${kind}-${region}-`)));
  const store = state.processes.find((p) => p.name === STORE_PROCESS[region]);
  const storeOurs = store && (region !== 'us-east' || state.launch?.cephManaged !== false);
  return storeOurs ? [...own, store] : own;
}

/** kill -9 a tracked process, its process group and its extra daemons (Ceph's); waits until they are gone. */
export async function killHard(t: Tracked): Promise<void> {
  const pids = [t.pid, ...(t.pids ?? [])];
  try {
    process.kill(t.group ? -t.pid : t.pid, 'SIGKILL');
  } catch {
    // gone already (or not a group leader any more)
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (let i = 0; i < 100 && pids.some(alive); i++) await sleep(50);
}

async function record(state: GeoState, t: Tracked, replacing: string): Promise<void> {
  const i = state.processes.findIndex((p) => p.name === replacing);
  if (i >= 0) state.processes[i] = t;
  else state.processes.push(t);
  await saveState(state);
}

/**
 * Starts a registry node, replicator or scanner again (by its geo:up name, e.g. registry-eu-west-2,
 * scanner-ap-south-1) and waits for /readyz.
 */
export async function restartNode(state: GeoState, name: string, timeoutMs = 60_000): Promise<Tracked> {
  const launch = launchOf(state);
  const m = /^(registry|replicator|scanner)-(.+)-(\d+)$/.exec(name);
  if (!m) throw new Error(`${name} is not a registry node, replicator or scanner`);
  const [, kind, region, instance] = m as unknown as [string, NodeKind, string, string];
  const i = GEO_REGIONS.findIndex((r) => r.name === region);
  if (i < 0) throw new Error(`unknown region ${region}`);
  // A state from before geo:up ran scanners has no scanner ports: its registry nodes then get no scanner URL.
  const scannerPort = launch.ports.scanner?.[i];
  if (kind === 'scanner' && scannerPort === undefined) throw new Error(`${name}: the geo state has no scanner ports (started by an older geo:up)`);
  const port = kind === 'registry' ? launch.ports.registry[2 * i + Number(instance) - 1]! : kind === 'replicator' ? launch.ports.replicator[i]! : scannerPort!;
  const env = { ...launch.env, ...(process.env.WHARF_ADMIN_PASSWORD !== undefined ? { WHARF_ADMIN_PASSWORD: process.env.WHARF_ADMIN_PASSWORD } : {}) };
  await waitPortClosed(port);
  const p = await spawnNode({
    kind, name, region, instance, port, env, dataDir: join(launch.tmp, name), logFile: join(state.logsDir, `${name}.log`),
    ...(kind === 'registry' && scannerPort !== undefined ? { scannerUrl: `http://127.0.0.1:${scannerPort}` } : {}),
  });
  const url = `http://127.0.0.1:${port}`;
  const t = track(p, { url });
  await record(state, t, name);
  await waitReady(p, url, timeoutMs);
  return t;
}

/** Starts a region's object store again with its dirs and port (see the file comment for what survives). */
export async function restartStore(state: GeoState, region: string): Promise<Tracked | undefined> {
  const launch = launchOf(state);
  const name = STORE_PROCESS[region];
  const logFile = join(state.logsDir, `${name}.log`);
  if (region === 'eu-west') {
    await waitPortClosed(launch.ports.azurite);
    const a = await startAzurite({ port: launch.ports.azurite, dir: join(launch.tmp, 'azurite'), logFile });
    await record(state, a.tracked, name!);
    return a.tracked;
  }
  if (region === 'ap-south') {
    if (!state.processes.some((p) => p.name === 'gcs-emulator')) return undefined; // filesystem store: nothing to start
    await waitPortClosed(launch.ports.gcs);
    const g = await startGcsEmulator({ port: launch.ports.gcs, dir: join(launch.tmp, 'gcs'), logFile, bucket: launch.gcsBucket });
    await record(state, g.tracked, name!);
    return g.tracked;
  }
  if (region === 'us-east') {
    if (!launch.cephManaged) return undefined; // an external S3 server: not ours
    await waitPortClosed(launch.ports.cephRgw);
    const runDir = join(launch.tmp, `ceph-${Date.now()}`);
    const c = await startCeph({ runDir, rgwPort: launch.ports.cephRgw, monPort: launch.ports.cephMon, logFile, onSpawn: (t) => record(state, t, name!) });
    state.tempDirs.push(runDir);
    await saveState(state);
    return c.tracked;
  }
  throw new Error(`unknown region ${region}`);
}

/** Store first, then the region's registry nodes, replicators and scanners, each as geo:up started it. */
export async function restartRegion(state: GeoState, region: string, killed: Tracked[], timeoutMs = 60_000): Promise<void> {
  const store = STORE_PROCESS[region];
  if (killed.some((t) => t.name === store)) await restartStore(state, region);
  await Promise.all(killed.filter((t) => t.name !== store).map((t) => restartNode(state, t.name, timeoutMs)));
}

/** Starts NATS server `nats-<n>` (1-based) again with its config file and JetStream store dir. */
export async function restartNats(state: GeoState, n: number, timeoutMs = 30_000): Promise<Tracked> {
  const launch = launchOf(state);
  const name = `nats-${n}`;
  const port = launch.ports.natsClient[n - 1]!;
  await waitPortClosed(port);
  const p = spawnLogged(findBinary('nats-server', 'apt-get install -y nats-server'), ['-c', join(launch.tmp, 'nats', `${name}.conf`)], {
    name, logFile: join(state.logsDir, `${name}.log`), detached: true,
  });
  const t = track(p);
  await record(state, t, name);
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(port))) {
    if (!p.running()) throw new Error(`${name} ${await p.exited}:\n${tail(p.logFile)}`);
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms`);
    await sleep(50);
  }
  return t;
}

async function waitPortClosed(port: number): Promise<void> {
  for (let i = 0; i < 100 && (await portOpen(port)); i++) await sleep(100);
}
