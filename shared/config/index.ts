import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULTS, type Config } from './schema.js';
import { ClusterConfigError, parseCluster, singleRegionCluster, type ClusterConfig, type StorageSection } from './cluster.js';

export { DEFAULTS, SECRET_KEYS, type Config } from './schema.js';

/** Whether the node runs registry token auth (see auth.mode). */
export function authEnabled(c: Config): boolean {
  return c.auth.mode === 'token' || (c.auth.mode === 'auto' && Boolean(c.auth.adminUser));
}
export * from './cluster.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Tree = { [k: string]: unknown };

/**
 * Builds the node's configuration: defaults ← JSON file (WHARF_CONFIG) ← environment. Environment keys are
 * WHARF_<PATH> with the path in upper snake case (storage.s3.forcePathStyle → WHARF_STORAGE_S3_FORCE_PATH_STYLE);
 * `<KEY>_FILE` reads the value from a file (secrets). PORT and WHARF_DATA_DIR are the short forms the README shows.
 * Unknown keys fail, wrong types fail, and the result is frozen.
 */
export function loadConfig(env: Record<string, string | undefined>, opts: { file?: string } = {}): Config {
  const cfg = structuredClone(DEFAULTS) as unknown as Tree;
  const file = opts.file ?? env.WHARF_CONFIG;
  let clusterRaw: unknown;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
    }
    // The cluster section has region names as keys, so it is checked by its own parser, not the fixed schema.
    if (isTree(parsed) && 'cluster' in parsed) {
      const { cluster, ...rest } = parsed;
      clusterRaw = cluster;
      parsed = rest;
    }
    merge(cfg, parsed, DEFAULTS as unknown as Tree, '');
  }
  const envPaths = leafPaths(DEFAULTS as unknown as Tree);
  for (const [path, sample] of envPaths) {
    const name = `WHARF_${path.replace(/\./g, '_').replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;
    let raw = env[name];
    const fromFile = env[`${name}_FILE`];
    if (raw === undefined && fromFile !== undefined) raw = readFileSync(fromFile, 'utf8').trim();
    if (raw !== undefined) setPath(cfg, path, coerce(raw, sample, name));
  }
  if (env.PORT !== undefined) setPath(cfg, 'server.port', coerce(env.PORT, 0, 'PORT'));
  for (const [short, path] of [['WHARF_ADMIN_USER', 'auth.adminUser'], ['WHARF_ADMIN_PASSWORD', 'auth.adminPassword'], ['WHARF_ADMIN_EMAIL', 'auth.adminEmail']] as const) {
    const fromFile = env[`${short}_FILE`];
    const raw = env[short] ?? (fromFile !== undefined ? readFileSync(fromFile, 'utf8').trim() : undefined);
    if (raw !== undefined) setPath(cfg, path, raw === '' ? null : raw);
  }
  const c = cfg as unknown as Config;
  validate(c);
  c.dataDir = resolve(c.dataDir);
  c.cluster = clusterRaw === undefined ? singleRegionCluster(c.node.region, c.storage as unknown as StorageSection) : parseClusterSection(clusterRaw);
  if (!c.cluster.regions.some((r) => r.name === c.node.region)) {
    throw new ConfigError(`node.region "${c.node.region}" is not one of the cluster's regions (${c.cluster.regions.map((r) => r.name).join(', ')})`);
  }
  return deepFreeze(c);
}

