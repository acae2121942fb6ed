import type { HttpBindings } from '@hono/node-server';
import type { Pool } from '../../../shared/db/pool.js';
import type { BlobStore } from '../../../shared/storage/driver.js';
import type { RegionalStores } from '../../../shared/storage/regional.js';
import type { Config } from '../../../shared/config/index.js';
import type { Logger } from '../../../shared/logging/logger.js';
import type { RegistryEvents } from './services/events.js';
import type { Metrics } from './ops/metrics.js';
import type { UploadHashers } from './services/upload-hashers.js';
import type { RequestAccess } from './services/access.js';
import type { RegionHealth } from './services/region-health.js';
import type { Principal } from './auth/principal.js';
import type { TokenAuth } from './auth/token-auth.js';
import type { AuditLog } from './services/audit.js';
import type { Notifier } from './services/notifications.js';

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
  /** Registry token auth; null when the node runs open (auth.mode). */
  auth: TokenAuth | null;
  audit: AuditLog;
  /** The scanner's base URL (scanner.url, or the embedded scanner once started); null when there is none. */
  scannerUrl: () => string | null;
  notifier: Notifier;
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
    /** The caller's name for logs and events ("anonymous" when unauthenticated). */
    actor: string;
    /** The authenticated caller, null for anonymous. */
    principal: Principal | null;
    /** The client address (the socket's, or X-Forwarded-For's last hop behind a trusted proxy). */
    ip: string;
    /** What the caller may do on /v2: everything on an open node, what its verified token grants otherwise. */
    access: RequestAccess;
  };
}
