// The registries under test. Each is a small {name, start()} object so the bench
// can treat Wharf and CNCF Distribution (or two Distributions, while Wharf is not
// runnable yet) identically.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { request } from './http.js';

export interface RunningRegistry {
  readonly name: string;
  /** Base URL, e.g. http://127.0.0.1:40123 (no trailing slash). */
  readonly url: string;
  /** pid of the registry process (root of the measured process tree). */
  readonly pid: number;
  /** Free-form description for the report (binary version, command line). */
  readonly description: string;
  readonly logPath: string;
  /**
   * Processes outside the registry's own tree that work on its behalf — Wharf's
   * PostgreSQL backends — so their CPU can be shown next to the registry's.
   */
  helperPids?(): Promise<number[]>;
  stop(): Promise<void>;
}

export interface RegistryUnderTest {
  readonly name: string;
  start(): Promise<RunningRegistry>;
}

export const DISTRIBUTION_BIN = process.env.BENCH_DISTRIBUTION_BIN ?? '/usr/bin/docker-registry';
export const WHARF_ENTRY = 'nodes/registry/src/main.ts';

/** A free loopback port (tiny race between closing and the registry binding it; acceptable). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function logTail(path: string, bytes = 3000): string {
  try {
    const s = readFileSync(path, 'utf8');
    return s.length > bytes ? '…' + s.slice(-bytes) : s;
  } catch {
    return '(no log)';
  }
}

/** Spawns with stdout/stderr going straight to a file, so the bench never has to drain the registry's logs. */
function spawnLogged(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; logPath: string }): ChildProcess {
  const fd = openSync(opts.logPath, 'a');
  try {
    return spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd); // the child holds its own copy
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls until the registry answers: `paths` are tried in order each round, first 200
 * wins (e.g. /readyz, falling back to /v2/ for servers without a readiness endpoint).
 */
async function waitReady(name: string, child: ChildProcess, base: string, paths: string[], logPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited during startup (code ${child.exitCode}, signal ${child.signalCode}). Log:\n${logTail(logPath)}`);
    }
    for (const p of paths) {
      try {
        const res = await request(`${base}${p}`, { method: 'GET', timeoutMs: 2000 });
        if (res.status === 200) return;
        last = `${p} -> ${res.status}`;
      } catch (e) {
        last = `${p} -> ${(e as Error).message}`;
      }
    }
    await sleep(200);
  }
  throw new Error(`${name} not ready after ${timeoutMs} ms (last: ${last}). Log:\n${logTail(logPath)}`);
}

/** SIGTERM, then SIGKILL if it does not exit in time. */
async function terminate(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

function distributionVersion(): string {
  try {
    return execFileSync(DISTRIBUTION_BIN, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return DISTRIBUTION_BIN;
  }
}

/**
 * CNCF Distribution with filesystem storage in its own temp dir and its own config.
 * Logging is at warn with the access log off: Wharf runs with WHARF_LOG_LEVEL=warn,
 * and per-request log lines would otherwise be a large share of a manifest GET's cost.
 */
export function distribution(name: string, workDir: string): RegistryUnderTest {
  return {
    name,
    async start() {
      const dir = join(workDir, name);
      mkdirSync(join(dir, 'data'), { recursive: true });
      const port = await freePort();
      const configPath = join(dir, 'config.yml');
      writeFileSync(
        configPath,
        [
          'version: 0.1',
          'log:',
          '  level: warn',
          '  accesslog:',
          '    disabled: true',
          'storage:',
          '  filesystem:',
          `    rootdirectory: ${join(dir, 'data')}`,
          '  delete:',
          '    enabled: true',
          '  cache:',
          '    blobdescriptor: inmemory',
          '  redirect:',
          '    disable: true',
          '  maintenance:',
          '    uploadpurging:',
          '      enabled: false',
          'http:',
          `  addr: 127.0.0.1:${port}`,
          'health:',
          '  storagedriver:',
          '    enabled: false',
          '',
        ].join('\n'),
      );
      const logPath = join(dir, 'registry.log');
      const child = spawnLogged(DISTRIBUTION_BIN, ['serve', configPath], { cwd: dir, env: process.env, logPath });
      const url = `http://127.0.0.1:${port}`;
      try {
        await waitReady(name, child, url, ['/v2/'], logPath, 30_000);
      } catch (e) {
        await terminate(child, 2000);
        throw e;
      }
      return {
        name,
        url,
        pid: child.pid!,
        description: `${distributionVersion()} (filesystem storage, config ${configPath})`,
        logPath,
        stop: () => terminate(child),
      };
    },
  };
}

