import type { HttpBindings } from '@hono/node-server';
import type { Pool } from '../../../shared/db/pool.js';
import type { BlobStore } from '../../../shared/storage/driver.js';
import type { RegionalStores } from '../../../shared/storage/regional.js';
import type { Config } from '../../../shared/config/index.js';
import type { Logger } from '../../../shared/logging/logger.js';
import type { RegistryEvents } from './services/events.js';
import type { Metrics } from './ops/metrics.js';
import type { UploadHashers } from './services/upload-hashers.js';
import type { AccessPolicy } from './services/access.js';
import type { RegionHealth } from './services/region-health.js';

/** Everything a handler or service may use; built once in main.ts (or a test) and passed down. */
export interface Deps {
  config: Config;
  log: Logger;
  db: Pool;
  /** This node's region and the object store that holds the region's bytes. */
  region: string;
  store: BlobStore;
  /** Every region's store (the home one is `store`), for reads of blobs not yet replicated here. */
  stores: RegionalStores;
  regionHealth: RegionHealth;
  events: RegistryEvents;
  metrics: Metrics;
  hashers: UploadHashers;
  access: AccessPolicy;
  /** Reports whether dependencies are usable, for /readyz. */
  readiness: () => Promise<Record<string, { ok: boolean; detail?: string }>>;
}

/** Hono environment: the Node request/response (for streaming without copies) and what middleware puts on c.var. */
export interface AppEnv {
  Bindings: HttpBindings;
  Variables: {
    requestId: string;
    log: Logger;
    route: string;
    actor: string;
  };
}
