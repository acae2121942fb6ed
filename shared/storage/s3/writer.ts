import { PartBuffer } from '../part-buffer.js';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { DriverError, type BlobWriter, type WriterState } from '../driver.js';
import { isNoSuchUpload } from './errors.js';
import type { S3Driver } from './driver.js';

export interface PartInfo {
  PartNumber: number;
  ETag: string;
  size: number;
}

/** The resumable state, as stored in Postgres. */
export type S3WriterState = {
  driver: 's3';
  key: string;
  size: number;
  /** Names this writer's scratch prefix (tails, upload markers). */
  id: string;
  uploadId: string | null;
  parts: PartInfo[];
  /** Bytes past the last part, parked as a small object because S3 parts must be ≥ 5 MiB. */
  tail: { name: string; size: number } | null;
  /** The tail of the state this writer was resumed from: still needed should our state never be recorded. */
  prevTail: string | null;
};

export interface S3WriterInit {
  id: string;
  size: number;
  uploadId: string | null;
  parts: PartInfo[];
  tail: Buffer | null;
  resumedTail: string | null;
  prevTail: string | null;
}

const MAX_PARTS = 10_000;

/**
 * A multipart upload, created only once a full part is buffered so small objects cost a single PutObject.
 * Memory: one buffer up to partSize being filled plus at most one part uploading; write() waits for that
 * upload before handing over the next part, which is the backpressure.
 */
export class S3Writer implements BlobWriter {
  size: number;
  private readonly part: PartBuffer;
  private uploadId: string | null;
  private readonly parts: PartInfo[];
  /** The part being uploaded; kept until it succeeds, so a failed upload can be retried by suspend/commit. */
  private pending: { partNumber: number; body: Buffer; upload: Promise<void>; error?: unknown } | undefined;
  private finished = false;
  /** Whether anything may exist under this writer's scratch prefix (tails, markers) needing cleanup. */
  private scratch: boolean;

  constructor(
    private readonly driver: S3Driver,
    private readonly key: string,
    private readonly init: S3WriterInit,
  ) {
    this.size = init.size;
    this.uploadId = init.uploadId;
    this.parts = [...init.parts];
    const tail = init.tail ?? Buffer.alloc(0);
    this.part = new PartBuffer(this.partSize, tail);
    this.scratch = init.resumedTail !== null || init.prevTail !== null || init.uploadId !== null;
  }

  private get partSize(): number {
    return this.driver.params.partSize;
  }

  private check(): void {
    if (this.finished) throw new Error(`${this.driver.name}: writer already finished (${this.key})`);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.check();
    await this.part.append(chunk, () => this.flushPart(), (n) => (this.size += n));
  }

  /** Waits for the part in flight; its failure surfaces here (the SDK has already retried it). */
  private async waitInflight(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    await p.upload;
    if ('error' in p) throw p.error;
    this.pending = undefined;
  }

  /** Like waitInflight, but gives a failed part one more try: used where giving up would lose the bytes. */
  private async settle(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    await p.upload;
    if ('error' in p && this.uploadId !== null) {
      this.parts.push(await this.uploadPart(this.uploadId, p.partNumber, p.body));
    }
    this.pending = undefined;
  }

  private async ensureUpload(): Promise<string> {
    if (this.uploadId) return this.uploadId;
    const d = this.driver;
    const res = await d.client.send(
      new CreateMultipartUploadCommand({ Bucket: d.params.bucket, Key: d.objectKey(this.key) }),
    );
    if (!res.UploadId) throw new DriverError(d.name, this.key, 'CreateMultipartUpload returned no UploadId');
    this.uploadId = res.UploadId;
    this.scratch = true;
    // A marker, so that whoever finishes this write can abort an upload created by a process whose state
    // was never recorded (otherwise it would linger, invisible and billed, until a lifecycle rule).
    await d.putScratch(this.init.id, d.uploadMarkerName(res.UploadId), new Uint8Array(0));
    return res.UploadId;
  }

