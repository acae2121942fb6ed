import type { ClusterConfig } from './cluster.js';

/**
 * Every configuration key Wharf knows, with its default. The config file (JSON) and the environment may only set
 * keys listed here; anything else fails startup. `null` marks an optional key without default (a string).
 */
export const DEFAULTS = {
  /** trustForwardedFor: take the client address from X-Forwarded-For (only behind a proxy that sets it). */
  server: { host: '0.0.0.0', port: 5000, shutdownTimeoutSeconds: 25, trustForwardedFor: false },
  node: { name: 'registry', region: 'local', instance: null as string | null },
  dataDir: './data',
  database: { url: null as string | null, poolMax: 20, embeddedPort: 54329 },
  storage: {
    driver: 'filesystem' as 'filesystem' | 's3' | 'azure' | 'gcs' | 'inmemory',
    maxConcurrency: 64,
    redirect: false,
    redirectExpirySeconds: 600,
    filesystem: { root: null as string | null, fsync: true },
    s3: {
      endpoint: null as string | null,
      region: 'us-east-1',
      bucket: null as string | null,
      accessKeyId: null as string | null,
      secretAccessKey: null as string | null,
      forcePathStyle: true,
      partSize: 16 * 1024 * 1024,
      rootPrefix: null as string | null,
    },
    /** Azure Blob with a shared key; presigned (SAS) redirects follow storage.redirect, as for s3. */
    azure: {
      accountName: null as string | null,
      accountKey: null as string | null,
      /** Default https://<accountName>.blob.core.windows.net; Azurite: http://127.0.0.1:10000/devstoreaccount1 */
      endpoint: null as string | null,
      container: null as string | null,
      rootPrefix: null as string | null,
      blockSize: 8 * 1024 * 1024,
    },
    /**
     * Google Cloud Storage with Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, the metadata
     * server). Signed-URL redirects follow storage.redirect while `presign` is on and the credentials can sign.
     */
    gcs: {
      bucket: null as string | null,
      projectId: null as string | null,
      /** Omit for Google; a private endpoint, or an emulator's URL together with `emulator: true`. */
      apiEndpoint: null as string | null,
      emulator: false,
      rootPrefix: null as string | null,
      partSize: 16 * 1024 * 1024,
      presign: true,
    },
  },
  nats: { url: null as string | null, prefix: 'wharf', streamReplicas: 1 },
  registry: { deleteEnabled: true, uploadLeaseSeconds: 900 },
  gc: { enabled: true, intervalSeconds: 3600, graceSeconds: 86400, uploadExpirySeconds: 86400, uploadMaxAgeSeconds: 604800 },
  /**
   * The per-region replicator (nodes/replicator): blob copies at once, deliveries of one event before it is given
   * up (the reconcile command covers it then), how long a delivery may go without progress before JetStream
   * redelivers it, and the port of its /healthz, /readyz and /metrics server (0 = any free port, logged).
   */
  replicator: { concurrency: 4, maxDeliver: 20, ackWaitSeconds: 60, metricsPort: 0 },
  /**
   * Tenancy and registry token auth. mode "auto" is token auth once an admin user is configured (WHARF_ADMIN_USER /
   * WHARF_ADMIN_PASSWORD create the first superuser at start) and an open registry otherwise, as Distribution and Zot
   * are by default; "token" and "open" force one or the other. realm defaults to <the request's origin>/v2/auth.
   */
  auth: {
    mode: 'auto' as 'auto' | 'open' | 'token',
    adminUser: null as string | null,
    adminPassword: null as string | null,
    adminEmail: null as string | null,
    service: 'wharf',
    issuer: 'wharf',
    realm: null as string | null,
    tokenTtlSeconds: 300,
    /** A PEM EC P-256 private key; without one each node generates its own and publishes the public half. */
    signingKeyFile: null as string | null,
    keyRotationHours: 24,
    loginMaxFailures: 5,
    loginWindowSeconds: 300,
    loginLockoutSeconds: 300,
    createPrivateOnPush: true,
  },
  /** Audit log retention; pulls are recorded too unless recordPulls is off. */
  audit: { retentionDays: 90, recordPulls: true },
  /** How long a deleted or moved tag can be restored (Quay's time machine). */
  tags: { restoreWindowSeconds: 14 * 86400 },
  /** Webhook delivery: the worker runs in every registry node unless disabled; retries back off exponentially. */
  notifications: { worker: true, maxAttempts: 8, timeoutSeconds: 10, pollSeconds: 2, backoffBaseSeconds: 5 },
  /**
   * The vulnerability scanner (nodes/scanner). The registry forwards /indexer, /matcher and /api/v1/vulndb to `url`;
   * without one, `npm start` runs a scanner beside the node (embedded). `port` is the scanner node's own (0: any). A feed older than staleFeedHours is
   * reported as stale.
   */
  scanner: {
    url: null as string | null, embedded: true, port: 0, concurrency: 2, pollSeconds: 2, maxAttempts: 5,
    staleFeedHours: 48, maxLayerBytes: 20 * 1024 * 1024 * 1024, layerTimeoutSeconds: 600,
    bundleSigningKeyFile: null as string | null, bundleTrustedKeyFiles: null as string | null,
    /** Comma-separated feed URLs fetched every updateIntervalMinutes (connected sites; air-gapped ones import files). */
    feedUrls: null as string | null, updateIntervalMinutes: 360,
  },
  log: { level: 'info' as 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' },
};

type Widen<T> = T extends string ? string : T extends number ? number : T extends boolean ? boolean
  : T extends null ? T : { [K in keyof T]: Widen<T[K]> };
export type Config = Widen<typeof DEFAULTS> & {
  storage: { driver: 'filesystem' | 's3' | 'azure' | 'gcs' | 'inmemory' };
  log: { level: typeof DEFAULTS.log.level };
  auth: { mode: typeof DEFAULTS.auth.mode };
  /** From the config file's `cluster` section; a node without one is a one-region cluster of its own. */
  cluster: ClusterConfig;
};

/** Keys whose values never reach logs. */
export const SECRET_KEYS = ['storage.s3.secretAccessKey', 'storage.azure.accountKey', 'database.url', 'auth.adminPassword'];
