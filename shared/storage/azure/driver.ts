import {
  BlobSASPermissions,
  BlobServiceClient,
  StorageSharedKeyCredential,
  type BlobClient,
  type BlockBlobClient,
  type ContainerClient,
} from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';
import {
  DriverError,
  InvalidOffsetError,
  NotFoundError,
  TooLargeError,
  type BlobStore,
  type BlobWriter,
  type ObjectInfo,
  type OpOpts,
  type WriterState,
} from '../driver.js';
import { isValidKey } from '../keys.js';
import type { DriverParams } from '../params.js';
import { DEFAULT_READ_SMALL_MAX, copyViaRead, emptyStream, readBounded, resolveRange } from '../streams.js';
import { StateReader, WRITER_ID_RE } from '../writer-state.js';
import { isBlobNotFound, isInvalidRange } from './errors.js';
import { parseAzureParams, type AzureParams } from './params.js';
import { AzureWriter, DATA_BLOB, MAX_BLOCKS, TAG_RE, TAIL_NAME_RE, type BlockRun } from './writer.js';

/**
 * Writers stage their blocks on `<rootPrefix>/~wharf-tmp/<writer id>/data` and park sub-block tails next to it.
 * '~' cannot occur in a key, so these never collide with objects, list() drops them, and — as '~' sorts after
 * every key character — they come last in any listing of the root.
 */
export const SCRATCH_DIR = '~wharf-tmp';
/** Copy Blob From URL (synchronous) takes sources up to 256 MiB; larger ones go through the asynchronous Copy Blob. */
export const SYNC_COPY_MAX = 256 * 1024 * 1024;
const DELETE_CONCURRENCY = 16;
const LIST_PAGE = 5000;
/** Lifetime of the read SAS that authorises a copy's source (an asynchronous copy may take a while). */
const COPY_SAS_MS = 24 * 3600_000;

/** Test hooks; not configuration. */
export interface AzureDriverOptions {
  /** Sources above this many bytes are copied asynchronously (default and maximum 256 MiB). */
  syncCopyMaxBytes?: number;
  /** Poll interval of asynchronous copies (default 500 ms). */
  copyPollMs?: number;
}

export async function createAzureDriver(params: DriverParams, opts: AzureDriverOptions = {}): Promise<AzureDriver> {
  const driver = new AzureDriver(parseAzureParams(params), opts);
  if (driver.params.createContainer) {
    try {
      await driver.container.createIfNotExists();
    } catch (err) {
      await driver.close();
      throw new Error(`storage driver ${driver.name}: cannot reach or create container: ${(err as Error).message}`, { cause: err });
    }
  }
  return driver;
}

export class AzureDriver implements BlobStore {
  readonly name: string;
  readonly service: BlobServiceClient;
  readonly container: ContainerClient;
  private readonly root: string;
  private readonly syncCopyMax: number;
  private readonly copyPollMs: number;

  constructor(
    readonly params: AzureParams,
    opts: AzureDriverOptions = {},
  ) {
    this.root = params.rootPrefix === '' ? '' : `${params.rootPrefix}/`;
    this.name = `azure:${params.accountName}/${params.container}${params.rootPrefix ? `/${params.rootPrefix}` : ''}`;
    this.service = new BlobServiceClient(params.endpoint, new StorageSharedKeyCredential(params.accountName, params.accountKey), {
      userAgentOptions: { userAgentPrefix: 'wharf' },
      // The SDK's default (4 tries, 4 s doubling) holds a request ~30 s on a dead store before it fails: every
      // pull that would fall back to another region, and every sync push that would copy elsewhere, waits that
      // long. Fail fast; the callers (regional fallback, the replicator's redelivery) do the retrying.
      retryOptions: { maxTries: 3, retryDelayInMs: 100, maxRetryDelayInMs: 1_000 },
    });
    this.container = this.service.getContainerClient(params.container);
    this.syncCopyMax = Math.min(opts.syncCopyMaxBytes ?? SYNC_COPY_MAX, SYNC_COPY_MAX);
    this.copyPollMs = opts.copyPollMs ?? 500;
  }

  blobName(key: string): string {
    return this.root + key;
  }

  blockBlob(name: string): BlockBlobClient {
    return this.container.getBlockBlobClient(name);
  }

  private async props(key: string, signal?: AbortSignal): Promise<{ size: number; etag: string | undefined; modifiedAt: Date }> {
    try {
      const p = await this.blockBlob(this.blobName(key)).getProperties({ abortSignal: signal });
      return { size: p.contentLength ?? 0, etag: p.etag, modifiedAt: p.lastModified ?? new Date(0) };
    } catch (err) {
      throw this.mapError(err, key);
    }
  }