  private async flushPart(): Promise<void> {
    await this.waitInflight();
    const uploadId = await this.ensureUpload();
    const partNumber = this.parts.length + 1;
    if (partNumber > MAX_PARTS) {
      throw new DriverError(this.driver.name, this.key, `more than ${MAX_PARTS} parts: raise partSize`);
    }
    const body = this.part.take();
    const pending: NonNullable<S3Writer['pending']> = { partNumber, body, upload: Promise.resolve() };
    pending.upload = this.uploadPart(uploadId, partNumber, body).then(
      (part) => void this.parts.push(part),
      (err: unknown) => {
        pending.error = err;
      },
    );
    this.pending = pending;
  }

  private async uploadPart(uploadId: string, partNumber: number, body: Buffer): Promise<PartInfo> {
    const d = this.driver;
    try {
      const res = await d.client.send(
        new UploadPartCommand({
          Bucket: d.params.bucket,
          Key: d.objectKey(this.key),
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.byteLength,
        }),
      );
      if (!res.ETag) throw new DriverError(d.name, this.key, `UploadPart ${partNumber} returned no ETag`);
      return { PartNumber: partNumber, ETag: res.ETag, size: body.byteLength };
    } catch (err) {
      if (isNoSuchUpload(err)) {
        throw new DriverError(d.name, this.key, 'multipart upload no longer exists (aborted or expired)', { cause: err });
      }
      throw err;
    }
  }

  async suspend(): Promise<WriterState> {
    this.check();
    await this.settle();
    const d = this.driver;
    let tail: S3WriterState['tail'] = null;
    if (this.part.length > 0) {
      tail = { name: `tail-${this.size}`, size: this.part.length };
      await d.putScratch(this.init.id, tail.name, this.part.bytes());
    }
    this.finished = true;
    this.part.release();
    // Once our state exists, the caller holds either it or the one we resumed from; older tails are garbage.
    const stale = this.init.prevTail;
    if (stale !== null && stale !== tail?.name && stale !== this.init.resumedTail) {
      await d.deleteScratch(this.init.id, [stale]).catch(() => undefined);
    }
    const state: S3WriterState = {
      driver: 's3',
      key: this.key,
      size: this.size,
      id: this.init.id,
      uploadId: this.uploadId,
      parts: this.parts,
      tail,
      prevTail: this.init.resumedTail,
    };
    return state;
  }

  async commit(): Promise<void> {
    this.check();
    await this.settle();
    const d = this.driver;
    const Key = d.objectKey(this.key);
    if (this.uploadId === null) {
      await d.client.send(
        new PutObjectCommand({ Bucket: d.params.bucket, Key, Body: this.part.bytes(), ContentLength: this.part.length }),
      );
    } else {
      if (this.part.length > 0) this.parts.push(await this.uploadPart(this.uploadId, this.parts.length + 1, this.part.bytes()));
      // Ceph answers an empty ETag here; nothing below relies on it.
      await d.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: d.params.bucket,
          Key,
          UploadId: this.uploadId,
          MultipartUpload: { Parts: this.parts.map(({ PartNumber, ETag }) => ({ PartNumber, ETag })) },
        }),
      );
    }
    this.finished = true;
    this.part.release();
    // The object is visible now; failing the commit over scratch cleanup would make the caller retry a done write.
    if (this.scratch) await d.clearScratch(this.init.id, this.key, this.uploadId).catch(() => undefined);
  }

  async cancel(): Promise<void> {
    this.finished = true;
    this.part.release();
    await this.pending?.upload;
    const d = this.driver;
    if (this.uploadId !== null) {
      await d.client
        .send(new AbortMultipartUploadCommand({ Bucket: d.params.bucket, Key: d.objectKey(this.key), UploadId: this.uploadId }))
        .catch((err: unknown) => (isNoSuchUpload(err) ? undefined : Promise.reject(err)));
    }
    if (this.scratch) await d.clearScratch(this.init.id, this.key, null);
  }
}
