import { join } from 'node:path';
import type { Config } from '../config/index.js';
import type { BaseOptions } from './base.js';
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
    case 'inmemory':
      return createDriver('inmemory', {}, base);
  }
}

function stripNulls(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));
}
