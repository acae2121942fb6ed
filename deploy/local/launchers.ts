/**
 * Launchers for the parts of the local geo cluster, each a detached process (its own process group) that outlives
 * geo:up and is stopped by PID by geo:down: Ceph RGW (S3), Azurite (Azure Blob), the Cloud Storage emulator, a
 * NATS JetStream cluster, registry nodes, replicators and scanners.
 *
 * The Ceph start script and the GCS emulator wrapper are the ones the driver tests use (test/support/start-ceph.sh,
 * test/support/gcs-emulator.cjs); they are shell/CommonJS programs, run as files, not imported.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { findBinary, portOpen, sleep, spawnLogged, tail, waitHttp, type Spawned } from './processes.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CEPH_SCRIPT = join(REPO_ROOT, 'test/support/start-ceph.sh');
const GCS_LAUNCHER = join(REPO_ROOT, 'test/support/gcs-emulator.cjs');
export const REGISTRY_MAIN = join(REPO_ROOT, 'nodes/registry/src/main.ts');
export const REPLICATOR_MAIN = join(REPO_ROOT, 'nodes/replicator/src/main.ts');
export const SCANNER_MAIN = join(REPO_ROOT, 'nodes/scanner/src/main.ts');

/** A process geo:down must stop: `pid` leads a process group (`group`), `pids` are extra daemons (Ceph's). */
export interface Tracked {
  name: string;
  pid: number;
  group: boolean;
  pids?: number[];
  logFile: string;
  url?: string;
}

export const track = (p: Spawned, extra: Partial<Tracked> = {}): Tracked => ({ name: p.name, pid: p.pid, group: true, logFile: p.logFile, ...extra });

async function assertPortFree(port: number, what: string): Promise<void> {
  if (await portOpen(port)) throw new Error(`${what}: port ${port} on 127.0.0.1 is already in use (is a geo cluster running? npm run geo:down)`);
}

// ---- Ceph RGW (S3) -------------------------------------------------------------------------------------------

