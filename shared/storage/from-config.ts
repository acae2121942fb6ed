import { join } from 'node:path';
import { peersByDistance, type Config } from '../config/index.js';
import { RegionalStores } from './regional.js';
import type { BaseOptions, StorageLogger } from './base.js';
import type { BlobStore } from './driver.js';
import { createDriver } from './registry.js';

/**
 * Opens the store a storage config section describes (the node's own `storage`, or a region's in the cluster
 * section). The one place that maps config keys to driver parameters, for every node that opens stores.
 */
export async function openConfiguredStore(s: Config['storage'], dataDir: string, base: BaseOptions): Promise<BlobStore> {
  switch (s.driver) {
    case 'filesystem':
      return createDriver('filesystem', { root: s.filesystem.root ?? join(dataDir, 'storage'), fsync: s.filesystem.fsync }, base);
    case 's3':
      return createDriver('s3', stripNulls({ ...s.s3, presign: s.redirect }), base);
    case 'azure':
      return createDriver('azure', stripNulls({ ...s.azure, presign: s.redirect }), base);
    case 'gcs':
      return createDriver('gcs', stripNulls({ ...s.gcs, presign: s.redirect && s.gcs.presign }), base);
    case 'inmemory':
      return createDriver('inmemory', {}, base);
    default:
      throw new Error(`storage driver "${s.driver}" cannot be opened from configuration`);
  }
}

function stripNulls(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
}

/** The home region's store now; peer regions' stores when first needed (read fallback, replication sources). */
export async function openRegionalStores(config: Config, logger: StorageLogger): Promise<RegionalStores> {
  const open = (region: string) => {
    const r = config.cluster.regions.find((x) => x.name === region);
    if (!r) return Promise.reject(new Error(`unknown region ${region}`));
    const section = r.storage as unknown as Config['storage'];
    return openConfiguredStore(section, config.dataDir, { maxConcurrency: section.maxConcurrency, logger });
  };
  return new RegionalStores(config.node.region, await open(config.node.region), open, peersByDistance(config.cluster, config.node.region));
}
