import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { startRegistryNode, type RunningNode } from '../../nodes/registry/src/node.js';
import { createTestDatabase, type TestDatabase } from './db.js';

export interface TestRegistry {
  url: string;
  node: RunningNode;
  db: TestDatabase;
  dataDir: string;
  /** Another node of the same region: same database and object store, its own process state. */
  addNode(): Promise<RunningNode>;
  stop(): Promise<void>;
}

/**
 * A real registry node on a random port with a fresh database on the machine's Postgres and a filesystem store in
 * a temp dir. `env` adds WHARF_* settings (e.g. WHARF_STORAGE_DRIVER=s3 ...).
 */
export async function startTestRegistry(env: Record<string, string> = {}, opts: { db?: TestDatabase } = {}): Promise<TestRegistry> {
  const db = opts.db ?? (await createTestDatabase());
  const dataDir = await mkdtemp(join(tmpdir(), 'wharf-test-'));
  const config = loadConfig({
    PORT: '0',
    WHARF_SERVER_HOST: '127.0.0.1',
    WHARF_DATA_DIR: dataDir,
    WHARF_DATABASE_URL: db.url,
    WHARF_GC_ENABLED: 'false',
    WHARF_LOG_LEVEL: process.env.WHARF_TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const log = createLogger({ level: config.log.level, bindings: { node: 'test' } });
  const nodes: RunningNode[] = [await startRegistryNode(config, { log, defaultMetrics: false })];
  return {
    url: nodes[0]!.url,
    node: nodes[0]!,
    db,
    dataDir,
    addNode: async () => {
      const n = await startRegistryNode(config, { log, defaultMetrics: false });
      nodes.push(n);
      return n;
    },
    stop: async () => {
      for (const n of nodes) await n.close();
      if (!opts.db) await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