  private mapError(err: unknown, key: string): unknown {
    return isBlobNotFound(err) ? new NotFoundError(this.name, key, { cause: err }) : err;
  }

  async stat(key: string, o?: OpOpts): Promise<ObjectInfo> {
    const p = await this.props(key, o?.signal);
    return { key, size: p.size, modifiedAt: p.modifiedAt };
  }

  async read(key: string, o?: OpOpts & { offset?: number; length?: number }): Promise<Readable> {
    const offset = o?.offset ?? 0;
    const length = o?.length;
    if (length === 0) {
      const { size } = await this.props(key, o?.signal);
      resolveRange(this.name, key, size, offset, 0);
      return emptyStream();
    }
    try {
      const res = await this.blockBlob(this.blobName(key)).download(offset, length, { abortSignal: o?.signal });
      return this.body(res.readableStreamBody, key);
    } catch (err) {
      if (!isInvalidRange(err)) throw this.mapError(err, key);
      // Azure refuses a range starting at the end (and any range of an empty blob): the contract's empty read.
      const { size } = await this.props(key, o?.signal);
      if (offset === size) return emptyStream();
      throw new InvalidOffsetError(this.name, key, offset);
    }
  }

  private body(body: NodeJS.ReadableStream | undefined, key: string): Readable {
    if (body instanceof Readable) return body;
    throw new DriverError(this.name, key, 'response body is not a Node.js stream');
  }

  async readSmall(key: string, o?: OpOpts & { maxBytes?: number }): Promise<Uint8Array> {
    const max = o?.maxBytes ?? DEFAULT_READ_SMALL_MAX;
    let res;
    try {
      res = await this.blockBlob(this.blobName(key)).download(0, undefined, { abortSignal: o?.signal });
    } catch (err) {
      throw this.mapError(err, key);
    }
    const body = this.body(res.readableStreamBody, key);
    if ((res.contentLength ?? 0) > max) {
      body.destroy();
      throw new TooLargeError(this.name, key, max);
    }
    return readBounded(body, max, this.name, key);
  }

  async writeSmall(key: string, data: Uint8Array, o?: OpOpts): Promise<void> {
    await this.blockBlob(this.blobName(key)).upload(asBuffer(data), data.byteLength, { abortSignal: o?.signal });
  }

  async openWriter(key: string, o?: OpOpts & { resume?: WriterState }): Promise<BlobWriter> {
    if (!o?.resume) {
      const id = randomBytes(16).toString('hex');
      return new AzureWriter(this, key, { id, resumed: false, size: 0, runs: [], tail: null, resumedTail: null, prevTail: null });
    }
    const r: StateReader = new StateReader(this.name, key, o.resume, 'azure');
    const id = r.string('id', WRITER_ID_RE);
    const runs = parseRuns(r, o.resume['blocks']);
    const tailInfo = parseTail(r, o.resume['tail']);
    const prevTail = r.optString('prevTail', TAIL_NAME_RE) ?? null;
    const blockBytes = runs.reduce((n, run) => n + run.count * run.size, 0);
    if (blockBytes + (tailInfo?.size ?? 0) !== o.resume.size) r.fail('resume state sizes do not add up');
    const signal = o.signal;
    const [tail] = await Promise.all([
      tailInfo ? this.readTail(r, id, tailInfo, signal) : null,
      // Fail now rather than at commit when the staged blocks went with a swept or cancelled writer.
      runs.length > 0 ? this.checkData(r, id, signal) : undefined,
    ]);
    return new AzureWriter(this, key, { id, resumed: true, size: o.resume.size, runs, tail, resumedTail: tailInfo?.name ?? null, prevTail });
  }

  private async readTail(r: StateReader, id: string, info: { name: string; size: number }, signal?: AbortSignal): Promise<Buffer> {
    let tail: Buffer;
    try {
      const res = await this.blockBlob(this.scratchName(id, info.name)).download(0, undefined, { abortSignal: signal });
      tail = Buffer.from(await readBounded(this.body(res.readableStreamBody, info.name), info.size, this.name, info.name));
    } catch (err) {
      if (isBlobNotFound(err)) r.fail('the suspended writer’s tail blob is gone');
      throw err;
    }
    if (tail.byteLength !== info.size) r.fail('the suspended writer’s tail blob has the wrong size');
    return tail;
  }

