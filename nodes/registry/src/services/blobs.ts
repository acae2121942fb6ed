import type { Writable } from 'node:stream';
import type { Deps } from '../deps.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import { BLOB_UNKNOWN, RANGE_INVALID } from '../../../../shared/errors/codes.js';
import { NotFoundError } from '../../../../shared/storage/driver.js';
import { lockDigest, withTx } from '../../../../shared/db/pool.js';
import * as blobsDb from '../../../../shared/db/blobs.js';
import * as placementsDb from '../../../../shared/db/placements.js';
import type { RepositoryRow } from '../../../../shared/db/repositories.js';
import type { Digest } from '../../../../shared/oci/digest.js';

export interface BlobInfo {
  digest: Digest;
  size: number;
  storageKey: string;
}

/** The blob as this repository sees it, with where its bytes are in this region. */
export async function statBlob(deps: Deps, repo: RepositoryRow | undefined, digest: Digest): Promise<BlobInfo> {
  const blob = repo ? await blobsDb.touchLinkedBlob(deps.db, repo.id, digest) : undefined;
  if (!blob) throw new WharfError(BLOB_UNKNOWN, { detail: { digest } });
  const placement = await placementsDb.placementIn(deps.db, digest, deps.region);
  if (!placement) {
    throw new WharfError(BLOB_UNKNOWN, { message: `blob is not available in region ${deps.region}`, detail: { digest } });
  }
  return { digest, size: blob.size, storageKey: placement.storageKey };
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
 * Streams the blob (or a range) into `dest` through the driver's copy path (pooled buffers on the filesystem).
 * A missing object fails before the first byte, so the caller can still answer with an error.
 */
export async function sendBlob(deps: Deps, info: BlobInfo, dest: Writable, range?: ByteRange): Promise<void> {
  try {
    await deps.store.copyTo(info.storageKey, dest, range ? { offset: range.start, length: range.end - range.start + 1 } : {});
  } catch (e) {
    if (e instanceof NotFoundError) {
      deps.log.error({ digest: info.digest, key: info.storageKey }, 'placement recorded but bytes missing from the store');
      throw new WharfError(BLOB_UNKNOWN, { message: 'blob bytes are missing from this region\'s store', detail: { digest: info.digest } });
    }
    throw e;
  }
}

export async function presignBlob(deps: Deps, info: BlobInfo): Promise<string | null> {
  if (!deps.config.storage.redirect) return null;
  return deps.store.presignGet(info.storageKey, { expiresInSec: deps.config.storage.redirectExpirySeconds });
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
  deps: Deps, target: RepositoryRow, digest: Digest, from: RepositoryRow | undefined | 'any', actor: string,
): Promise<{ size: number } | undefined> {
  let size: number | undefined;
  if (from === 'any') {
    const holders = await deps.db.query<{ name: string; size: number }>(
      `SELECT r.name, b.size FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id
       JOIN blobs b ON b.digest = rb.digest WHERE rb.digest = $1 ORDER BY r.name LIMIT 50`, [digest]);
    for (const h of holders.rows) {
      if (h.name === target.name || (await deps.access.can(actor, h.name, 'pull'))) {
        size = h.size;
        break;
      }
    }
  } else if (from) {
    if (!(await deps.access.can(actor, from.name, 'pull'))) return undefined;
    size = (await blobsDb.touchLinkedBlob(deps.db, from.id, digest))?.size;
  }
  if (size === undefined) return undefined;
  // Under the digest lock GC takes too: the blob row and its bytes either survive this mount or were already gone.
  const linked = await withTx(deps.db, async (tx) => {
    await lockDigest(tx, digest);
    if (!(await blobsDb.findBlob(tx, digest)) || !(await placementsDb.placementIn(tx, digest, deps.region))) return false;
    await blobsDb.upsertBlobAndLink(tx, target.id, { digest, size: size! });
    return true;
  });
  return linked ? { size } : undefined;
}