export interface S3Endpoint {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** A throwaway single-host Ceph (mon + memstore osd + radosgw) in `runDir`; resolves once RGW answers. */
export async function startCeph(opts: { runDir: string; rgwPort: number; monPort: number; logFile: string; onSpawn: (t: Tracked) => Promise<void> }): Promise<{ s3: S3Endpoint; tracked: Tracked }> {
  findBinary('radosgw', 'the us-east region stores in Ceph RGW (apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common)');
  await assertPortFree(opts.rgwPort, 'Ceph RGW');
  await assertPortFree(opts.monPort, 'Ceph mon');
  await mkdir(opts.runDir, { recursive: true });
  const p = spawnLogged('bash', [CEPH_SCRIPT], {
    name: 'ceph',
    logFile: opts.logFile,
    detached: true,
    env: { ...process.env, CEPH_RUN: opts.runDir, CEPH_RGW_PORT: String(opts.rgwPort), CEPH_MON_PORT: String(opts.monPort), CEPH_MEMSTORE_BYTES: String(1024 ** 3) },
  });
  // The daemons stay in the script's process group after it exits; their PIDs are in <runDir>/pids too.
  const tracked = track(p);
  await opts.onSpawn(tracked);
  const how = await Promise.race([p.exited, sleep(180_000).then(() => 'did not finish within 180 s')]);
  tracked.pids = readFileSync(join(opts.runDir, 'pids'), 'utf8').split(/\s+/).filter(Boolean).map(Number);
  await opts.onSpawn(tracked);
  if (how !== 'exited (code 0)') throw new Error(`Ceph (start-ceph.sh) ${how}; logs in ${join(opts.runDir, 'log')}\n${tail(opts.logFile)}`);
  return { s3: { endpoint: `http://127.0.0.1:${opts.rgwPort}`, accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1' }, tracked };
}

// ---- Azurite (Azure Blob) ------------------------------------------------------------------------------------

/** Azurite's documented development account and key (not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export async function startAzurite(opts: { port: number; dir: string; logFile: string }): Promise<{ endpoint: string; tracked: Tracked }> {
  const require = createRequire(import.meta.url);
  let pkgPath: string;
  try {
    pkgPath = require.resolve('azurite/package.json');
  } catch {
    throw new Error('Azurite is not installed (npm devDependency "azurite"): run npm ci');
  }
  const bin = join(dirname(pkgPath), (JSON.parse(readFileSync(pkgPath, 'utf8')) as { bin: Record<string, string> }).bin['azurite-blob']!);
  await assertPortFree(opts.port, 'Azurite');
  await mkdir(opts.dir, { recursive: true });
  const p = spawnLogged(process.execPath, [bin, '--blobHost', '127.0.0.1', '--blobPort', String(opts.port), '--skipApiVersionCheck', '--location', opts.dir, '--loose'], {
    name: 'azurite',
    logFile: opts.logFile,
    detached: true,
    cwd: opts.dir,
  });
  const endpoint = `http://127.0.0.1:${opts.port}/${AZURITE_ACCOUNT}`;
  // Any HTTP answer (an auth error included) means it listens.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await (await fetch(`${endpoint}?comp=list`, { signal: AbortSignal.timeout(1000) })).arrayBuffer();
      break;
    } catch {
      if (!p.running()) throw new Error(`Azurite ${await p.exited}:\n${tail(opts.logFile)}`);
      if (Date.now() > deadline) throw new Error(`Azurite did not answer on ${opts.port} within 30 s:\n${tail(opts.logFile)}`);
      await sleep(150);
    }
  }
  return { endpoint, tracked: track(p) };
}

// ---- Cloud Storage emulator ----------------------------------------------------------------------------------

export const GCS_PROJECT = 'demo-wharf';

export async function startGcsEmulator(opts: { port: number; dir: string; logFile: string; bucket: string }): Promise<{ apiEndpoint: string; tracked: Tracked }> {
  await assertPortFree(opts.port, 'GCS emulator');
  await mkdir(opts.dir, { recursive: true });
  const p = spawnLogged(process.execPath, [GCS_LAUNCHER], {
    name: 'gcs-emulator',
    logFile: opts.logFile,
    detached: true,
    env: { ...process.env, GCS_HOST: '127.0.0.1', GCS_PORT: String(opts.port), GCS_PROJECT, GCS_DATA_DIR: opts.dir },
  });
  const apiEndpoint = `http://127.0.0.1:${opts.port}`;
  const tracked = track(p);
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (/^ready /m.test(await readFile(opts.logFile, 'utf8').catch(() => ''))) {
      try {
        if ((await fetch(`${apiEndpoint}/b?project=${GCS_PROJECT}`, { signal: AbortSignal.timeout(1500) })).ok) break;
      } catch {
        // not yet
      }
    }
    if (!p.running()) throw Object.assign(new Error(`GCS emulator ${await p.exited}:\n${tail(opts.logFile)}`), { tracked });
    if (Date.now() > deadline) throw Object.assign(new Error(`GCS emulator did not answer on ${opts.port} within 45 s:\n${tail(opts.logFile)}`), { tracked });
    await sleep(150);
  }
  // The emulator has no bucket creation (501) and makes a bucket on its first write: write a marker object, so
  // the nodes' readiness check (a listing) finds the bucket from the start.
  const res = await fetch(`${apiEndpoint}/upload/storage/v1/b/${opts.bucket}/o?uploadType=media&name=.wharf-geo`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain' },
    body: 'wharf geo cluster\n',
  });
  if (!res.ok && res.status !== 409) throw Object.assign(new Error(`GCS emulator: creating bucket ${opts.bucket}: ${res.status} ${await res.text()}`), { tracked });
  return { apiEndpoint, tracked };
}

// ---- NATS JetStream cluster ----------------------------------------------------------------------------------

export async function startNats(opts: { clientPorts: number[]; clusterPorts: number[]; dir: string; logsDir: string; onSpawn: (t: Tracked) => Promise<void> }): Promise<string[]> {
  const bin = findBinary('nats-server', 'events need NATS JetStream (apt-get install -y nats-server)');
  const n = opts.clientPorts.length;
  for (const p of [...opts.clientPorts, ...opts.clusterPorts]) await assertPortFree(p, 'NATS');
  const procs: Spawned[] = [];
  for (let i = 0; i < n; i++) {
    const name = `nats-${i + 1}`;
    const store = join(opts.dir, name);
    await mkdir(store, { recursive: true });
    const routes = opts.clusterPorts.filter((_, j) => j !== i).map((p) => JSON.stringify(`nats-route://127.0.0.1:${p}`));
    const conf = join(opts.dir, `${name}.conf`);
    await writeFile(conf, [
      `server_name: "wharf-geo-${i + 1}"`,
      `listen: "127.0.0.1:${opts.clientPorts[i]}"`,
      `jetstream { store_dir: ${JSON.stringify(store)}, max_memory_store: 256MB, max_file_store: 4GB }`,
      `cluster { name: "wharf-geo", listen: "127.0.0.1:${opts.clusterPorts[i]}", routes: [${routes.join(', ')}] }`,
      '',
    ].join('\n'));
    const p = spawnLogged(bin, ['-c', conf], { name, logFile: join(opts.logsDir, `${name}.log`), detached: true });
    procs.push(p);
    await opts.onSpawn(track(p));
  }
  const urls = opts.clientPorts.map((p) => `nats://127.0.0.1:${p}`);
  const deadline = Date.now() + 30_000;
  for (const [i, port] of opts.clientPorts.entries()) {
    while (!(await portOpen(port))) {
      const p = procs[i]!;
      if (!p.running()) throw new Error(`${p.name} ${await p.exited}:\n${tail(p.logFile)}`);
      if (Date.now() > deadline) throw new Error(`${p.name} did not listen on ${port}`);
      await sleep(50);
    }
  }
  // JetStream answers account info once the meta group has a leader.
  const nc = await connect({ servers: urls, timeout: 2_000 });
  try {
    for (;;) {
      try {
        await (await nc.jetstreamManager({ timeout: 1_000 })).getAccountInfo();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`NATS JetStream not ready: ${(err as Error).message}`);
        await sleep(200);
      }
    }
  } finally {
    await nc.close();
  }
  return urls;
}

// ---- Registry nodes, replicators and scanners ----------------------------------------------------------------

export type NodeKind = 'registry' | 'replicator' | 'scanner';

export interface NodeSpec {
  kind: NodeKind;
  name: string;
  region: string;
  instance: string;
  port: number;
  env: Record<string, string>;
  dataDir: string;
  logFile: string;
  /** Registry nodes: their region's scanner (WHARF_SCANNER_URL). */
  scannerUrl?: string;
}

const MAIN: Record<NodeKind, string> = { registry: REGISTRY_MAIN, replicator: REPLICATOR_MAIN, scanner: SCANNER_MAIN };

/**
 * Spawns a registry node, replicator or scanner (`node --import tsx <main>`) and returns without waiting for
 * readiness. `port` is the registry's PORT, the replicator's metrics port or the scanner's WHARF_SCANNER_PORT.
 * Registry nodes never start an embedded scanner (WHARF_SCANNER_EMBEDDED=false): their region has one scanner
 * process, given as `scannerUrl`.
 */
export async function spawnNode(spec: NodeSpec): Promise<Spawned> {
  const main = MAIN[spec.kind];
  await assertPortFree(spec.port, spec.name);
  await mkdir(spec.dataDir, { recursive: true });
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...spec.env,
    WHARF_NODE_REGION: spec.region,
    WHARF_NODE_INSTANCE: spec.instance,
    WHARF_DATA_DIR: spec.dataDir,
    WHARF_SERVER_HOST: '127.0.0.1',
  };
  if (spec.kind === 'registry') {
    env.PORT = String(spec.port);
    env.WHARF_SCANNER_EMBEDDED = 'false';
    if (spec.scannerUrl) env.WHARF_SCANNER_URL = spec.scannerUrl;
    else delete env.WHARF_SCANNER_URL;
  } else {
    delete env.PORT;
    if (spec.kind === 'replicator') env.WHARF_REPLICATOR_METRICS_PORT = String(spec.port);
    else env.WHARF_SCANNER_PORT = String(spec.port);
  }
  return spawnLogged(process.execPath, ['--import', 'tsx', main], { name: spec.name, logFile: spec.logFile, detached: true, cwd: REPO_ROOT, env });
}

export async function waitReady(p: Spawned, url: string, timeoutMs: number): Promise<void> {
  await waitHttp(`${url}/readyz`, { proc: p, timeoutMs, what: p.name });
}
