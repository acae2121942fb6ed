import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable, type Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
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
import { isInvalidRange, isNoSuchKey, isNoSuchUpload, s3ErrorName } from './errors.js';
import { parseS3Params, type S3Params } from './params.js';
import { S3Writer, type PartInfo } from './writer.js';

/**
 * Writers park their scratch objects (sub-part tails, multipart markers) under `<rootPrefix>/~wharf-tmp/<id>/`.
 * '~' cannot occur in a key, so these never collide with objects, list() drops them, and — as '~' sorts after
 * every key character — they come last in any listing of the root.
 */
export const SCRATCH_DIR = '~wharf-tmp';
const DELETE_BATCH = 1000;
const COPY_CONCURRENCY = 4;
const TAIL_NAME_RE = /^tail-\d+$/;

export async function createS3Driver(params: DriverParams): Promise<S3Driver> {
  const driver = new S3Driver(parseS3Params(params));
  if (driver.params.createBucket) {
    try {
      await driver.ensureBucket();
    } catch (err) {
      await driver.close();
      throw new Error(`storage driver ${driver.name}: cannot reach or create bucket: ${(err as Error).message}`, { cause: err });
    }
  }
  return driver;
}

type SendOpts = { abortSignal?: AbortSignal } | undefined;

export class S3Driver implements BlobStore {
  readonly name: string;
  readonly client: S3Client;
  private readonly root: string;

