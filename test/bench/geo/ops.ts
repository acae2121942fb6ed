// Registry operations the geo bench times: monolithic blob push, blob pull (counted and dropped), and the
// replication status API.
import { blobDigest, blobStream, type BlobSpec } from '../data.js';
import { expectStatus, getAndDiscard, request } from '../http.js';

export interface Pushed {
  digest: string;
  size: number;
  /** When the push was sent and when its 201 arrived (epoch ms). */
  startedAt: number;
  doneAt: number;
}

/** One POST ?digest= with the whole body (Wharf completes a monolithic upload in one request). */
export async function pushBlob(base: string, repo: string, spec: BlobSpec): Promise<Pushed> {
  const digest = blobDigest(spec);
  const startedAt = Date.now();
  const res = await request(`${base}/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': spec.size },
    body: blobStream(spec),
  });
  expectStatus(res, [201], `push ${spec.size} B to ${base}`);
  return { digest, size: spec.size, startedAt, doneAt: Date.now() };
}

export interface Pulled {
  bytes: number;
  ms: number;
  servedRegion: string | undefined;
}

/** GET of a blob, body counted and dropped; the region that served it comes from a HEAD just before. */
export async function pullBlob(base: string, repo: string, digest: string, size: number): Promise<Pulled> {
  const url = new URL(`${base}/v2/${repo}/blobs/${digest}`);
  const head = await request(url, { method: 'HEAD' });
  expectStatus(head, [200], `HEAD ${digest} at ${base}`);
  const servedRegion = header(head.headers['x-wharf-served-region']);
  const t0 = process.hrtime.bigint();
  let got = await getAndDiscard(url);
  if (!got) {
    const res = await request(url, { method: 'GET', collect: 0 });
    expectStatus(res, [200], `GET ${digest} at ${base}`);
    got = { status: res.status, bytes: res.bytes };
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (got.bytes !== size) throw new Error(`GET ${digest} at ${base}: ${got.bytes} bytes, expected ${size}`);
  return { bytes: got.bytes, ms, servedRegion };
}

export interface BlobRegionStatus {
  state: 'placed' | 'pending' | 'failed' | 'not-required';
  required: boolean;
  verifiedAt?: string;
  lagMs?: number;
  attempts?: number;
  lastError?: string | null;
}

export interface BlobStatus {
  digest: string;
  size: number;
  committedAt: string;
  regions: Record<string, BlobRegionStatus>;
}

export async function blobStatus(base: string, digest: string): Promise<BlobStatus> {
  const res = await request(`${base}/api/v1/replication/blobs/${digest}`, { method: 'GET', collect: 1 << 20 });
  expectStatus(res, [200], `replication status of ${digest}`);
  return JSON.parse(res.text) as BlobStatus;
}

export interface RegionStatus {
  region: string;
  placed: { blobs: number; bytes: number };
  backlog: { blobs: number; bytes: number; oldestPendingAgeSeconds: number | null };
  failedBlobs: number;
}

export async function regionStatus(base: string, region: string): Promise<RegionStatus> {
  const res = await request(`${base}/api/v1/replication/regions/${region}`, { method: 'GET', collect: 1 << 20 });
  expectStatus(res, [200], `replication status of region ${region}`);
  return JSON.parse(res.text) as RegionStatus;
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Nearest-rank percentile (p in 0..100) of finite values; null when there are none. */
export function percentile(xs: number[], p: number): number | null {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * v.length));
  return v[Math.min(v.length, rank) - 1]!;
}
