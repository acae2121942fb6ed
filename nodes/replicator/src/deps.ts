import type { Config } from '../../../shared/config/index.js';
import type { Pool } from '../../../shared/db/pool.js';
import type { EventBus } from '../../../shared/events/index.js';
import type { Logger } from '../../../shared/logging/logger.js';
import type { RegionalStores } from '../../../shared/storage/regional.js';
import type { ReplicatorMetrics } from './metrics.js';

/** What the replicator's parts use; built by node.ts (the service) or cli.ts (one-shot commands). */
export interface ReplicatorDeps {
  config: Config;
  log: Logger;
  db: Pool;
  /** Every region's store; the home one is the region this replicator fills. */
  stores: RegionalStores;
  /** For replication.done (and reconcile's re-announcements); commands run without one when NATS is not configured. */
  bus: EventBus | undefined;
  metrics: ReplicatorMetrics | undefined;
}