  private async checkData(r: StateReader, id: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.blockBlob(this.scratchName(id, DATA_BLOB)).getProperties({ abortSignal: signal });
    } catch (err) {
      if (isBlobNotFound(err)) r.fail('the suspended writer’s staged blocks are gone');
      throw err;
    }
  }

  async move(from: string, to: string, o?: OpOpts): Promise<void> {
    const src = await this.props(from, o?.signal);
    try {
      await this.copyBlob(this.blobName(from), this.blobName(to), src.size, src.etag, o?.signal);
    } catch (err) {
      throw this.mapError(err, from);
    }
    await this.deleteBlob(this.blobName(from), o?.signal);
  }

  /**
   * Server-side copy within the account, its source authorised by a short read SAS (Copy Blob From URL needs
   * one even in the same account). Up to 256 MiB the copy is synchronous; above, an asynchronous Copy Blob is
   * polled to completion, and a failed or interrupted one leaves no half-copied destination behind.
   * `etag` pins the source, so a source replaced mid-copy fails the copy instead of mixing two blobs.
   */
  async copyBlob(srcName: string, dstName: string, size: number, etag: string | undefined, signal?: AbortSignal): Promise<void> {
    const url = await this.container.getBlobClient(srcName).generateSasUrl({
      permissions: BlobSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + COPY_SAS_MS),
    });
    const dst = this.container.getBlobClient(dstName);
    const sourceConditions = etag ? { ifMatch: etag } : undefined;
    if (size <= this.syncCopyMax) {
      const res = await dst.syncCopyFromURL(url, { abortSignal: signal, sourceConditions });
      if (res.copyStatus !== 'success') throw new DriverError(this.name, dstName, `Copy Blob From URL ended ${String(res.copyStatus)}`);
      return;
    }
    const poller = await dst.beginCopyFromURL(url, { abortSignal: signal, sourceConditions });
    const state = poller.getOperationState() as { copyId?: string; isCompleted?: boolean; error?: Error };
    if (state.error) throw state.error;
    const copyId = state.copyId;
    if (state.isCompleted) return;
    try {
      await this.awaitCopy(dst, copyId, signal);
    } catch (err) {
      if (copyId) await dst.abortCopyFromURL(copyId).catch(() => undefined);
      // An aborted or failed copy leaves an empty or partial destination blob; it must not be served.
      await dst.deleteIfExists().catch(() => undefined);
      throw err;
    }
  }

  private async awaitCopy(dst: BlobClient, copyId: string | undefined, signal?: AbortSignal): Promise<void> {
    for (;;) {
      await sleep(this.copyPollMs, signal);
      const p = await dst.getProperties({ abortSignal: signal });
      if (copyId && p.copyId !== copyId) throw new DriverError(this.name, dst.name, 'another copy replaced ours at the destination');
      if (p.copyStatus === 'success') return;
      if (p.copyStatus !== 'pending') {
        throw new DriverError(this.name, dst.name, `copy ${String(p.copyStatus)}: ${p.copyStatusDescription ?? 'no reason given'}`);
      }
    }
  }

  async delete(keyOrPrefix: string, o?: OpOpts): Promise<void> {
    // The key itself and everything under it as a directory: Azure has no way to tell which one is meant.
    const below = async (): Promise<void> => {
      const names: string[] = [];
      for await (const b of this.listRaw(`${this.blobName(keyOrPrefix)}/`, { signal: o?.signal })) names.push(b.name);
      await this.deleteBlobs(names, o?.signal);
    };
    await Promise.all([this.deleteBlob(this.blobName(keyOrPrefix), o?.signal), below()]);
  }

  /** Deletes a blob by full name (staged blocks included); absent is fine. Resolves whether it existed. */
  async deleteBlob(name: string, signal?: AbortSignal): Promise<boolean> {
    const res = await this.container.getBlobClient(name).deleteIfExists({ abortSignal: signal, deleteSnapshots: 'include' });
    return res.succeeded;
  }

  /** Deletes full blob names a few at a time; returns how many existed. */
  async deleteBlobs(names: string[], signal?: AbortSignal): Promise<number> {
    let next = 0;
    let removed = 0;
    const worker = async (): Promise<void> => {
      while (next < names.length) {
        signal?.throwIfAborted();
        if (await this.deleteBlob(names[next++] as string, signal)) removed++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, names.length) }, worker));
    return removed;
  }

  async *list(prefix: string, o?: OpOpts & { startAfter?: string }): AsyncIterable<string> {
    const full = prefix === '' ? this.root : `${this.blobName(prefix)}/`;
    // List Blobs has no StartAfter (only an opaque marker), so the pages before it are read and skipped.
    const startAfter = o?.startAfter ? this.blobName(o.startAfter) : undefined;
    for await (const b of this.listRaw(full, { signal: o?.signal })) {
      if (startAfter !== undefined && b.name <= startAfter) continue;
      const key = b.name.slice(this.root.length);
      // Drops scratch blobs and anything in the container a key could not have produced.
      if (isValidKey(key)) yield key;
    }
  }

  /** Blobs under a raw name prefix, in the service's (lexical) order, a page at a time. */
  async *listRaw(
    prefix: string,
    o: { signal?: AbortSignal | undefined; uncommitted?: boolean } = {},
  ): AsyncGenerator<{ name: string; modifiedAt: Date | undefined }> {
    const pages = this.container
      .listBlobsFlat({ prefix: prefix === '' ? undefined : prefix, includeUncommitedBlobs: o.uncommitted ?? false, abortSignal: o.signal })
      .byPage({ maxPageSize: LIST_PAGE });
    for await (const page of pages) {
      for (const b of page.segment.blobItems) yield { name: b.name, modifiedAt: b.properties.lastModified };
    }
  }

  /**
   * Scratch is swept a writer at a time: everything under `~wharf-tmp/<id>/` goes once all of it is older than
   * the cutoff. A writer's blobs are its staging blob (dated by its creation, when the writer staged its first
   * block: staging more does not touch Last-Modified, like an S3 upload's initiation) and its tails (dated by
   * the suspend that wrote them). Deleting the staging blob discards its uncommitted blocks. Uncommitted blocks
   * staged on a blob that was never created (none of ours, bar a cancel racing a ghost's write) are listed too;
   * Azure itself drops such blocks after 7 days.
   */
  async sweepScratch(olderThan: Date, o?: OpOpts): Promise<{ removed: number }> {
    const signal = o?.signal;
    const cutoff = olderThan.getTime();
    const scratchRoot = `${this.root}${SCRATCH_DIR}/`;
    const writers = new Map<string, { names: string[]; young: boolean }>();
    for await (const b of this.listRaw(scratchRoot, { signal, uncommitted: true })) {
      const rest = b.name.slice(scratchRoot.length);
      const slash = rest.indexOf('/');
      const id = slash < 0 ? rest : rest.slice(0, slash);
      let w = writers.get(id);
      if (!w) writers.set(id, (w = { names: [], young: false }));
      w.names.push(b.name);
      if (b.modifiedAt === undefined || b.modifiedAt.getTime() >= cutoff) w.young = true;
    }
    const old = [...writers.values()].filter((w) => !w.young).flatMap((w) => w.names);
    return { removed: await this.deleteBlobs(old, signal) };
  }

  copyTo(key: string, dest: Writable, o?: OpOpts & { offset?: number; length?: number }): Promise<number> {
    return copyViaRead(() => this.read(key, o), dest);
  }

  async presignGet(key: string, o: { expiresInSec: number }): Promise<string | null> {
    if (!this.params.presign) return null;
    return this.container.getBlobClient(this.blobName(key)).generateSasUrl({
      permissions: BlobSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + o.expiresInSec * 1000),
    });
  }

  async close(): Promise<void> {
    // The SDK's keep-alive sockets are unreferenced when idle; there is nothing to release.
  }

  // --- writer scratch space (used by AzureWriter) ---

  scratchPrefix(id: string): string {
    return `${this.root}${SCRATCH_DIR}/${id}/`;
  }

  scratchName(id: string, name: string): string {
    return this.scratchPrefix(id) + name;
  }

  /** Removes everything a writer (or a ghost of it whose state was never recorded) left under its scratch prefix. */
  async clearScratch(id: string): Promise<void> {
    const names: string[] = [];
    for await (const b of this.listRaw(this.scratchPrefix(id), { uncommitted: true })) names.push(b.name);
    await this.deleteBlobs(names);
  }
}

