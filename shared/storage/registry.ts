import { withBase, type BaseOptions } from './base.js';
import type { BlobStore } from './driver.js';
import { createFilesystemDriver } from './filesystem/driver.js';
import { createInMemoryDriver } from './inmemory/driver.js';
import type { DriverParams } from './params.js';

type DriverFactory = (params: DriverParams) => Promise<BlobStore>;

/**
 * Every driver Wharf knows, by config name. Explicit on purpose: an unknown or misspelt name must stop the
 * process at startup, never fall back to some default store.
 */
const FACTORIES = {
  filesystem: createFilesystemDriver,
  inmemory: async (params) => createInMemoryDriver(params),
  // Loaded on demand: the cloud SDKs cost startup time and memory that filesystem deployments need not pay.
  s3: async (params) => (await import('./s3/driver.js')).createS3Driver(params),
  gcs: async (params) => (await import('./gcs/driver.js')).createGcsDriver(params),
  azure: async (params) => (await import('./azure/driver.js')).createAzureDriver(params),
} satisfies Record<string, DriverFactory>;

export type DriverName = keyof typeof FACTORIES;
export const DRIVER_NAMES = Object.keys(FACTORIES) as DriverName[];

export function isDriverName(name: string): name is DriverName {
  return Object.hasOwn(FACTORIES, name);
}

/**
 * Builds the named driver from its parameter map (each driver rejects unknown or missing keys) and wraps it
 * with base.ts: callers never see an unchecked driver.
 */
export async function createDriver(name: string, params: DriverParams = {}, base: BaseOptions = {}): Promise<BlobStore> {
  if (!isDriverName(name)) {
    throw new Error(`unknown storage driver "${name}" (known: ${DRIVER_NAMES.join(', ')})`);
  }
  const factory: DriverFactory = FACTORIES[name];
  return withBase(await factory(params), base);
}
