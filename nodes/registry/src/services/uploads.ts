import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Deps } from '../deps.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import {
  BLOB_UPLOAD_INVALID, BLOB_UPLOAD_UNKNOWN, DIGEST_INVALID, RANGE_INVALID, SIZE_INVALID,
} from '../../../../shared/errors/codes.js';
import { StreamingHasher, parseDigest, type Digest } from '../../../../shared/oci/digest.js';
import { blobKey, uploadDataKey, uploadPrefix } from '../../../../shared/storage/paths.js';
import type { BlobStore, BlobWriter, WriterState } from '../../../../shared/storage/driver.js';
import { lockDigest, withTx } from '../../../../shared/db/pool.js';
import * as uploadsDb from '../../../../shared/db/uploads.js';
import * as blobsDb from '../../../../shared/db/blobs.js';
import * as placementsDb from '../../../../shared/db/placements.js';
import type { RepositoryRow } from '../../../../shared/db/repositories.js';
import { pumpBody } from './body.js';
import { ensureSyncPlacements } from './sync-replication.js';

export interface UploadStatus {
  id: string;
  size: number;
}

export async function startUpload(deps: Deps, repo: RepositoryRow): Promise<UploadStatus> {
  const id = randomUUID();
  await uploadsDb.createUpload(deps.db, { id, repositoryId: repo.id, region: deps.region, storageKey: uploadDataKey(id) });
  return { id, size: 0 };
}

export async function uploadStatus(deps: Deps, repo: RepositoryRow, id: string): Promise<UploadStatus> {
  const row = await findUpload(deps, repo, id);
  return { id, size: row.size };
}

export async function cancelUpload(deps: Deps, repo: RepositoryRow, id: string): Promise<void> {
  const row = await findUpload(deps, repo, id);
  await uploadsDb.deleteUpload(deps.db, row.id);
  deps.hashers.forget(id);
  await (await deps.stores.get(row.region)).delete(uploadPrefix(id));
}

/**
 * Appends one chunk (PATCH). `range` is the request's Content-Range; without it the chunk goes at the current end
 * (a streamed upload). Out-of-order or overlapping chunks get 416 with the current Range, as the spec says.
 */
export async function appendChunk(
  deps: Deps, repo: RepositoryRow, id: string, body: Readable,
  opts: { range?: { start: number; end: number }; contentLength?: number },
): Promise<UploadStatus> {
  const { range, contentLength } = opts;
  checkRangeLength(range, contentLength);
  const row = await lease(deps, repo, id, range?.start);
  const written = await writeToUpload(deps, row, body);
  const expected = range ? range.end - range.start + 1 : contentLength;
  if (expected !== undefined && written.added !== expected) {
    // The chunk is not recorded: the offset in Postgres still points before it, so a retry overwrites it.
    await uploadsDb.releaseUploadLease(deps.db, id);
    deps.hashers.forget(id);
    throw new WharfError(SIZE_INVALID, { message: `received ${written.added} bytes, expected ${expected}` });
  }
  await uploadsDb.advanceUpload(deps.db, id, written.size, written.state);
  return { id, size: written.size };
}

/** PUT ?digest=: appends an optional last chunk, verifies the digest and commits the blob. */
export async function completeUpload(
  deps: Deps, repo: RepositoryRow, id: string, digestParam: string, body: Readable | undefined,
  opts: { range?: { start: number; end: number }; contentLength?: number },
): Promise<{ digest: Digest; size: number }> {
  const digest = parseDigestParam(digestParam);
  checkRangeLength(opts.range, opts.contentLength);
  const row = await lease(deps, repo, id, opts.range?.start);
  try {
    const hasBody = body !== undefined && (opts.contentLength ?? 1) > 0;
    const { writer, hasher } = await resumeWriter(deps, row);
    let size = row.size;
    if (hasBody) {
      let added: number;
      try {
        added = await pumpBody(body!, writer, hasher ? [hasher] : []);
      } catch (e) {
        await writer.suspend().catch(() => {});
        deps.hashers.forget(id);
        throw e;
      }
      size += added;
      const expected = opts.range ? opts.range.end - opts.range.start + 1 : opts.contentLength;
      if (expected !== undefined && added !== expected) {
        // Like a bad PATCH: the chunk is not recorded and the session stays usable.
        await writer.suspend();
        await uploadsDb.releaseUploadLease(deps.db, id);
        deps.hashers.forget(id);
        throw new WharfError(SIZE_INVALID, { message: `received ${added} bytes, expected ${expected}` });
      }
    }
    await writer.commit();
    const actual = hasher && parseDigest(digest).algorithm === hasher.algorithm
      ? hasher.peek()
      : await rehash(await deps.stores.get(row.region), row.storageKey, parseDigest(digest).algorithm);
    deps.hashers.forget(id);
    if (actual !== digest) {
      await discardUpload(deps, id, row.region);
      throw new WharfError(DIGEST_INVALID, { detail: { expected: digest, actual } });
    }
    await commitBlob(deps, repo, { uploadId: id, uploadKey: row.storageKey, digest, size, region: row.region });
    return { digest, size };
  } catch (e) {
    await uploadsDb.releaseUploadLease(deps.db, id).catch(() => {});
    throw e;
  }
}