/** Connects to the machine's PostgreSQL (trust auth) as root, falling back to postgres. */
async function adminClient(): Promise<{ client: pg.Client; user: string }> {
  let lastErr: unknown;
  for (const user of ['root', 'postgres']) {
    const client = new pg.Client({ host: '127.0.0.1', port: 5432, user, database: 'postgres' });
    try {
      await client.connect();
      return { client, user };
    } catch (e) {
      lastErr = e;
      await client.end().catch(() => {});
    }
  }
  throw new Error(`cannot connect to PostgreSQL at 127.0.0.1:5432 as root or postgres: ${(lastErr as Error).message}`);
}

/**
 * Wharf, started per its contract: `node --import tsx nodes/registry/src/main.ts`
 * with PORT, WHARF_DATA_DIR, WHARF_DATABASE_URL (a fresh database, dropped on stop)
 * and WHARF_LOG_LEVEL=warn; ready when /readyz (or /v2/) answers 200.
 */
export function wharf(name: string, repoRoot: string, workDir: string): RegistryUnderTest {
  return {
    name,
    async start() {
      const entry = join(repoRoot, WHARF_ENTRY);
      if (!existsSync(entry)) throw new Error(`${entry} does not exist yet (run with BENCH_SUBJECT=distribution to validate the harness)`);
      const dir = join(workDir, name);
      mkdirSync(join(dir, 'data'), { recursive: true });
      const db = `wharf_bench_${randomBytes(6).toString('hex')}`;
      const { client, user } = await adminClient();
      await client.query(`CREATE DATABASE ${db}`);
      await client.end();
      const dropDb = async (): Promise<void> => {
        const { client: c } = await adminClient();
        try {
          // WITH (FORCE): a pool connection left open by a killed Wharf must not block the drop.
          await c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        } finally {
          await c.end();
        }
      };
      const port = await freePort();
      const logPath = join(dir, 'registry.log');
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PORT: String(port),
        WHARF_DATA_DIR: join(dir, 'data'),
        WHARF_DATABASE_URL: `postgres://${user}@127.0.0.1:5432/${db}`,
        WHARF_LOG_LEVEL: 'warn',
        // Loopback only, like the Distribution instance (Wharf's default is 0.0.0.0).
        WHARF_SERVER_HOST: '127.0.0.1',
        // Distribution scans nothing: an embedded scanner indexing the pushed blobs would take CPU from the runs.
        WHARF_SCANNER_EMBEDDED: 'false',
      };
      const child = spawnLogged(process.execPath, ['--import', 'tsx', entry], { cwd: repoRoot, env, logPath });
      const url = `http://127.0.0.1:${port}`;
      try {
        await waitReady(name, child, url, ['/readyz', '/v2/'], logPath, 90_000);
      } catch (e) {
        await terminate(child, 2000);
        await dropDb().catch(() => {});
        throw e;
      }
      return {
        name,
        url,
        pid: child.pid!,
        description: `node ${process.version} --import tsx ${WHARF_ENTRY} (db ${db})`,
        logPath,
        async helperPids() {
          const { client: c } = await adminClient();
          try {
            const r = await c.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [db]);
            return r.rows.map((x) => x.pid);
          } finally {
            await c.end();
          }
        },
        async stop() {
          await terminate(child);
          await dropDb();
        },
      };
    },
  };
}
