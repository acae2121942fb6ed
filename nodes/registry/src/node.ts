import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Config } from '../../../shared/config/index.js';
import { createLogger, type Logger } from '../../../shared/logging/logger.js';
import { createPool } from '../../../shared/db/pool.js';
import { migrate } from '../../../shared/db/migrate.js';
import { startEmbeddedDatabase } from '../../../shared/db/embedded.js';
import { openRegionalStores } from '../../../shared/storage/from-config.js';
import {
  connectJetStreamBus, createMemoryBus, eventNames, eventSource, type EventBus,
} from '../../../shared/events/index.js';
import { onceClosing, probe, type Closer } from '../../../shared/lifecycle/shutdown.js';
import { createApp } from './app.js';
import type { Deps } from './deps.js';
import { createMetrics } from './ops/metrics.js';
import { busEvents } from './services/events.js';
import { UploadHashers } from './services/upload-hashers.js';
import { authEnabled } from '../../../shared/config/index.js';
import { startTokenAuth } from './auth/token-auth.js';
import { bootstrapAdmin } from './auth/bootstrap.js';
import { createAuditLog } from './services/audit.js';
import { createNotifier } from './services/notifications.js';
import { startEmbeddedScanner } from './services/embedded-scanner.js';
import { startWebhookWorker } from './services/webhook-worker.js';
import { scheduleGc } from './services/gc.js';
import { scheduleAuditRetention } from './services/audit-retention.js';
import { RegionHealth } from './services/region-health.js';
import { clusterStatus } from './services/replication-status.js';
import { registerReplicationMetrics } from './ops/replication-metrics.js';

export interface RunningNode {
  url: string;
  port: number;
  deps: Deps;
  /** Closers in shutdown order: stop accepting, drain events, close the bus, the pool, the embedded database. */
  closers: Closer[];
  close(): Promise<void>;
}

/** Builds every dependency from the config and starts serving. main.ts and the integration tests both use it. */
export async function startRegistryNode(
  config: Config,
  opts: { log?: Logger; defaultMetrics?: boolean; /** main.ts: run a scanner beside the node when none is configured. */ embeddedScanner?: { env: Record<string, string | undefined> } } = {},
): Promise<RunningNode> {
  const instance = config.node.instance ?? randomBytes(4).toString('hex');
  const log = opts.log ?? createLogger({
    level: config.log.level, bindings: { node: config.node.name, region: config.node.region, instance },
  });
  const closers: Closer[] = [];

  let databaseUrl = config.database.url;
  if (!databaseUrl) {
    const embedded = await startEmbeddedDatabase(config.dataDir, config.database.embeddedPort, log);
    databaseUrl = embedded.url;
    closers.unshift({ name: 'embedded-postgres', close: () => embedded.stop() });
  }
  const db = createPool({ connectionString: databaseUrl, max: config.database.poolMax, applicationName: `wharf-${config.node.name}` });
  closers.unshift({ name: 'postgres-pool', close: () => db.end() });
  await migrate(db, log);

  const stores = await openRegionalStores(config, log.child({ component: 'storage' }));
  const store = stores.home;
  closers.unshift({ name: 'storage', close: () => stores.close() });

  const names = eventNames(config.nats.prefix);
  const source = eventSource({ node: config.node.name, region: config.node.region, instance });
  const busLog = log.child({ component: 'events' });
  const bus: EventBus = config.nats.url
    ? await connectJetStreamBus({ servers: config.nats.url.split(','), names, logger: busLog, source, streamReplicas: config.nats.streamReplicas })
    : createMemoryBus({ names, logger: busLog, source });
  closers.unshift({ name: 'events', close: () => bus.close() });

  const auth = authEnabled(config) ? await startTokenAuth(db, config, log.child({ component: 'auth' })) : null;
  if (auth) closers.unshift({ name: 'token-auth', close: () => auth.close() });
  await bootstrapAdmin(db, config, log);
  const audit = createAuditLog(db, log.child({ component: 'audit' }));
  let scannerUrl = config.scanner.url;
  if (!scannerUrl && config.scanner.embedded && opts.embeddedScanner) {
    const scanner = await startEmbeddedScanner({ env: opts.embeddedScanner.env, databaseUrl, port: config.scanner.port, log: log.child({ component: 'scanner' }) });
    if (scanner) {
      scannerUrl = scanner.url;
      closers.unshift({ name: 'embedded-scanner', close: () => scanner.stop() });
    }
  }
  closers.unshift({ name: 'audit-flush', close: () => audit.close() });

  const metrics = createMetrics({ defaultMetrics: opts.defaultMetrics ?? true });
  const events = busEvents(bus, config.node.region, log, metrics);
  closers.unshift({ name: 'event-drain', close: () => events.drain() });
  const deps: Deps = {
    config, log, db, store, stores, regionHealth: new RegionHealth(), events, metrics, region: config.node.region,
    hashers: new UploadHashers(), auth, audit, notifier: createNotifier(), scannerUrl: () => scannerUrl,
    readiness: async () => ({
      database: await probe(async () => void (await db.query('SELECT 1'))),
      events: await bus.health(),
      storage: await probe(async () => void (await collectFirst(store.list('uploads')))),
    }),
  };

  registerReplicationMetrics(metrics.registry, async () => (await clusterStatus(deps)).regions);

  const gcAbort = new AbortController();
  if (config.gc.enabled) scheduleGc(deps, gcAbort.signal);
  closers.unshift({ name: 'gc', close: async () => gcAbort.abort() });

  // Webhook deliveries are sent from the outbox by this worker, never inside a request; stopping waits for the sends
  // in flight (each bounded by notifications.timeoutSeconds), before the pool closes.
  if (config.notifications.worker) {
    const webhooks = startWebhookWorker(deps);
    closers.unshift({ name: 'webhook-worker', close: () => webhooks.stop() });
  }
  const retentionAbort = new AbortController();
  scheduleAuditRetention(deps, retentionAbort.signal);
  closers.unshift({ name: 'audit-retention', close: async () => retentionAbort.abort() });

  const app = createApp(deps);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.server.port, hostname: config.server.host }, () => resolve(s));
  });
  // Long blob uploads must not be cut off by Node's default request timeout.
  (server as unknown as { requestTimeout: number }).requestTimeout = 0;
  (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = 65_000;
  closers.unshift({
    name: 'http-server',
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    }),
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host;
  log.info({ port, storage: store.name, events: config.nats.url ? 'jetstream' : 'in-process' }, 'registry node listening');
  return {
    url: `http://${host}:${port}`,
    port,
    deps,
    closers,
    close: onceClosing(closers, log),
  };
}


async function collectFirst(it: AsyncIterable<string>): Promise<void> {
  for await (const _ of it) break;
}