/** A Buffer over the same memory (the SDK wants Buffers or streams). */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function parseRuns(r: StateReader, raw: unknown): BlockRun[] {
  if (!Array.isArray(raw)) r.fail('resume state has no block list');
  let blocks = 0;
  const runs = raw.map((x: unknown, i) => {
    const run = x as Partial<BlockRun> | null;
    if (
      typeof run !== 'object' ||
      run === null ||
      typeof run.tag !== 'string' ||
      !TAG_RE.test(run.tag) ||
      !Number.isSafeInteger(run.count) ||
      (run.count as number) <= 0 ||
      !Number.isSafeInteger(run.size) ||
      (run.size as number) <= 0
    ) {
      r.fail(`resume state has an invalid block run ${i + 1}`);
    }
    blocks += run.count as number;
    return { tag: run.tag, count: run.count as number, size: run.size as number };
  });
  if (blocks > MAX_BLOCKS) r.fail('resume state has too many blocks');
  return runs;
}

function parseTail(r: StateReader, raw: unknown): { name: string; size: number } | null {
  if (raw === null || raw === undefined) return null;
  const t = raw as { name?: unknown; size?: unknown };
  if (typeof t.name !== 'string' || !TAIL_NAME_RE.test(t.name) || !Number.isSafeInteger(t.size) || (t.size as number) <= 0) {
    r.fail('resume state has an invalid tail');
  }
  return { name: t.name, size: t.size as number };
}
