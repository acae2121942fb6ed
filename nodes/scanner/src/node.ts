import { createPrivateKey, createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Config } from '../../../shared/config/index.js';
import { createPool } from '../../../shared/db/pool.js';
import { migrate } from '../../../shared/db/migrate.js';
import * as scans from '../../../shared/db/scans.js';
import { manifestsWithPackages } from '../../../shared/db/vulndb.js';
import { enqueueDeliveries } from '../../../shared/db/notification-outbox.js';
import {
  connectJetStreamBus, eventNames, eventSource, outcome, scannerDurable, type EventBus,
} from '../../../shared/events/index.js';
import { onceClosing, type Closer } from '../../../shared/lifecycle/shutdown.js';
import { createLogger, type Logger } from '../../../shared/logging/logger.js';
import { openRegionalStores } from '../../../shared/storage/from-config.js';
import { SCANNERS } from './ecosystems/index.js';
import type { Digest } from '../../../shared/oci/digest.js';
import type { RepoName } from '../../../shared/oci/reference.js';

import { scannerSet, type IndexerDeps } from './indexer/controller.js';
import { startIndexWorker } from './worker.js';
import { scannerApi } from './api.js';
import type { BundleKeys } from './vulndb.js';
import { feedUpdater } from './updater.js';
import { findingKey, manifestVulnerabilities } from './reports.js';

/** scanner.bundleSigningKeyFile (PEM Ed25519 private key) and scanner.bundleTrustedKeyFiles (comma-separated PEM public keys). */
function bundleKeys(config: Config): BundleKeys {
  const { bundleSigningKeyFile, bundleTrustedKeyFiles } = config.scanner;
  return {
    ...(bundleSigningKeyFile ? { signing: createPrivateKey(readFileSync(bundleSigningKeyFile)) } : {}),
    trusted: (bundleTrustedKeyFiles ?? '').split(',').map((f) => f.trim()).filter(Boolean).map((f) => createPublicKey(readFileSync(f))),
  };
}

export interface RunningScanner {
  url: string;
  log: Logger;
  port: number;
  indexer: IndexerDeps;
  /** Re-matches one manifest and records (and announces) what is new; returns the new finding keys. */
  rematch(digest: string): Promise<string[]>;
  closers: Closer[];
  close(): Promise<void>;
}

/**
 * The scanner node: indexes manifests (queued by `manifest pushed` events, by the registry's API, or found by its
 * own sweep), serves Clair's API, imports vulnerability data, and when new data makes an indexed manifest
 * vulnerable records a `vulnerability_found` notification for the repositories holding it.
 */
