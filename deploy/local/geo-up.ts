/**
 * npm run geo:up — a complete three-region Wharf cluster from local processes:
 *
 *   us-east   Ceph RGW (S3)              client network 127.0.1.0/24
 *   eu-west   Azurite (Azure Blob)       client network 127.0.2.0/24
 *   ap-south  Cloud Storage emulator     client network 127.0.3.0/24   (filesystem if the emulator cannot run)
 *
 * with a 3-node NATS JetStream cluster (stream replicas 3), the machine's PostgreSQL (database wharf_geo, created
 * if missing), two registry nodes, one replicator and one scanner per region (the region's registry nodes send
 * /indexer, /matcher, /api/v1/vulndb and the security endpoint to it; none runs an embedded scanner), and HAProxy
 * on 127.0.0.1:8080 in front. Every
 * process is detached and logs to .geo/logs/<name>.log; .geo/state.json records what was started, for geo:down.
 * Returns once every node answers /readyz 200 and the front answers /v2/ for every region.
 *
 * Env: WHARF_GEO_PG_URL (admin connection; default postgres://root@127.0.0.1:5432/postgres), WHARF_GEO_DATABASE
 * (default wharf_geo), WHARF_ADMIN_USER / WHARF_ADMIN_PASSWORD (passed to the nodes).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { parseCluster, type StorageSection } from '../../shared/config/cluster.js';
import { renderHaproxyConfig } from '../front/haproxy.js';
import { haproxyBinary, startHaproxy } from '../front/haproxy-process.js';
import { request } from './http-request.js';
import {
  AZURITE_ACCOUNT, AZURITE_KEY, GCS_PROJECT, REPLICATOR_MAIN, spawnNode, startAzurite, startCeph, startGcsEmulator, startNats, track, waitReady,
  type NodeKind, type S3Endpoint, type Tracked,
} from './launchers.js';
import { alive, freePort, sleep, type Spawned } from './processes.js';
import { DEFAULT_GEO_DIR, loadState, saveState, stateFile, type GeoLaunchPorts, type GeoState } from './state.js';
import { existsSync } from 'node:fs';
import { geoDown } from './geo-down.js';

export const GEO_REGIONS = [
  { name: 'us-east', store: 'Ceph RGW (S3)', net: 1, nearest: ['eu-west', 'ap-south'] },
  { name: 'eu-west', store: 'Azurite (Azure Blob)', net: 2, nearest: ['us-east', 'ap-south'] },
  { name: 'ap-south', store: 'Cloud Storage emulator (GCS)', net: 3, nearest: ['eu-west', 'us-east'] },
] as const;
export type GeoRegion = (typeof GEO_REGIONS)[number]['name'];

/** The ports geo:up listens on; the same shape state.json records. */
export type GeoPorts = GeoLaunchPorts;

/** Fixed ports, so the README and scripts can name them. */
export const DEFAULT_PORTS: GeoPorts = {
  front: 8080,
  registry: [5101, 5102, 5201, 5202, 5301, 5302],
  replicator: [5109, 5209, 5309],
  scanner: [5110, 5210, 5310],
  natsClient: [4301, 4302, 4303],
  natsCluster: [6301, 6302, 6303],
  cephRgw: 7580,
  cephMon: 6889,
  azurite: 10100,
  gcs: 9299,
};

/** Free ports for everything (tests, or a second cluster beside one on the default ports). */
export async function freePorts(): Promise<GeoPorts> {
  const n = async (k: number): Promise<number[]> => {
    const out: number[] = [];
    while (out.length < k) {
      const p = await freePort();
      if (!out.includes(p)) out.push(p);
    }
    return out;
  };
  const all = await n(25);
  const take = (k: number): number[] => all.splice(0, k);
  return {
    front: take(1)[0]!, registry: take(6), replicator: take(3), scanner: take(3), natsClient: take(3), natsCluster: take(3),
    cephRgw: take(1)[0]!, cephMon: take(1)[0]!, azurite: take(1)[0]!, gcs: take(1)[0]!,
  };
}

