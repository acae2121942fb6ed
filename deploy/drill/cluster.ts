/**
 * What the drills run against: the cluster geo:up started (its state file), or one started for the drill and
 * stopped after it. Plus the few cluster reads every drill needs (replication status, polling).
 */
import { geoUp } from '../local/geo-up.js';
import { geoDown } from '../local/geo-down.js';
import { request } from '../local/http-request.js';
import { alive, sleep } from '../local/processes.js';
import { DEFAULT_GEO_DIR, loadState, type GeoState } from '../local/state.js';
import type { LoadClient } from './load.js';

export async function withCluster<T>(opts: { stateDir?: string; log: (l: string) => void }, fn: (state: GeoState) => Promise<T>): Promise<T> {
  const stateDir = opts.stateDir ?? DEFAULT_GEO_DIR;
  const existing = await loadState(stateDir);
  const front = existing?.processes.find((p) => p.name === 'haproxy');
  if (existing?.ready && front && alive(front.pid)) {
    opts.log(`using the running geo cluster (${stateDir})`);
    return fn(existing);
  }
  opts.log('no running geo cluster: starting one (npm run geo:up), stopped again after the drill');
  const state = await geoUp({ stateDir, log: (l) => opts.log(`geo:up: ${l}`) });
  try {
    return await fn(state);
  } finally {
    opts.log('stopping the geo cluster the drill started');
    await geoDown({ stateDir });
  }
}

export const clientsOf = (state: GeoState): LoadClient[] => state.regions.map((r) => ({ region: r.name, address: r.clientAddress }));

export interface RegionStatus {
  region: string;
  placed: { blobs: number; bytes: number };
  backlog: { blobs: number; bytes: number; oldestPendingAgeSeconds: number | null };
  failedBlobs: number;
}

/** The replication status API's entry for `region` (asked through the front, as a client of `via`). */
export async function regionStatus(state: GeoState, region: string, via: string): Promise<RegionStatus> {
  const r = await request(`${state.front!.url}/api/v1/replication/regions/${region}`, { localAddress: via, timeoutMs: 10_000 });
  if (r.status !== 200) throw new Error(`replication status of ${region}: ${r.status} ${r.text().slice(0, 200)}`);
  return r.json<RegionStatus>();
}

export interface BlobStatus {
  digest: string;
  regions: Record<string, { state: string; required: boolean; verifiedAt: string | null }>;
}

export async function blobStatus(state: GeoState, digest: string, via: string): Promise<BlobStatus> {
  const r = await request(`${state.front!.url}/api/v1/replication/blobs/${digest}`, { localAddress: via, timeoutMs: 10_000 });
  if (r.status !== 200) throw new Error(`replication status of ${digest}: ${r.status} ${r.text().slice(0, 200)}`);
  return r.json<BlobStatus>();
}

/** True when every region the blob's policy requires has it placed (and verified). */
export const placedEverywhere = (s: BlobStatus): boolean =>
  Object.values(s.regions).every((r) => !r.required || (r.state === 'placed' && r.verifiedAt !== null));

/** Polls `probe` every `everyMs` until it returns true or `timeoutMs` passes; the epoch ms it held, or null. */
export async function pollUntil(timeoutMs: number, probe: () => Promise<boolean>, everyMs = 250): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return Date.now();
    } catch {
      // not yet (the region may still be coming back)
    }
    if (Date.now() > deadline) return null;
    await sleep(everyMs);
  }
}
