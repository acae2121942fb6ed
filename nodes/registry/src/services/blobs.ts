import type { Writable } from 'node:stream';
import type { Deps } from '../deps.js';
import type { RequestAccess } from './access.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import { BLOB_UNKNOWN, RANGE_INVALID, UNAVAILABLE } from '../../../../shared/errors/codes.js';
import { NotFoundError } from '../../../../shared/storage/driver.js';
import { lockDigest, withTx } from '../../../../shared/db/pool.js';
import * as blobsDb from '../../../../shared/db/blobs.js';
import * as placementsDb from '../../../../shared/db/placements.js';
import type { RepositoryRow } from '../../../../shared/db/repositories.js';
import type { Digest } from '../../../../shared/oci/digest.js';

export interface BlobInfo {
  digest: Digest;
  size: number;
  repository: string;
  /** Regions holding the bytes, home first then nearest first, with the key in each region's store. */
  sources: { region: string; storageKey: string }[];
}

/**
 * The blob as this repository sees it, with every region that holds its bytes. A blob not yet replicated here is
 * still served (from the nearest region holding it): a pull never fails because replication is behind.
 */
export async function statBlob(deps: Deps, repo: RepositoryRow | undefined, digest: Digest): Promise<BlobInfo> {
  const blob = repo ? await blobsDb.touchLinkedBlob(deps.db, repo.id, digest) : undefined;
  if (!blob) throw new WharfError(BLOB_UNKNOWN, { detail: { digest } });
  const placements = await placementsDb.placementsOf(deps.db, digest);
  const keys = new Map(placements.map((p) => [p.region, p.storageKey]));
  const sources = deps.stores.byNearness(keys.keys()).map((region) => ({ region, storageKey: keys.get(region)! }));
  if (sources.length === 0) {
    throw new WharfError(BLOB_UNKNOWN, { message: 'blob bytes are not placed in any region', detail: { digest } });
  }
  return { digest, size: blob.size, repository: repo!.name, sources };
}

export type ByteRange = { start: number; end: number };

/** Parses a single `bytes=a-b`, `bytes=a-` or `bytes=-n` range against the blob size (RFC 9110). */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  const unsatisfiable = () => new WharfError(RANGE_INVALID, { headers: { 'Content-Range': `bytes */${size}` }, detail: { range: header, size } });
  // Multiple ranges and other units are legal to ignore: serve the whole blob.
  if (!m) return undefined;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === '' && b === '') return undefined;
  let start: number, end: number;
  if (a === '') {
    const n = Number(b);
    if (n === 0) throw unsatisfiable();
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
    if (b !== '' && Number(b) < start) return undefined;
  }
  if (start >= size) throw unsatisfiable();
  return { start, end };
}

/**
 * Streams the blob (or a range) into `dest` from the nearest region that can serve it, through the driver's copy
 * path (pooled buffers on the filesystem). A region whose store fails before the first byte is skipped for the
 * next one; served from elsewhere than home, the blob is also queued for replication here (read-repair).
 */
export async function sendBlob(deps: Deps, info: BlobInfo, dest: Writable & { headersSent?: boolean }, range?: ByteRange): Promise<void> {
  let lastError: unknown;
  for (const source of info.sources) {
    if (source.region !== deps.region && !deps.regionHealth.usable(source.region)) continue;
    try {
      const store = await deps.stores.get(source.region);
      await store.copyTo(source.storageKey, dest, range ? { offset: range.start, length: range.end - range.start + 1 } : {});
      if (source.region !== deps.region) requestReadRepair(deps, info, source);
      return;
    } catch (e) {
      if (dest.headersSent) throw e;
      lastError = e;
      deps.regionHealth.failed(source.region, e);
      deps.log.warn({ err: e, digest: info.digest, region: source.region }, 'blob source failed; trying the next region');
    }
  }
  deps.log.error({ err: lastError, digest: info.digest }, 'no region could serve the blob');
  if (lastError instanceof NotFoundError) {
    throw new WharfError(BLOB_UNKNOWN, { message: 'blob bytes are missing from every region holding them', detail: { digest: info.digest } });
  }
  throw new WharfError(UNAVAILABLE, { message: 'no region holding this blob is reachable; retry later', cause: lastError });
}

/** A presigned URL in the nearest region that can presign (when redirects are on), or null to stream. */
export async function presignBlob(deps: Deps, info: BlobInfo): Promise<string | null> {
  if (!deps.config.storage.redirect) return null;
  for (const source of info.sources) {
    if (source.region !== deps.region && !deps.regionHealth.usable(source.region)) continue;
    const url = await (await deps.stores.get(source.region)).presignGet(source.storageKey, { expiresInSec: deps.config.storage.redirectExpirySeconds });
    if (url) {
      if (source.region !== deps.region) requestReadRepair(deps, info, source);
      return url;
    }
  }
  return null;
}

function requestReadRepair(deps: Deps, info: BlobInfo, source: { region: string; storageKey: string }): void {
  if (!info.sources.some((s) => s.region === deps.region)) {
    void deps.events.replicationWanted({ digest: info.digest, size: info.size, repository: info.repository, ...source });
  }
}

/** Removes the blob from the repository (the bytes stay while other repositories or manifests use them; GC decides). */
export async function unlinkBlob(deps: Deps, repo: RepositoryRow | undefined, digest: Digest): Promise<void> {
  if (!repo || !(await blobsDb.unlinkBlob(deps.db, repo.id, digest))) throw new WharfError(BLOB_UNKNOWN, { detail: { digest } });
}

/**
 * Cross-repository mount: links an existing blob into `target`. With `from`, only from that repository; without it,
 * from any repository the caller may pull from (automatic mount). Returns false when nothing can be mounted.
 */
export async function mountBlob(
  deps: Deps, target: RepositoryRow, digest: Digest, from: RepositoryRow | undefined | 'any', access: RequestAccess,
): Promise<{ size: number } | undefined> {
  let size: number | undefined;
  if (from === 'any') {
    const holders = await deps.db.query<{ name: string; size: number }>(
      `SELECT r.name, b.size FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id
       JOIN blobs b ON b.digest = rb.digest WHERE rb.digest = $1 ORDER BY r.name LIMIT 50`, [digest]);
    const readable = await access.readable(holders.rows.map((h) => h.name));
    size = holders.rows.find((h) => h.name === target.name || readable.has(h.name))?.size;
  } else if (from) {
    if (!access.can(from.name, 'pull')) return undefined;
    size = (await blobsDb.touchLinkedBlob(deps.db, from.id, digest))?.size;
  }
  if (size === undefined) return undefined;
  // Under the digest lock GC takes too: the blob row and its bytes either survive this mount or were already gone.
  const linked = await withTx(deps.db, async (tx) => {
    await lockDigest(tx, digest);
    if (!(await blobsDb.findBlob(tx, digest)) || (await placementsDb.placementsOf(tx, digest)).length === 0) return false;
    await blobsDb.upsertBlobAndLink(tx, target.id, { digest, size: size! });
    return true;
  });
  return linked ? { size } : undefined;
}