export interface GeoUpOptions {
  /** State, config and logs; default <repo>/.geo */
  stateDir?: string;
  ports?: GeoPorts;
  /** Use this S3 server for us-east instead of starting Ceph (tests share one RGW). */
  s3?: S3Endpoint;
  /** Suffix for bucket/container names, so runs sharing a store do not meet. */
  bucketSuffix?: string;
  adminPgUrl?: string;
  database?: string;
  /** Progress lines. */
  log?: (line: string) => void;
  /** Extra WHARF_* settings for every node and replicator. */
  nodeEnv?: Record<string, string>;
  /** Allowed time for the whole start; default 240 s. */
  timeoutMs?: number;
  /** Aborting stops the start at its next step (and cleans up); the CLI aborts on SIGINT/SIGTERM. */
  signal?: AbortSignal;
}

export async function geoUp(opts: GeoUpOptions = {}): Promise<GeoState> {
  const stateDir = resolve(opts.stateDir ?? DEFAULT_GEO_DIR);
  const log = opts.log ?? (() => undefined);
  const ports = opts.ports ?? DEFAULT_PORTS;
  const timeoutMs = opts.timeoutMs ?? 240_000;
  haproxyBinary(); // fail before starting anything when HAProxy is missing

  const previous = await loadState(stateDir);
  if (previous) {
    if (previous.processes.some((p) => alive(p.pid))) {
      throw new Error(`a geo cluster is already running (${stateFile(stateDir)}); stop it with npm run geo:down`);
    }
    log('cleaning up after a geo cluster that is no longer running');
    await geoDown({ stateDir, state: previous });
  }
  const logsDir = join(stateDir, 'logs');
  await rm(logsDir, { recursive: true, force: true });
  await mkdir(logsDir, { recursive: true });
  const tmp = await mkdtemp(join(tmpdir(), 'wharf-geo-'));
  const state: GeoState = {
    version: 1, startedAt: new Date().toISOString(), stateDir, logsDir, configFile: null, processes: [], tempDirs: [tmp],
    database: null, front: null, regions: [], nats: [], notes: [], ready: false,
  };
  await saveState(state);
  const record = async (t: Tracked): Promise<void> => {
    const i = state.processes.findIndex((p) => p.pid === t.pid);
    if (i >= 0) state.processes[i] = t;
    else state.processes.push(t);
    await saveState(state);
    if (opts.signal?.aborted) throw new Error('geo:up was interrupted');
  };
  const logFile = (name: string): string => join(logsDir, `${name}.log`);
  const suffix = opts.bucketSuffix ? `-${opts.bucketSuffix}` : '';
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(5_000, deadline - Date.now());

  try {
    // 1. Stores, NATS and the database, side by side.
    log('starting Ceph RGW, Azurite, the GCS emulator and a 3-node NATS cluster');
    const ceph = opts.s3
      ? Promise.resolve(opts.s3)
      : startCeph({ runDir: join(tmp, 'ceph'), rgwPort: ports.cephRgw, monPort: ports.cephMon, logFile: logFile('ceph'), onSpawn: record }).then((c) => c.s3);
    const azurite = startAzurite({ port: ports.azurite, dir: join(tmp, 'azurite'), logFile: logFile('azurite') }).then(async (a) => {
      await record(a.tracked);
      return a.endpoint;
    });
    const gcsBucket = `wharf-geo-ap-south${suffix}`;
    const gcs = startGcsEmulator({ port: ports.gcs, dir: join(tmp, 'gcs'), logFile: logFile('gcs-emulator'), bucket: gcsBucket }).then(
      async (g) => {
        await record(g.tracked);
        return g.apiEndpoint as string | null;
      },
      async (err: Error & { tracked?: Tracked }) => {
        if (err.tracked) await record(err.tracked);
        state.notes.push(`ap-south uses the filesystem store: the GCS emulator could not run (${err.message.split('\n')[0]})`);
        log(state.notes.at(-1)!);
        return null;
      },
    );
    const nats = startNats({ clientPorts: ports.natsClient, clusterPorts: ports.natsCluster, dir: join(tmp, 'nats'), logsDir, onSpawn: record });
    const db = prepareDatabase(opts.adminPgUrl ?? process.env.WHARF_GEO_PG_URL ?? 'postgres://root@127.0.0.1:5432/postgres', opts.database ?? process.env.WHARF_GEO_DATABASE ?? 'wharf_geo');
    const settled = await Promise.allSettled([ceph, azurite, gcs, nats, db]);
    const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed.length > 0) throw new Error(failed.map((f) => (f.reason as Error).message).join('\n\n'));
    const [s3, azureEndpoint, gcsEndpoint, natsUrls, database] = settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as [S3Endpoint, string, string | null, string[], NonNullable<GeoState['database']>];
    state.database = database;
    state.nats = natsUrls;
    await saveState(state);

    // 2. The cluster config every node reads.
    const nodeUrl = (i: number): string => `http://127.0.0.1:${ports.registry[i]}`;
    const storage: Record<GeoRegion, object> = {
      'us-east': { driver: 's3', s3: { endpoint: s3.endpoint, region: s3.region, bucket: `wharf-geo-us-east${suffix}`, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true } },
      'eu-west': { driver: 'azure', azure: { accountName: AZURITE_ACCOUNT, accountKey: AZURITE_KEY, endpoint: azureEndpoint, container: `wharf-geo-eu-west${suffix}` } },
      'ap-south': gcsEndpoint
        ? { driver: 'gcs', gcs: { bucket: gcsBucket, projectId: GCS_PROJECT, apiEndpoint: gcsEndpoint, emulator: true } }
        : { driver: 'filesystem', filesystem: { root: join(tmp, 'store-ap-south') } },
    };
    const regions: Record<string, object> = {};
    GEO_REGIONS.forEach((r, i) => {
      regions[r.name] = {
        endpoint: `http://127.0.0.1:${ports.front}`,
        nodes: [nodeUrl(2 * i), nodeUrl(2 * i + 1)],
        nearest: [...r.nearest],
        clientCidrs: [`127.0.${r.net}.0/24`],
        storage: storage[r.name],
      };
    });
    const configFile = join(stateDir, 'cluster.json');
    // `prod` is synchronously replicated (a push is acknowledged once in 2 regions): the drills' --sync load.
    const config = { cluster: { regions, replication: { default: { regions: 'all', syncRegions: 1 }, namespaces: { prod: { regions: 'all', syncRegions: 2 } } } } };
    await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
    state.configFile = configFile;

    // 3. Registry nodes, replicators and scanners.
    const env: Record<string, string> = {
      WHARF_CONFIG: configFile,
      WHARF_DATABASE_URL: database.url,
      WHARF_NATS_URL: natsUrls.join(','),
      WHARF_NATS_STREAM_REPLICAS: '3',
      WHARF_LOG_LEVEL: process.env.WHARF_LOG_LEVEL ?? 'info',
      ...(process.env.WHARF_ADMIN_USER !== undefined ? { WHARF_ADMIN_USER: process.env.WHARF_ADMIN_USER } : {}),
      ...(process.env.WHARF_ADMIN_PASSWORD !== undefined ? { WHARF_ADMIN_PASSWORD: process.env.WHARF_ADMIN_PASSWORD } : {}),
      ...opts.nodeEnv,
    };
    const { WHARF_ADMIN_PASSWORD: _secret, ...savedEnv } = env;
    state.launch = { ports, tmp, env: savedEnv, gcsBucket, cephManaged: !opts.s3 };
    await saveState(state);
    const withReplicator = existsSync(REPLICATOR_MAIN);
    if (!withReplicator) {
      state.notes.push(`no replicator (${REPLICATOR_MAIN} does not exist yet): blobs stay in the region they were pushed to`);
      log(state.notes.at(-1)!);
    }
    const started: { p: Spawned; url: string }[] = [];
    const scannerUrl = (i: number): string => `http://127.0.0.1:${ports.scanner[i]}`;
    // One node first: it runs the migrations, so the others do not all queue on the advisory lock at once.
    const spawnOne = async (kind: NodeKind, region: string, instance: string, port: number): Promise<{ p: Spawned; url: string }> => {
      const name = `${kind}-${region}-${instance}`;
      const i = GEO_REGIONS.findIndex((r) => r.name === region);
      const p = await spawnNode({
        kind, name, region, instance, port, env, dataDir: join(tmp, name), logFile: logFile(name), ...(kind === 'registry' ? { scannerUrl: scannerUrl(i) } : {}),
      });
      const url = `http://127.0.0.1:${port}`;
      await record(track(p, { url }));
      return { p, url };
    };
    log('starting registry nodes, replicators and scanners');
    const first = await spawnOne('registry', GEO_REGIONS[0].name, '1', ports.registry[0]!);
    await waitReady(first.p, first.url, left());
    started.push(first);
    const rest: Promise<{ p: Spawned; url: string }>[] = [];
    GEO_REGIONS.forEach((r, i) => {
      for (const k of [0, 1]) if (i + k > 0) rest.push(spawnOne('registry', r.name, String(k + 1), ports.registry[2 * i + k]!));
      if (withReplicator) rest.push(spawnOne('replicator', r.name, '1', ports.replicator[i]!));
      rest.push(spawnOne('scanner', r.name, '1', ports.scanner[i]!));
    });
    const others = await Promise.all(rest);
    started.push(...others);
    await Promise.all(others.map(({ p, url }) => waitReady(p, url, left())));

    state.regions = GEO_REGIONS.map((r, i) => ({
      name: r.name,
      store: r.name === 'ap-south' && !gcsEndpoint ? 'filesystem' : r.store,
      clientCidr: `127.0.${r.net}.0/24`,
      clientAddress: `127.0.${r.net}.1`,
      nodes: [nodeUrl(2 * i), nodeUrl(2 * i + 1)],
      replicator: withReplicator ? `http://127.0.0.1:${ports.replicator[i]}` : null,
      scanner: scannerUrl(i),
    }));
    await saveState(state);

    // 4. The front.
    log('starting HAProxy');
    const frontDir = join(stateDir, 'front');
    await mkdir(frontDir, { recursive: true });
    const mapFile = join(frontDir, 'regions.map');
    const cfgFile = join(frontDir, 'haproxy.cfg');
    const parsed = parseCluster(config.cluster, (s) => s as StorageSection);
    // Also on each region's first client address: tools that cannot choose a source address (skopeo, podman)
    // pick a region by connecting to it, e.g. docker://127.0.2.1:8080/... for eu-west.
    const front = renderHaproxyConfig(parsed, {
      bind: `127.0.0.1:${ports.front}`,
      extraBinds: GEO_REGIONS.map((r) => `127.0.${r.net}.1:${ports.front}`),
      regionByDestination: true,
      mapFile,
      defaultRegion: GEO_REGIONS[0].name,
    });
    await writeFile(mapFile, front.map);
    await writeFile(cfgFile, front.cfg);
    const haproxy = await startHaproxy({ cfgFile, port: ports.front, logFile: logFile('haproxy'), detached: true });
    await record(track(haproxy, { url: `http://127.0.0.1:${ports.front}` }));
    state.front = { url: `http://127.0.0.1:${ports.front}`, port: ports.front, cfgFile, mapFile };
    await saveState(state);

    // 5. Through the front, every region answers /v2/ from its own nodes (401 counts: the nodes may require login).
    for (const r of state.regions) {
      for (;;) {
        const res = await request(`${state.front.url}/v2/`, { localAddress: r.clientAddress }).catch((err: Error) => ({ status: 0, served: err.message }));
        const served = 'header' in res ? res.header('x-wharf-served-region') : res.served;
        if ((res.status === 200 || res.status === 401) && served === r.name) break;
        if (Date.now() > deadline) throw new Error(`the front does not serve ${r.name} clients from ${r.name} (last: ${res.status}, served by ${served})`);
        await sleep(250);
      }
    }
    state.ready = true;
    await saveState(state);
    return state;
  } catch (err) {
    log(`geo:up failed; stopping what was started (logs stay in ${logsDir})`);
    await geoDown({ stateDir, state }).catch(() => undefined);
    throw err;
  }
}