/** POST ?digest= (or POST then a single PUT): the whole blob in one request, never buffered. */
export async function monolithicUpload(
  deps: Deps, repo: RepositoryRow, digestParam: string, body: Readable, contentLength: number | undefined,
): Promise<{ digest: Digest; size: number }> {
  const digest = parseDigestParam(digestParam);
  const id = randomUUID();
  const key = uploadDataKey(id);
  const hasher = new StreamingHasher(parseDigest(digest).algorithm);
  const writer = await deps.store.openWriter(key);
  deps.metrics.uploadsInFlight.inc();
  try {
    let size: number;
    try {
      size = await pumpBody(body, writer, [hasher]);
    } catch (e) {
      await writer.cancel().catch(() => {});
      throw e;
    }
    if (contentLength !== undefined && size !== contentLength) {
      await writer.cancel();
      throw new WharfError(SIZE_INVALID, { message: `received ${size} bytes, expected ${contentLength}` });
    }
    const actual = hasher.peek();
    if (actual !== digest) {
      await writer.cancel();
      throw new WharfError(DIGEST_INVALID, { detail: { expected: digest, actual } });
    }
    await writer.commit();
    await commitBlob(deps, repo, { uploadId: id, uploadKey: key, digest, size });
    return { digest, size };
  } finally {
    deps.metrics.uploadsInFlight.dec();
  }
}

/**
 * Makes verified bytes visible as a blob. Under the digest lock (shared with GC): if this region already holds
 * the blob the new copy is dropped, otherwise it is moved into place and the placement recorded, in one transaction
 * with the blob row and the repository link.
 */
export async function commitBlob(
  deps: Deps, repo: RepositoryRow,
  b: { uploadId: string; uploadKey: string; digest: Digest; size: number; mediaType?: string; region?: string },
): Promise<void> {
  const finalKey = blobKey(b.digest);
  // An upload continued on a node of another region (after a failover) still completes in the region it began in.
  const region = b.region ?? deps.region;
  const store = await deps.stores.get(region);
  let placedNow = false;
  await withTx(deps.db, async (tx) => {
    await lockDigest(tx, b.digest);
    const existing = await placementsDb.placementIn(tx, b.digest, region);
    const known = await blobsDb.findBlob(tx, b.digest);
    if (!existing || !known) {
      await store.move(b.uploadKey, finalKey);
      placedNow = true;
    }
    await blobsDb.upsertBlobAndLink(tx, repo.id, { digest: b.digest, size: b.size, mediaType: b.mediaType ?? null });
    if (placedNow) await placementsDb.recordPlacement(tx, b.digest, region, finalKey);
    await uploadsDb.deleteUpload(tx, b.uploadId);
  });
  await store.delete(uploadPrefix(b.uploadId)).catch((err) => deps.log.warn({ err, uploadId: b.uploadId }, 'upload cleanup failed'));
  if (placedNow) {
    await deps.events.blobWritten({
      digest: b.digest, size: b.size, mediaType: b.mediaType, repository: repo.name, storageKey: finalKey, uploadId: b.uploadId,
    });
  }
  // After the event, so a region that cannot be reached now still gets the blob asynchronously.
  await ensureSyncPlacements(deps, repo.name, b.digest, b.size);
}

