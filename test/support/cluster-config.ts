import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Writes a config file describing a cluster of regions with filesystem stores in a temp dir, for tests that run
 * several regions on one machine. Returns the file path and each region's store root.
 */
export async function writeClusterConfig(opts: {
  regions: string[];
  nearest?: Record<string, string[]>;
  replication?: { default?: object; namespaces?: Record<string, object> };
}): Promise<{ file: string; dir: string; storeRoots: Record<string, string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-cluster-'));
  const storeRoots: Record<string, string> = {};
  const regions: Record<string, object> = {};
  for (const r of opts.regions) {
    storeRoots[r] = join(dir, `store-${r}`);
    regions[r] = { nearest: opts.nearest?.[r] ?? [], storage: { driver: 'filesystem', filesystem: { root: storeRoots[r] } } };
  }
  const file = join(dir, 'cluster.json');
  await writeFile(file, JSON.stringify({ cluster: { regions, replication: opts.replication ?? {} } }, null, 2));
  return { file, dir, storeRoots };
}
