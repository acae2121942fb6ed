/**
 * The cluster section of the config file: every region with its object store, public endpoint and nodes, the
 * order in which a region prefers its peers (nearest first), and the replication policy. All nodes of all regions
 * read the same file; each knows its own region from node.region.
 */
export interface StorageSection {
  driver: string;
  [driverParams: string]: unknown;
}

export interface RegionConfig {
  name: string;
  /** What clients of this region use (the front or a regional load balancer); shown by the status API. */
  endpoint: string | null;
  /** Registry node URLs of the region (health checks, the generated HAProxy config). */
  nodes: string[];
  /** Peers from nearest to farthest; regions not listed come last, in name order. */
  nearest: string[];
  /** Client networks (CIDR) the front sends to this region. */
  clientCidrs: string[];
  storage: StorageSection;
}

export interface ReplicationPolicy {
  /** Regions that must hold every blob of the namespace, or 'all'. */
  regions: string[] | 'all';
  /** A push is acknowledged once the blob is durable in this many regions (1 = asynchronous replication). */
  syncRegions: number;
}

export interface ClusterConfig {
  regions: RegionConfig[];
  replication: { default: ReplicationPolicy; namespaces: Record<string, ReplicationPolicy> };
}

export class ClusterConfigError extends Error {
  override readonly name = 'ClusterConfigError';
}

const REGION_RE = /^[a-z0-9-]+$/;
const fail = (msg: string): never => {
  throw new ClusterConfigError(msg);
};

/**
 * Validates the raw `cluster` object. `parseStorage` validates one region's storage section exactly like the
 * top-level one (same keys, same driver checks), so a region's store is configured the way a single node's is.
 */
export function parseCluster(raw: unknown, parseStorage: (section: unknown, at: string) => StorageSection): ClusterConfig {
  if (!isObject(raw)) fail('cluster must be an object');
  const c = raw as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!['regions', 'replication'].includes(k)) fail(`unknown config key "cluster.${k}"`);
  if (!isObject(c.regions) || Object.keys(c.regions as object).length === 0) fail('cluster.regions must name at least one region');
  const names = Object.keys(c.regions as object).sort();
  const regions = names.map((name): RegionConfig => {
    const at = `cluster.regions.${name}`;
    if (!REGION_RE.test(name)) fail(`${at}: a region name must match [a-z0-9-]+`);
    const r = (c.regions as Record<string, unknown>)[name];
    if (!isObject(r)) fail(`${at} must be an object`);
    const region = r as Record<string, unknown>;
    for (const k of Object.keys(region)) if (!['endpoint', 'nodes', 'nearest', 'clientCidrs', 'storage'].includes(k)) fail(`unknown config key "${at}.${k}"`);
    const nodes = stringList(region.nodes ?? [], `${at}.nodes`);
    const nearest = stringList(region.nearest ?? [], `${at}.nearest`);
    const clientCidrs = stringList(region.clientCidrs ?? [], `${at}.clientCidrs`);
    for (const c of clientCidrs) if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$|^[0-9a-f:]+\/\d{1,3}$/i.test(c)) fail(`${at}.clientCidrs: "${c}" is not a CIDR`);
    for (const n of nearest) if (!names.includes(n) || n === name) fail(`${at}.nearest: "${n}" is not another region of the cluster`);
    if (region.endpoint !== undefined && region.endpoint !== null && typeof region.endpoint !== 'string') fail(`${at}.endpoint must be a URL string`);
    if (region.storage === undefined) fail(`${at}.storage is required`);
    return { name, endpoint: (region.endpoint as string | undefined) ?? null, nodes, nearest, clientCidrs, storage: parseStorage(region.storage, `${at}.storage`) };
  });
  const rep = (c.replication ?? {}) as unknown;
  if (!isObject(rep)) fail('cluster.replication must be an object');
  const repObj = rep as Record<string, unknown>;
  for (const k of Object.keys(repObj)) if (!['default', 'namespaces'].includes(k)) fail(`unknown config key "cluster.replication.${k}"`);
  const policy = (v: unknown, at: string): ReplicationPolicy => {
    if (!isObject(v)) fail(`${at} must be an object`);
    const p = v as Record<string, unknown>;
    for (const k of Object.keys(p)) if (!['regions', 'syncRegions'].includes(k)) fail(`unknown config key "${at}.${k}"`);
    const regionsValue = p.regions ?? 'all';
    const list = regionsValue === 'all' ? 'all' : stringList(regionsValue, `${at}.regions`);
    if (list !== 'all') for (const n of list) if (!names.includes(n)) fail(`${at}.regions: unknown region "${n}"`);
    const syncRegions = p.syncRegions ?? 1;
    const max = list === 'all' ? names.length : list.length;
    if (typeof syncRegions !== 'number' || !Number.isInteger(syncRegions) || syncRegions < 1 || syncRegions > max) {
      fail(`${at}.syncRegions must be an integer from 1 to ${max}`);
    }
    return { regions: list, syncRegions: syncRegions as number };
  };
  const namespaces: Record<string, ReplicationPolicy> = {};
  const nsRaw = repObj.namespaces ?? {};
  if (!isObject(nsRaw)) fail('cluster.replication.namespaces must be an object');
  for (const [ns, v] of Object.entries(nsRaw as object)) namespaces[ns] = policy(v, `cluster.replication.namespaces.${ns}`);
  return { regions, replication: { default: policy(repObj.default ?? {}, 'cluster.replication.default'), namespaces } };
}

/** The policy for a repository: its namespace's override (the first path component) or the default. */
export function policyFor(cluster: ClusterConfig, repository: string): ReplicationPolicy {
  return cluster.replication.namespaces[repository.split('/')[0]!] ?? cluster.replication.default;
}

/** Regions that must hold the blobs of `repository`. */
export function requiredRegions(cluster: ClusterConfig, repository: string): string[] {
  const p = policyFor(cluster, repository);
  return p.regions === 'all' ? cluster.regions.map((r) => r.name) : [...p.regions];
}

/** Every region other than `from`, nearest first (its `nearest` list, then the rest by name). */
export function peersByDistance(cluster: ClusterConfig, from: string): string[] {
  const self = cluster.regions.find((r) => r.name === from);
  const listed = self?.nearest ?? [];
  const rest = cluster.regions.map((r) => r.name).filter((n) => n !== from && !listed.includes(n));
  return [...listed, ...rest];
}

/** A one-region cluster: what a node without a cluster section is part of. */
export function singleRegionCluster(region: string, storage: StorageSection): ClusterConfig {
  return {
    regions: [{ name: region, endpoint: null, nodes: [], nearest: [], clientCidrs: [], storage }],
    replication: { default: { regions: 'all', syncRegions: 1 }, namespaces: {} },
  };
}

function stringList(v: unknown, at: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return fail(`${at} must be a list of strings`);
  return v as string[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