async function findUpload(deps: Deps, repo: RepositoryRow, id: string): Promise<uploadsDb.UploadRow> {
  const row = isUuid(id) ? await uploadsDb.getUpload(deps.db, id, repo.id) : undefined;
  if (!row) throw new WharfError(BLOB_UPLOAD_UNKNOWN, { detail: { uuid: id } });
  return row;
}

async function lease(deps: Deps, repo: RepositoryRow, id: string, expectedStart: number | undefined): Promise<uploadsDb.UploadRow> {
  if (!isUuid(id)) throw new WharfError(BLOB_UPLOAD_UNKNOWN, { detail: { uuid: id } });
  const r = await uploadsDb.acquireUploadLease(deps.db, id, repo.id, expectedStart, deps.config.registry.uploadLeaseSeconds);
  if (!r) throw new WharfError(BLOB_UPLOAD_UNKNOWN, { detail: { uuid: id } });
  if ('conflict' in r) {
    const message = r.conflict === 'busy'
      ? 'another request is writing to this upload'
      : `chunk starts at ${expectedStart} but the upload has ${r.size} bytes`;
    throw new WharfError(RANGE_INVALID, {
      message, headers: { Range: rangeHeader(r.size), 'Docker-Upload-UUID': id },
    });
  }
  return r.row;
}

async function writeToUpload(
  deps: Deps, row: uploadsDb.UploadRow, body: Readable,
): Promise<{ added: number; size: number; state: WriterState }> {
  deps.metrics.uploadsInFlight.inc();
  try {
    const { writer, hasher } = await resumeWriter(deps, row);
    let added: number;
    try {
      added = await pumpBody(body, writer, hasher ? [hasher] : []);
    } catch (e) {
      await writer.suspend().catch(() => {});
      deps.hashers.forget(row.id);
      await uploadsDb.releaseUploadLease(deps.db, row.id).catch(() => {});
      throw e;
    }
    const state = await writer.suspend();
    return { added, size: row.size + added, state };
  } finally {
    deps.metrics.uploadsInFlight.dec();
  }
}

async function resumeWriter(deps: Deps, row: uploadsDb.UploadRow): Promise<{ writer: BlobWriter; hasher: StreamingHasher | undefined }> {
  const resume = row.writerState ? (row.writerState as WriterState) : undefined;
  const writer = await (await deps.stores.get(row.region)).openWriter(row.storageKey, resume ? { resume } : {});
  if (writer.size !== row.size) {
    throw new WharfError(BLOB_UPLOAD_INVALID, { message: `upload store holds ${writer.size} bytes, expected ${row.size}` });
  }
  return { writer, hasher: deps.hashers.at(row.id, row.size) };
}

async function rehash(store: BlobStore, key: string, algorithm: 'sha256' | 'sha512'): Promise<Digest> {
  const h = new StreamingHasher(algorithm);
  for await (const chunk of (await store.read(key)) as AsyncIterable<Buffer>) h.update(chunk);
  return h.peek();
}

async function discardUpload(deps: Deps, id: string, region: string): Promise<void> {
  await uploadsDb.deleteUpload(deps.db, id);
  await (await deps.stores.get(region)).delete(uploadPrefix(id)).catch(() => {});
}

function checkRangeLength(range: { start: number; end: number } | undefined, contentLength: number | undefined): void {
  if (range && contentLength !== undefined && range.end - range.start + 1 !== contentLength) {
    throw new WharfError(SIZE_INVALID, { message: `Content-Range covers ${range.end - range.start + 1} bytes but Content-Length is ${contentLength}` });
  }
}

export function parseDigestParam(s: string | undefined): Digest {
  if (!s) throw new WharfError(DIGEST_INVALID, { message: 'the digest query parameter is required' });
  try {
    return parseDigest(s).digest;
  } catch (e) {
    throw new WharfError(DIGEST_INVALID, { message: (e as Error).message });
  }
}

export function rangeHeader(size: number): string {
  // distribution's convention: an empty upload reports 0-0.
  return `0-${size > 0 ? size - 1 : 0}`;
}

function isUuid(s: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s);
}
