/**
 * npm run geo:down — stops exactly what geo:up started (by PID from .geo/state.json, each with the process group it
 * leads, so children go too), in reverse start order, then removes the temp dirs, drops the database geo:up created
 * (its stores are gone with the temp dirs) and the state file. Logs under .geo/logs stay for a post-mortem.
 */
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { alive, stopPid } from './processes.js';
import { DEFAULT_GEO_DIR, loadState, stateFile, type GeoState } from './state.js';

export async function geoDown(opts: { stateDir?: string; log?: (line: string) => void; state?: GeoState } = {}): Promise<boolean> {
  const stateDir = opts.stateDir ?? DEFAULT_GEO_DIR;
  const log = opts.log ?? (() => undefined);
  const state = opts.state ?? (await loadState(stateDir));
  if (!state) {
    log(`no geo cluster state in ${stateFile(stateDir)}: nothing to stop`);
    return false;
  }
  // Front first (clients stop arriving), then nodes, replicators and scanners, then the services they use.
  const procs = [...state.processes].reverse();
  const order = (name: string): number => (name === 'haproxy' ? 0 : /^(registry|replicator|scanner)-/.test(name) ? 1 : 2);
  procs.sort((a, b) => order(a.name) - order(b.name));
  for (const phase of [0, 1, 2]) {
    await Promise.all(
      procs
        .filter((p) => order(p.name) === phase)
        .map(async (p) => {
          await stopPid(p.pid, { group: p.group, graceMs: phase === 1 ? 15_000 : 5_000 });
          for (const extra of p.pids ?? []) if (alive(extra)) await stopPid(extra, { graceMs: 3_000 });
          log(`stopped ${p.name} (pid ${p.pid})`);
        }),
    );
  }
  for (const dir of state.tempDirs) await rm(dir, { recursive: true, force: true });
  if (state.database?.created) {
    const c = new pg.Client({ connectionString: state.database.adminUrl });
    try {
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${state.database.name}" WITH (FORCE)`);
      log(`dropped database ${state.database.name}`);
    } catch (err) {
      log(`could not drop database ${state.database.name}: ${(err as Error).message}`);
    } finally {
      await c.end().catch(() => undefined);
    }
  }
  await rm(stateFile(stateDir), { force: true });
  await rm(resolve(stateDir, 'front'), { recursive: true, force: true });
  await rm(resolve(stateDir, 'cluster.json'), { force: true });
  return true;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const stopped = await geoDown({ log: (l) => process.stdout.write(`${l}\n`) });
    process.stdout.write(stopped ? 'geo cluster stopped\n' : '');
    process.exit(0);
  } catch (err) {
    process.stderr.write(`geo:down: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  }
}
