import { randomBytes } from 'node:crypto';
import type { Config } from '../../../shared/config/index.js';
import { createPool } from '../../../shared/db/pool.js';
import { migrate } from '../../../shared/db/migrate.js';
import {
  connectJetStreamBus, eventNames, eventSource, replicatorDurable, type EventBus, type Subscription,
} from '../../../shared/events/index.js';
import { onceClosing, probe, type Closer } from '../../../shared/lifecycle/shutdown.js';
import { createLogger, type Logger } from '../../../shared/logging/logger.js';
import { openRegionalStores } from '../../../shared/storage/from-config.js';
import { createReplicationHandler, type ReplicationHandler } from './consumer.js';
import type { ReplicatorDeps } from './deps.js';
import { createReplicatorMetrics } from './metrics.js';
import { startOpsServer } from './ops.js';

export interface RunningReplicator {
  /** The region this replicator fills (node.region). */
  region: string;
  deps: ReplicatorDeps;
  /** Base URL of /healthz, /readyz, /metrics. */
  opsUrl: string;
  /** The event handler, exposed so tests can hand it an event directly (redelivery). */
  handler: ReplicationHandler;
  /** Closers in shutdown order: stop consuming (running copies abort and are nak'ed), bus, stores, pool, ops server. */
  closers: Closer[];
  close(): Promise<void>;
}

/**
 * Database, stores and (optionally) the event bus, as both the service and the one-shot commands use them.
 * The replicator needs the cluster's shared PostgreSQL: an embedded database would be a private one.
 */
export async function openReplicatorDeps(
  config: Config,
  opts: { log: Logger; bus: 'required' | 'optional' | 'none'; defaultMetrics?: boolean; instance?: string },
): Promise<{ deps: ReplicatorDeps; closers: Closer[] }> {
  if (!config.database.url) throw new Error('the replicator needs database.url (WHARF_DATABASE_URL): the cluster\'s shared PostgreSQL');
  if (opts.bus === 'required' && !config.nats.url) throw new Error('the replicator needs nats.url (WHARF_NATS_URL): it consumes the cluster\'s JetStream events');
  const log = opts.log;
  const closers: Closer[] = [];
  const db = createPool({ connectionString: config.database.url, max: Math.min(config.database.poolMax, config.replicator.concurrency * 2 + 4), applicationName: 'wharf-replicator' });
  closers.unshift({ name: 'postgres-pool', close: () => db.end() });
  try {
    await migrate(db, log);
    const stores = await openRegionalStores(config, log.child({ component: 'storage' }));
    closers.unshift({ name: 'storage', close: () => stores.close() });
    let bus: EventBus | undefined;
    if (config.nats.url && opts.bus !== 'none') {
      const instance = opts.instance ?? config.node.instance ?? randomBytes(4).toString('hex');
      bus = await connectJetStreamBus({
        servers: config.nats.url.split(','),
        names: eventNames(config.nats.prefix),
        logger: log.child({ component: 'events' }),
        source: eventSource({ node: 'replicator', region: config.node.region, instance }),
        streamReplicas: config.nats.streamReplicas,
      });
      const b = bus;
      closers.unshift({ name: 'events', close: () => b.close() });
    }
    const metrics = opts.defaultMetrics === undefined ? undefined : createReplicatorMetrics({ defaultMetrics: opts.defaultMetrics });
    return { deps: { config, log, db, stores, bus, metrics }, closers };
  } catch (err) {
    for (const c of closers) await c.close().catch(() => {});
    throw err;
  }
}

/**
 * The replicator of node.region: one durable JetStream consumer (replicator-<region>) over every region's
 * blob.written and manifest.pushed, copying what this region lacks. Instances of one region share the consumer,
 * and so the work. main.ts and the tests both start it through here.
 */
export async function startReplicatorNode(config: Config, opts: { log?: Logger; defaultMetrics?: boolean } = {}): Promise<RunningReplicator> {
  const instance = config.node.instance ?? randomBytes(4).toString('hex');
  const region = config.node.region;
  const log = opts.log ?? createLogger({ level: config.log.level, bindings: { node: 'replicator', region, instance } });
  const { deps, closers } = await openReplicatorDeps(config, { log, bus: 'required', defaultMetrics: opts.defaultMetrics ?? true, instance });
  const bus = deps.bus!;
  const metrics = deps.metrics!;
  const r = config.replicator;

  let ops;
  try {
    ops = await startOpsServer({
      host: config.server.host, port: r.metricsPort, region, registry: metrics.registry,
      readiness: async () => ({
        database: await probe(async () => void (await deps.db.query('SELECT 1'))),
        events: await bus.health(),
        storage: await probe(async () => {
          for await (const _ of deps.stores.home.list('blobs')) break;
        }),
      }),
    });
  } catch (err) {
    for (const c of closers) await c.close().catch(() => {});
    throw err;
  }
  closers.push({ name: 'ops-server', close: () => ops.close() });

  const handler = createReplicationHandler(deps, {
    region, concurrency: r.concurrency, maxDeliver: r.maxDeliver, ackWaitMs: r.ackWaitSeconds * 1000,
  });
  let sub: Subscription;
  try {
    sub = await bus.subscribe({
      durable: replicatorDurable(region),
      filterSubjects: eventNames(config.nats.prefix).replicatorFilters(),
      handler,
      maxInFlight: r.concurrency,
      maxDeliver: r.maxDeliver,
      ackWaitMs: r.ackWaitSeconds * 1000,
    });
  } catch (err) {
    for (const c of closers) await c.close().catch(() => {});
    throw err;
  }
  closers.unshift({ name: 'consumer', close: () => sub.close() });
  log.info({ port: ops.port, home: deps.stores.home.name, peers: deps.stores.peers, concurrency: r.concurrency }, 'replicator listening');

  return {
    region,
    deps,
    opsUrl: ops.url,
    handler,
    closers,
    close: onceClosing(closers, log),
  };
}

