import { lockDigest, withTx } from '../../../shared/db/pool.js';
import * as placementsDb from '../../../shared/db/placements.js';
import { StreamingHasher, parseDigest } from '../../../shared/oci/digest.js';
import { NotFoundError, type BlobStore } from '../../../shared/storage/driver.js';
import type { ReplicatorDeps } from './deps.js';
import { mapLimit } from './map-limit.js';

export interface BadPlacement {
  digest: string;
  storageKey: string;
  problem: 'missing' | 'size' | 'digest' | 'unreadable';
  detail: string;
  /** With repair: the placement row was deleted. */
  repaired?: boolean;
  /** With repair: no other region holds the blob, so nothing can re-copy it. */
  lost?: boolean;
}

export interface VerifyReport {
  region: string;
  checked: number;
  bad: BadPlacement[];
  repaired: number;
}

/**
 * Checks every placement of `region` against its store: the object exists with the blob's size, and with `deep`
 * its bytes hash to the digest. With `repair`, bad placements are forgotten (under the digest lock), so the
 * reconcile command re-queues them and the replicator copies them again from a healthy region. The bad bytes are
 * left in place: the copy overwrites them atomically.
 */
export async function verifyRegion(
  deps: ReplicatorDeps, opts: { region: string; deep: boolean; repair: boolean; concurrency: number },
): Promise<VerifyReport> {
  const store = await deps.stores.get(opts.region);
  const report: VerifyReport = { region: opts.region, checked: 0, bad: [], repaired: 0 };
  let after: string | undefined;
  for (;;) {
    const page = await placementsDb.placementsInRegion(deps.db, opts.region, { limit: 500, ...(after ? { after } : {}) });
    if (page.length === 0) break;
    after = page.at(-1)!.digest;
    const found = await mapLimit(page, opts.concurrency, (p) => check(store, p, opts.deep));
    report.checked += page.length;
    for (const bad of found) if (bad) report.bad.push(bad);
  }
  if (opts.repair) {
    for (const bad of report.bad) {
      await withTx(deps.db, async (tx) => {
        await lockDigest(tx, bad.digest);
        bad.repaired = await placementsDb.deletePlacement(tx, bad.digest, opts.region);
        bad.lost = (await placementsDb.placementsOf(tx, bad.digest)).length === 0;
      });
      if (bad.repaired) report.repaired++;
      deps.log.warn({ ...bad, region: opts.region }, 'bad placement removed');
    }
  }
  return report;
}

async function check(
  store: BlobStore, p: { digest: string; storageKey: string; size: number }, deep: boolean,
): Promise<BadPlacement | undefined> {
  const bad = (problem: BadPlacement['problem'], detail: string): BadPlacement => ({ digest: p.digest, storageKey: p.storageKey, problem, detail });
  let size: number;
  try {
    size = (await store.stat(p.storageKey)).size;
  } catch (err) {
    if (err instanceof NotFoundError) return bad('missing', `no object at ${p.storageKey} in ${store.name}`);
    return bad('unreadable', (err as Error).message);
  }
  if (size !== p.size) return bad('size', `object has ${size} bytes, the blob ${p.size}`);
  if (!deep) return undefined;
  try {
    const hasher = new StreamingHasher(parseDigest(p.digest).algorithm);
    for await (const chunk of (await store.read(p.storageKey)) as AsyncIterable<Buffer>) hasher.update(chunk);
    const actual = hasher.peek();
    if (actual !== p.digest) return bad('digest', `bytes hash to ${actual}`);
  } catch (err) {
    return bad('unreadable', (err as Error).message);
  }
  return undefined;
}
