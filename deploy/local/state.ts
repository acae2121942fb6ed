import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT, type Tracked } from './launchers.js';

/** Where geo:up keeps its state, config and logs (gitignored). */
export const DEFAULT_GEO_DIR = join(REPO_ROOT, '.geo');

export interface GeoRegionState {
  name: string;
  store: string;
  clientCidr: string;
  clientAddress: string;
  nodes: string[];
  replicator: string | null;
  /** The region's scanner (every registry node of the region has it as WHARF_SCANNER_URL); null: none started. */
  scanner: string | null;
}

/**
 * Everything geo:up started, written as it goes (so geo:down can undo a half-finished start too): processes by
 * PID in start order, the temp dirs to remove and the database it created.
 */
export interface GeoState {
  version: 1;
  startedAt: string;
  stateDir: string;
  logsDir: string;
  configFile: string | null;
  processes: Tracked[];
  tempDirs: string[];
  database: { name: string; adminUrl: string; url: string; created: boolean } | null;
  front: { url: string; port: number; cfgFile: string; mapFile: string } | null;
  regions: GeoRegionState[];
  nats: string[];
  notes: string[];
  ready: boolean;
  /** How the parts were started, so deploy/local/restart.ts can start one again with the same config (drills). */
  launch?: GeoLaunch;
}

/** What a restart needs beyond the processes' names: ports, dirs and the nodes' environment (no secrets). */
export interface GeoLaunch {
  ports: GeoLaunchPorts;
  /** The temp dir holding the stores', NATS' and the nodes' data. */
  tmp: string;
  /** WHARF_* settings every node, replicator and scanner got (WHARF_ADMIN_PASSWORD is taken from the environment again). */
  env: Record<string, string>;
  gcsBucket: string;
  /** Whether geo:up started Ceph itself (false: an external S3 server, not ours to stop). */
  cephManaged: boolean;
}

export interface GeoLaunchPorts {
  front: number;
  /** Two registry nodes per region, in GEO_REGIONS order: [us-east-1, us-east-2, eu-west-1, ...] */
  registry: number[];
  /** The replicator's /healthz, /readyz, /metrics per region. */
  replicator: number[];
  /** The scanner's API (/healthz, /readyz, /indexer, /matcher, ...) per region. */
  scanner: number[];
  natsClient: number[];
  natsCluster: number[];
  cephRgw: number;
  cephMon: number;
  azurite: number;
  gcs: number;
}

export const stateFile = (stateDir: string): string => join(stateDir, 'state.json');

let writes: Promise<void> = Promise.resolve();

/** Writes the state atomically; calls are serialized, so concurrent launchers may record as they go. */
export function saveState(state: GeoState): Promise<void> {
  const file = stateFile(state.stateDir);
  const text = `${JSON.stringify(state, null, 2)}\n`;
  const next = writes.then(async () => {
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
  });
  writes = next.catch(() => undefined);
  return next;
}

export async function loadState(stateDir: string): Promise<GeoState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(stateDir), 'utf8')) as GeoState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