function parseClusterSection(raw: unknown): ClusterConfig {
  try {
    return parseCluster(raw, (section, at) => {
      const storage = structuredClone(DEFAULTS.storage) as unknown as Tree;
      merge(storage, section, DEFAULTS.storage as unknown as Tree, at);
      validateStorage(storage as unknown as Config['storage'], at);
      return storage as unknown as StorageSection;
    });
  } catch (e) {
    if (e instanceof ClusterConfigError) throw new ConfigError(e.message);
    throw e;
  }
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validate(c: Config): void {
  if (!Number.isInteger(c.server.port) || c.server.port < 0 || c.server.port > 65535) throw new ConfigError('server.port must be 0-65535');
  validateStorage(c.storage, 'storage');
  if (!/^[a-z0-9-]+$/.test(c.node.region)) throw new ConfigError('node.region must match [a-z0-9-]+');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(c.log.level)) throw new ConfigError(`log.level "${c.log.level}" is unknown`);
  if (!(c.gc.intervalSeconds > 0)) throw new ConfigError('gc.intervalSeconds must be > 0');
  // Pulls refresh a blob's last-seen clock at most once a minute; a shorter grace could collect a blob in use.
  if (!(c.gc.graceSeconds >= 300)) throw new ConfigError('gc.graceSeconds must be at least 300');
  const r = c.replicator;
  for (const [k, v] of [['replicator.concurrency', r.concurrency], ['replicator.maxDeliver', r.maxDeliver], ['replicator.ackWaitSeconds', r.ackWaitSeconds]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${k} must be an integer >= 1`);
  }
  if (!['auto', 'open', 'token'].includes(c.auth.mode)) throw new ConfigError(`auth.mode "${c.auth.mode}" is not one of auto, open, token`);
  if (Boolean(c.auth.adminUser) !== Boolean(c.auth.adminPassword)) throw new ConfigError('auth.adminUser and auth.adminPassword (WHARF_ADMIN_USER / WHARF_ADMIN_PASSWORD) are set together');
  if (!(c.auth.tokenTtlSeconds >= 60 && c.auth.tokenTtlSeconds <= 3600)) throw new ConfigError('auth.tokenTtlSeconds must be 60-3600');
  if (!(c.auth.keyRotationHours > 0)) throw new ConfigError('auth.keyRotationHours must be > 0');
  const nt = c.notifications;
  if (!Number.isInteger(nt.maxAttempts) || nt.maxAttempts < 1) throw new ConfigError('notifications.maxAttempts must be an integer >= 1');
  if (!(nt.timeoutSeconds > 0 && nt.timeoutSeconds <= 600)) throw new ConfigError('notifications.timeoutSeconds must be > 0 and at most 600');
  if (!(nt.pollSeconds > 0)) throw new ConfigError('notifications.pollSeconds must be > 0');
  // 0 is allowed (retry at once: tests, or a receiver known to recover quickly); the worker caps the delay at an hour.
  if (!(nt.backoffBaseSeconds >= 0)) throw new ConfigError('notifications.backoffBaseSeconds must be >= 0');
  if (!Number.isInteger(r.metricsPort) || r.metricsPort < 0 || r.metricsPort > 65535) throw new ConfigError('replicator.metricsPort must be 0-65535');
}

function validateStorage(s: Config['storage'], at: string): void {
  if (!['filesystem', 's3', 'azure', 'gcs', 'inmemory'].includes(s.driver)) {
    throw new ConfigError(`${at}.driver "${s.driver}" is not one of filesystem, s3, azure, gcs, inmemory`);
  }
  if (s.driver === 's3' && !s.s3.bucket) throw new ConfigError(`${at}.s3.bucket is required for the s3 driver`);
  if (s.driver === 'gcs' && !s.gcs.bucket) throw new ConfigError(`${at}.gcs.bucket is required for the gcs driver`);
  if (s.driver === 'azure') {
    for (const k of ['accountName', 'accountKey', 'container'] as const) {
      if (!s.azure[k]) throw new ConfigError(`${at}.azure.${k} is required for the azure driver`);
    }
  }
}

function merge(target: Tree, src: unknown, schema: Tree, at: string): void {
  if (typeof src !== 'object' || src === null || Array.isArray(src)) throw new ConfigError(`${at || 'config'} must be an object`);
  for (const [k, v] of Object.entries(src)) {
    const path = at ? `${at}.${k}` : k;
    if (!(k in schema)) throw new ConfigError(`unknown config key "${path}"`);
    const sample = schema[k];
    if (sample !== null && typeof sample === 'object') merge(target[k] as Tree, v, sample as Tree, path);
    else {
      if (v !== null && sample !== null && typeof v !== typeof sample) throw new ConfigError(`config key "${path}" must be a ${typeof sample}`);
      if (v !== null && sample === null && typeof v !== 'string') throw new ConfigError(`config key "${path}" must be a string`);
      target[k] = v;
    }
  }
}

function leafPaths(t: Tree, at = ''): [string, unknown][] {
  return Object.entries(t).flatMap(([k, v]) => {
    const path = at ? `${at}.${k}` : k;
    return v !== null && typeof v === 'object' ? leafPaths(v as Tree, path) : [[path, v] as [string, unknown]];
  });
}

function coerce(raw: string, sample: unknown, name: string): unknown {
  if (typeof sample === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${name} must be a number, got "${raw}"`);
    return n;
  }
  if (typeof sample === 'boolean') {
    if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
    if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
    throw new ConfigError(`${name} must be true or false, got "${raw}"`);
  }
  return raw === '' ? null : raw;
}

function setPath(t: Tree, path: string, v: unknown): void {
  const parts = path.split('.');
  let cur = t;
  for (const p of parts.slice(0, -1)) cur = cur[p] as Tree;
  cur[parts.at(-1)!] = v;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