  constructor(readonly params: S3Params) {
    this.root = params.rootPrefix === '' ? '' : `${params.rootPrefix}/`;
    this.name = `s3:${params.region}/${params.bucket}${params.rootPrefix ? `/${params.rootPrefix}` : ''}`;
    this.client = new S3Client({
      region: params.region,
      ...(params.endpoint ? { endpoint: params.endpoint } : {}),
      ...(params.credentials ? { credentials: params.credentials } : {}),
      forcePathStyle: params.forcePathStyle,
      // The SDK's default (checksums on every request) breaks streamed uploads on Ceph and Swift.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: 10_000,
        httpAgent: { keepAlive: true, maxSockets: 128 },
        httpsAgent: { keepAlive: true, maxSockets: 128 },
      },
    });
  }

  objectKey(key: string): string {
    return this.root + key;
  }

  private get bucket(): string {
    return this.params.bucket;
  }

  private opts(signal?: AbortSignal): SendOpts {
    return signal ? { abortSignal: signal } : undefined;
  }

  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (!isNoSuchKey(err) && s3ErrorName(err) !== 'NoSuchBucket') throw err;
    }
    const region = this.params.region;
    try {
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.bucket,
          ...(region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: region as never } } : {}),
        }),
      );
    } catch (err) {
      const name = s3ErrorName(err);
      if (name === 'BucketAlreadyOwnedByYou') return;
      // Ceph and other non-AWS stores know nothing of AWS region names; their bucket needs no constraint.
      if (name === 'InvalidLocationConstraint' && region !== 'us-east-1') {
        await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
        return;
      }
      throw err;
    }
  }

  private async head(key: string, signal?: AbortSignal): Promise<{ size: number; etag: string | undefined; modifiedAt: Date }> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), this.opts(signal));
      return { size: res.ContentLength ?? 0, etag: res.ETag, modifiedAt: res.LastModified ?? new Date(0) };
    } catch (err) {
      throw this.mapError(err, key);
    }
  }

  private mapError(err: unknown, key: string): unknown {
    return isNoSuchKey(err) ? new NotFoundError(this.name, key, { cause: err }) : err;
  }

  async stat(key: string, o?: OpOpts): Promise<ObjectInfo> {
    const h = await this.head(key, o?.signal);
    return { key, size: h.size, modifiedAt: h.modifiedAt };
  }

  async read(key: string, o?: OpOpts & { offset?: number; length?: number }): Promise<Readable> {
    const offset = o?.offset ?? 0;
    const length = o?.length;
    if (length === 0) {
      const { size } = await this.head(key, o?.signal);
      resolveRange(this.name, key, size, offset, 0);
      return emptyStream();
    }
    const range = offset === 0 && length === undefined ? undefined : `bytes=${offset}-${length === undefined ? '' : offset + length - 1}`;
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), ...(range ? { Range: range } : {}) }),
        this.opts(o?.signal),
      );
      return this.body(res.Body, key);
    } catch (err) {
      if (!isInvalidRange(err)) throw this.mapError(err, key);
      // S3 refuses a range starting at the end, which the contract treats as an empty read.
      const { size } = await this.head(key, o?.signal);
      if (offset === size) return emptyStream();
      throw new InvalidOffsetError(this.name, key, offset);
    }
  }

  private body(body: unknown, key: string): Readable {
    if (body instanceof Readable) return body;
    throw new DriverError(this.name, key, 'response body is not a Node.js stream');
  }

  async readSmall(key: string, o?: OpOpts & { maxBytes?: number }): Promise<Uint8Array> {
    const max = o?.maxBytes ?? DEFAULT_READ_SMALL_MAX;
    let res;
    try {
      res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), this.opts(o?.signal));
    } catch (err) {
      throw this.mapError(err, key);
    }
    const body = this.body(res.Body, key);
    if ((res.ContentLength ?? 0) > max) {
      body.destroy();
      throw new TooLargeError(this.name, key, max);
    }
    return readBounded(body, max, this.name, key);
  }

  async writeSmall(key: string, data: Uint8Array, o?: OpOpts): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), Body: data, ContentLength: data.byteLength }),
      this.opts(o?.signal),
    );
  }

  async openWriter(key: string, o?: OpOpts & { resume?: WriterState }): Promise<BlobWriter> {
    if (!o?.resume) {
      return new S3Writer(this, key, {
        id: randomBytes(16).toString('hex'),
        size: 0,
        uploadId: null,
        parts: [],
        tail: null,
        resumedTail: null,
        prevTail: null,
      });
    }
    const r: StateReader = new StateReader(this.name, key, o.resume, 's3');
    const id = r.string('id', WRITER_ID_RE);
    const uploadId = r.optString('uploadId', /^.{1,1024}$/) ?? null;
    const parts = parseParts(r, o.resume['parts']);
    const tailInfo = parseTail(r, o.resume['tail']);
    const prevTail = r.optString('prevTail', TAIL_NAME_RE) ?? null;
    const partBytes = parts.reduce((n, p) => n + p.size, 0);
    if (partBytes + (tailInfo?.size ?? 0) !== o.resume.size) r.fail('resume state sizes do not add up');
    if (parts.length > 0 && uploadId === null) r.fail('resume state has parts but no upload id');
    let tail: Buffer | null = null;
    if (tailInfo) {
      try {
        const res = await this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: this.scratchKey(id, tailInfo.name) }),
          this.opts(o.signal),
        );
        tail = Buffer.from(await readBounded(this.body(res.Body, key), tailInfo.size, this.name, key));
      } catch (err) {
        if (isNoSuchKey(err)) r.fail('the suspended writer’s tail object is gone');
        throw err;
      }
      if (tail.byteLength !== tailInfo.size) r.fail('the suspended writer’s tail object has the wrong size');
    }
    return new S3Writer(this, key, { id, size: o.resume.size, uploadId, parts, tail, resumedTail: tailInfo?.name ?? null, prevTail });
  }

  async move(from: string, to: string, o?: OpOpts): Promise<void> {
    const src = await this.head(from, o?.signal);
    try {
      if (src.size > this.params.multipartCopyThreshold) {
        await this.multipartCopy(from, to, src.size, src.etag, o?.signal);
      } else {
        await this.client.send(
          new CopyObjectCommand({ Bucket: this.bucket, Key: this.objectKey(to), CopySource: this.copySource(from) }),
          this.opts(o?.signal),
        );
      }
    } catch (err) {
      throw this.mapError(err, from);
    }
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(from) }), this.opts(o?.signal));
  }

  private copySource(key: string): string {
    return `${this.bucket}/${this.objectKey(key).split('/').map(encodeURIComponent).join('/')}`;
  }

  /** CopyObject stops at 5 GiB; above that the copy is assembled server-side from UploadPartCopy ranges. */
  private async multipartCopy(from: string, to: string, size: number, etag: string | undefined, signal?: AbortSignal): Promise<void> {
    const Key = this.objectKey(to);
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }), this.opts(signal));
    const UploadId = created.UploadId;
    if (!UploadId) throw new DriverError(this.name, to, 'CreateMultipartUpload returned no UploadId');
    const partSize = Math.max(this.params.copyPartSize, Math.ceil(size / 10_000));
    const count = Math.ceil(size / partSize);
    const parts: Array<{ PartNumber: number; ETag: string }> = [];
    try {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          const i = next++;
          const start = i * partSize;
          const end = Math.min(size, start + partSize) - 1;
          const res = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key,
              UploadId,
              PartNumber: i + 1,
              CopySource: this.copySource(from),
              CopySourceRange: `bytes=${start}-${end}`,
              // A source replaced mid-copy would otherwise yield a mix of two objects.
              ...(etag ? { CopySourceIfMatch: etag } : {}),
            }),
            this.opts(signal),
          );
          const partEtag = res.CopyPartResult?.ETag;
          if (!partEtag) throw new DriverError(this.name, to, `UploadPartCopy ${i + 1} returned no ETag`);
          parts.push({ PartNumber: i + 1, ETag: partEtag });
        }
      };
      await Promise.all(Array.from({ length: Math.min(COPY_CONCURRENCY, count) }, worker));
      parts.sort((a, b) => a.PartNumber - b.PartNumber);
      await this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId, MultipartUpload: { Parts: parts } }),
        this.opts(signal),
      );
    } catch (err) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => undefined);
      throw err;
    }
  }

  async delete(keyOrPrefix: string, o?: OpOpts): Promise<void> {
    // The key itself and everything under it as a directory: S3 has no way to tell which one is meant.
    const single = this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(keyOrPrefix) }), this.opts(o?.signal));
    const below = async (): Promise<void> => {
      let batch: string[] = [];
      for await (const k of this.listRaw(`${this.objectKey(keyOrPrefix)}/`, undefined, o?.signal)) {
        batch.push(k);
        if (batch.length === DELETE_BATCH) {
          await this.deleteMany(batch, o?.signal);
          batch = [];
        }
      }
      await this.deleteMany(batch, o?.signal);
    };
    await Promise.all([single, below()]);
  }

  /** Deletes full object keys (root prefix included) in DeleteObjects batches; absent keys are fine. */
  async deleteMany(keys: string[], signal?: AbortSignal): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const chunk = keys.slice(i, i + DELETE_BATCH);
      const res = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true } }),
        this.opts(signal),
      );
      const failed = (res.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        const first = failed[0];
        throw new DriverError(this.name, first?.Key ?? '', `DeleteObjects failed for ${failed.length} key(s): ${first?.Code} ${first?.Message}`);
      }
    }
  }

  async *list(prefix: string, o?: OpOpts & { startAfter?: string }): AsyncIterable<string> {
    const full = prefix === '' ? this.root : `${this.objectKey(prefix)}/`;
    const startAfter = o?.startAfter ? this.objectKey(o.startAfter) : undefined;
    for await (const k of this.listRaw(full, startAfter, o?.signal)) {
      const key = k.slice(this.root.length);
      // Drops scratch objects and anything in the bucket a key could not have produced.
      if (isValidKey(key)) yield key;
    }
  }

  /** Full object keys under a raw prefix, in S3's (lexical) order, one ListObjectsV2 page at a time. */
  async *listRaw(prefix: string, startAfter?: string, signal?: AbortSignal): AsyncGenerator<string> {
    for await (const o of this.listRawObjects(prefix, startAfter, signal)) yield o.key;
  }

  /** Like listRaw, with each object's LastModified (undefined if the server left it out). */
  async *listRawObjects(
    prefix: string,
    startAfter?: string,
    signal?: AbortSignal,
  ): AsyncGenerator<{ key: string; modifiedAt: Date | undefined }> {
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : startAfter ? { StartAfter: startAfter } : {}),
        }),
        this.opts(signal),
      );
      for (const c of res.Contents ?? []) if (c.Key !== undefined) yield { key: c.Key, modifiedAt: c.LastModified };
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  /** In-progress multipart uploads whose key starts with a raw prefix, one ListMultipartUploads page at a time. */
  async *listUploads(
    prefix: string,
    signal?: AbortSignal,
  ): AsyncGenerator<{ key: string; uploadId: string; initiated: Date | undefined }> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const res = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          ...(prefix !== '' ? { Prefix: prefix } : {}),
          ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
          ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
        }),
        this.opts(signal),
      );
      for (const u of res.Uploads ?? []) {
        if (u.Key !== undefined && u.UploadId !== undefined) yield { key: u.Key, uploadId: u.UploadId, initiated: u.Initiated };
      }
      if (!res.IsTruncated) return;
      const nextKey = res.NextKeyMarker;
      const nextId = res.NextUploadIdMarker;
      // A server that truncates without a way forward would otherwise loop forever on the same page.
      if (!nextKey || (nextKey === keyMarker && nextId === uploadIdMarker)) {
        throw new DriverError(this.name, prefix, 'ListMultipartUploads is truncated but gives no next marker');
      }
      keyMarker = nextKey;
      uploadIdMarker = nextId;
    }
  }

  /**
   * Scratch is swept a writer at a time: everything under `~wharf-tmp/<id>/` plus the multipart uploads its
   * markers name, dated by the newest of those (a live writer's stale tails and old upload stay with it).
   * Uploads no marker names (a crash between CreateMultipartUpload and the marker, or an interrupted large
   * move) are dated by their initiation. Uploads are aborted before their markers go, so an interrupted
   * sweep leaves nothing the next one cannot find.
   */
  async sweepScratch(olderThan: Date, o?: OpOpts): Promise<{ removed: number }> {
    const signal = o?.signal;
    const cutoff = olderThan.getTime();
    const isOld = (d: Date | undefined): boolean => d !== undefined && d.getTime() < cutoff;
    // Uploads first: one created after this listing is young, whether or not its marker shows up below.
    const uploads = new Map<string, { key: string; uploadId: string; initiated: Date | undefined }>();
    for await (const u of this.listUploads(this.root, signal)) {
      // Only keys this store could have written: a bucket shared with other data keeps that data's uploads.
      if (isValidKey(u.key.slice(this.root.length))) uploads.set(u.uploadId, u);
    }
    const scratchRoot = `${this.root}${SCRATCH_DIR}/`;
    const writers = new Map<string, { keys: string[]; uploadIds: string[]; young: boolean }>();
    for await (const obj of this.listRawObjects(scratchRoot, undefined, signal)) {
      const rest = obj.key.slice(scratchRoot.length);
      const slash = rest.indexOf('/');
      const id = slash < 0 ? rest : rest.slice(0, slash);
      let w = writers.get(id);
      if (!w) writers.set(id, (w = { keys: [], uploadIds: [], young: false }));
      w.keys.push(obj.key);
      if (!isOld(obj.modifiedAt)) w.young = true;
      const name = slash < 0 ? '' : rest.slice(slash + 1);
      if (name.startsWith('mpu-')) w.uploadIds.push(Buffer.from(name.slice(4), 'base64url').toString());
    }
    const abort: Array<{ key: string; uploadId: string }> = [];
    const del: string[] = [];
    for (const w of writers.values()) {
      const own = w.uploadIds.flatMap((id) => {
        const u = uploads.get(id);
        uploads.delete(id);
        return u ? [u] : [];
      });
      if (w.young || own.some((u) => !isOld(u.initiated))) continue;
      abort.push(...own);
      del.push(...w.keys);
    }
    for (const u of uploads.values()) if (isOld(u.initiated)) abort.push(u);
    let removed = 0;
    for (const u of abort) {
      signal?.throwIfAborted();
      try {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.key, UploadId: u.uploadId }), this.opts(signal));
        removed++;
      } catch (err) {
        if (!isNoSuchUpload(err)) throw err;
      }
    }
    await this.deleteMany(del, signal);
    return { removed: removed + del.length };
  }

  copyTo(key: string, dest: Writable, o?: OpOpts & { offset?: number; length?: number }): Promise<number> {
    return copyViaRead(() => this.read(key, o), dest);
  }

  async presignGet(key: string, o: { expiresInSec: number }): Promise<string | null> {
    if (!this.params.presign) return null;
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }), {
      expiresIn: o.expiresInSec,
    });
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  // --- writer scratch space (used by S3Writer) ---

  scratchPrefix(id: string): string {
    return `${this.root}${SCRATCH_DIR}/${id}/`;
  }

  scratchKey(id: string, name: string): string {
    return this.scratchPrefix(id) + name;
  }

  uploadMarkerName(uploadId: string): string {
    return `mpu-${Buffer.from(uploadId).toString('base64url')}`;
  }

  async putScratch(id: string, name: string, body: Uint8Array): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.scratchKey(id, name), Body: body, ContentLength: body.byteLength }),
    );
  }

  async deleteScratch(id: string, names: string[]): Promise<void> {
    await this.deleteMany(names.map((n) => this.scratchKey(id, n)));
  }

  /**
   * Removes a finished writer's scratch objects and aborts every multipart upload it (or a process whose
   * state was never recorded) created, except `keepUploadId`, the one just completed.
   */
  async clearScratch(id: string, key: string, keepUploadId: string | null): Promise<void> {
    const prefix = this.scratchPrefix(id);
    const keys: string[] = [];
    for await (const k of this.listRaw(prefix)) keys.push(k);
    for (const k of keys) {
      const name = k.slice(prefix.length);
      if (!name.startsWith('mpu-')) continue;
      const uploadId = Buffer.from(name.slice(4), 'base64url').toString();
      if (uploadId === keepUploadId) continue;
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.objectKey(key), UploadId: uploadId }))
        .catch((err: unknown) => (isNoSuchUpload(err) ? undefined : Promise.reject(err)));
    }
    await this.deleteMany(keys);
  }
}

function parseParts(r: StateReader, raw: unknown): PartInfo[] {
  if (!Array.isArray(raw)) r.fail('resume state has no parts list');
  return raw.map((p: unknown, i) => {
    const part = p as Partial<PartInfo> | null;
    if (
      typeof part !== 'object' ||
      part === null ||
      part.PartNumber !== i + 1 ||
      typeof part.ETag !== 'string' ||
      !Number.isSafeInteger(part.size) ||
      (part.size as number) <= 0
    ) {
      r.fail(`resume state has an invalid part ${i + 1}`);
    }
    return { PartNumber: part.PartNumber, ETag: part.ETag, size: part.size as number };
  });
}

function parseTail(r: StateReader, raw: unknown): { name: string; size: number } | null {
  if (raw === null || raw === undefined) return null;
  const t = raw as { name?: unknown; size?: unknown };
  if (typeof t.name !== 'string' || !TAIL_NAME_RE.test(t.name) || !Number.isSafeInteger(t.size) || (t.size as number) <= 0) {
    r.fail('resume state has an invalid tail');
  }
  return { name: t.name, size: t.size as number };
}