async function prepareDatabase(adminUrl: string, name: string): Promise<NonNullable<GeoState['database']>> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name "${name}" must match [a-z_][a-z0-9_]*`);
  const c = new pg.Client({ connectionString: adminUrl });
  try {
    await c.connect();
  } catch (err) {
    throw new Error(`cannot reach PostgreSQL at ${redact(adminUrl)} (set WHARF_GEO_PG_URL): ${(err as Error).message}`);
  }
  let created = false;
  try {
    const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) {
      await c.query(`CREATE DATABASE "${name}"`);
      created = true;
    }
  } finally {
    await c.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { name, adminUrl, url: url.toString(), created };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** The human summary geo:up prints. */
export function describeGeo(state: GeoState): string {
  const lines = [
    `Wharf geo cluster is up (state: ${stateFile(state.stateDir)}, logs: ${state.logsDir})`,
    '',
    `front (HAProxy)   ${state.front?.url}   region by X-Wharf-Region, else client address, else front address, else us-east`,
    '',
    'region     store                           client network   registry nodes                                   replicator              scanner',
  ];
  for (const r of state.regions) {
    lines.push(`${r.name.padEnd(10)} ${r.store.padEnd(31)} ${r.clientCidr.padEnd(16)} ${r.nodes.join(', ').padEnd(48)} ${(r.replicator ?? '-').padEnd(23)} ${r.scanner ?? '-'}`);
  }
  lines.push(
    '',
    `NATS JetStream    ${state.nats.join(',')}`,
    `PostgreSQL        ${state.database ? redact(state.database.url) : '-'}`,
    `cluster config    ${state.configFile}`,
    '',
    'be a client of a region by source address, e.g. eu-west:',
    `  curl --interface 127.0.2.1 -si ${state.front?.url}/v2/ | grep -i x-wharf-served-region`,
    `or, for tools that cannot choose one, by the front address of the region (${state.regions.map((r) => `${r.name} ${r.clientAddress}:${state.front?.port}`).join(', ')}):`,
    `  skopeo copy --dest-tls-verify=false oci:./layout:1.0 docker://127.0.2.1:${state.front?.port}/team/app:1.0`,
    ...state.notes.map((n) => `note: ${n}`),
    'stop it with: npm run geo:down',
  );
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const t0 = Date.now();
  // Interrupted while starting: stop what was started so far (it is all in the state file); the start itself
  // gives up at its next step and cleans up again (stopping is idempotent).
  const interrupted = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`geo:up: ${sig}; stopping what was started\n`);
      interrupted.abort();
      void geoDown().catch(() => undefined);
      setTimeout(() => process.exit(130), 30_000).unref();
    });
  }
  try {
    const state = await geoUp({ log: (l) => process.stderr.write(`geo:up: ${l}\n`), signal: interrupted.signal });
    process.stdout.write(`${describeGeo(state)}\n(started in ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
    // The cluster's processes are detached; leave them running.
    process.exit(0);
  } catch (err) {
    process.stderr.write(`geo:up: ${(err as Error).message}\n`);
    process.exit(interrupted.signal.aborted ? 130 : 1);
  }
}