export async function startScannerNode(config: Config, opts: { log?: Logger; port?: number } = {}): Promise<RunningScanner> {
  if (!config.database.url) throw new Error('the scanner needs database.url (WHARF_DATABASE_URL): the registry\'s PostgreSQL');
  const instance = config.node.instance ?? randomBytes(4).toString('hex');
  const log = opts.log ?? createLogger({ level: config.log.level, bindings: { node: 'scanner', region: config.node.region, instance } });
  const closers: Closer[] = [];
  const db = createPool({ connectionString: config.database.url, max: Math.max(4, config.scanner.concurrency * 2 + 2), applicationName: 'wharf-scanner' });
  closers.unshift({ name: 'postgres-pool', close: () => db.end() });
  await migrate(db, log);
  const stores = await openRegionalStores(config, log.child({ component: 'storage' }));
  closers.unshift({ name: 'storage', close: () => stores.close() });

  const indexer: IndexerDeps = {
    db, stores, log: log.child({ component: 'indexer' }), scanners: SCANNERS,
    limits: { maxDecompressedBytes: config.scanner.maxLayerBytes, timeoutMs: config.scanner.layerTimeoutSeconds * 1000 },
  };

  const rematch = async (digest: string): Promise<string[]> => {
    const v = await manifestVulnerabilities(db, digest);
    if (v.state !== 'indexed') return [];
    const keys = [...new Set(v.matches.map(findingKey))].sort();
    const before = await scans.getFindings(db, digest);
    await scans.setFindings(db, digest, keys);
    // The first match after indexing is the baseline; only what later data adds is news.
    if (before === undefined) return [];
    const had = new Set(before);
    const added = v.matches.filter((m) => !had.has(findingKey(m)));
    if (added.length === 0) return [];
    const ids = [...new Set(added.map((m) => m.vulnerability.id))].sort();
    for (const where of await scans.whereIsManifest(db, digest)) {
      await enqueueDeliveries(db, {
        event: 'vulnerability_found', repository: where.repository, eventId: `vuln:${digest}:${randomUUID()}`,
        data: {
          digest, tags: where.tags,
          vulnerabilities: added.map((m) => ({ id: m.vulnerability.id, aliases: m.vulnerability.aliases, severity: m.vulnerability.severity, package: m.package.name, version: m.package.version, fixedBy: m.fixedBy ?? null, link: m.vulnerability.link })),
        },
      });
      if (bus) {
        await bus.publish({ type: 'wharf.vulnerability.found.v1', data: { region: config.node.region, repository: where.repository as RepoName, digest: digest as Digest, vulnerabilities: ids } })
          .catch((err: unknown) => log.warn({ err }, 'vulnerability.found event not published'));
      }
    }
    log.info({ digest, new: ids.length }, 'new vulnerabilities found in an indexed manifest');
    return added.map(findingKey);
  };

  const worker = startIndexWorker(indexer, {
    concurrency: config.scanner.concurrency, pollSeconds: config.scanner.pollSeconds, maxAttempts: config.scanner.maxAttempts,
    onIndexed: async (digest) => void (await rematch(digest)),
  });
  closers.unshift({ name: 'index-worker', close: () => worker.stop() });

  let bus: EventBus | undefined;
  if (config.nats.url) {
    const names = eventNames(config.nats.prefix);
    bus = await connectJetStreamBus({
      servers: config.nats.url.split(','), names, logger: log.child({ component: 'events' }),
      source: eventSource({ node: 'scanner', region: config.node.region, instance }), streamReplicas: config.nats.streamReplicas,
    });
    const b = bus;
    closers.unshift({ name: 'events', close: () => b.close() });
    const set = scannerSet(SCANNERS);
    await bus.subscribe({
      durable: scannerDurable(config.node.region),
      filterSubjects: [names.filter('manifest.pushed', config.node.region)],
      handler: async (event) => {
        if (event.type === 'wharf.manifest.pushed.v1') {
          await scans.enqueueIndex(db, event.data.digest, set);
          worker.kick();
        }
        return outcome.ack();
      },
    });
  }

  const afterImport = async (added: { format: string; name: string }[]) => {
    const digests = await manifestsWithPackages(db, added);
    for (const d of digests) await rematch(d);
    return digests.length;
  };
  const keys = bundleKeys(config);
  const urls = (config.scanner.feedUrls ?? '').split(',').map((u) => u.trim()).filter(Boolean);
  const updater = feedUpdater({ db, log: log.child({ component: 'updater' }), urls, keys, afterImport });
  if (urls.length > 0) {
    const abort = new AbortController();
    const tick = () => void updater.run(abort.signal).then((results) => log.info({ results: results.map((r) => ({ url: r.url, status: r.status })) }, 'feed update run'));
    const first = setTimeout(tick, 1000);
    const every = setInterval(tick, Math.max(60, config.scanner.updateIntervalMinutes * 60) * 1000);
    every.unref();
    closers.unshift({ name: 'feed-updater', close: async () => { abort.abort(); clearTimeout(first); clearInterval(every); } });
  }

  const app = scannerApi({
    db, log, indexer, staleFeedHours: config.scanner.staleFeedHours, bundleKeys: keys, afterImport,
    updateFeeds: () => updater.run(),
  });
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.get('/readyz', async (c) => {
    try {
      await db.query('SELECT 1');
      return c.json({ ok: true });
    } catch (e) {
      return c.json({ ok: false, detail: (e as Error).message }, 503);
    }
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: opts.port ?? config.scanner.port, hostname: config.server.host }, () => resolve(s));
  });
  (server as unknown as { requestTimeout: number }).requestTimeout = 0;
  closers.unshift({ name: 'http-server', close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
  const port = (server.address() as AddressInfo).port;
  const host = config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host;
  log.info({ port, scanners: scannerSet(SCANNERS) }, 'scanner node listening');
  return { url: `http://${host}:${port}`, port, log, indexer, rematch, closers, close: onceClosing(closers, log) };
}
