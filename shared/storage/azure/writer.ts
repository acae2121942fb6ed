import { PartBuffer } from '../part-buffer.js';
import { randomBytes } from 'node:crypto';
import { DriverError, type BlobWriter, type WriterState } from '../driver.js';
import type { AzureDriver } from './driver.js';

/** Consecutive blocks staged by one writer session, all of `size` bytes. */
export interface BlockRun {
  /** The session's random tag, part of each block id: a ghost's blocks never share an id with ours. */
  tag: string;
  count: number;
  size: number;
}

/** The resumable state, as stored in Postgres. */
export type AzureWriterState = {
  driver: 'azure';
  key: string;
  size: number;
  /** Names this writer's scratch prefix (staging blob, tails). */
  id: string;
  /** The staged blocks, in order; their ids follow from the runs (see blockId). */
  blocks: BlockRun[];
  /** Bytes past the last block, parked as a small blob so that blocks stay full-sized. */
  tail: { name: string; size: number } | null;
  /** The tail of the state this writer was resumed from: still needed should our state never be recorded. */
  prevTail: string | null;
};

export interface AzureWriterInit {
  id: string;
  /** Resumed from a state: earlier sessions (or ghosts of them) may have left scratch blobs. */
  resumed: boolean;
  size: number;
  runs: BlockRun[];
  tail: Buffer | null;
  resumedTail: string | null;
  prevTail: string | null;
}

/** The scratch blob the blocks are staged on, under the writer's prefix. */
export const DATA_BLOB = 'data';
/** Azure's limit of committed blocks per blob. */
export const MAX_BLOCKS = 50_000;
export const TAG_RE = /^[a-f0-9]{8}$/;
export const TAIL_NAME_RE = /^tail-\d+-[a-f0-9]{8}$/;

/**
 * Block ids are fixed-width (Azure wants one length per blob): `<session tag>-<6-digit position in the blob>`,
 * base64. Deterministic, so a state needs only its runs to name every block.
 */
export function blockId(tag: string, index: number): string {
  return Buffer.from(`${tag}-${String(index).padStart(6, '0')}`).toString('base64');
}

/**
 * Stages full blocks on the writer's scratch blob `~wharf-tmp/<id>/data` and, on commit, commits exactly the
 * recorded blocks plus this session's there (which discards blocks of sessions whose state was never
 * recorded) and copies the result to the key server-side. A writer that never filled a block commits with a
 * single Put Blob at the key. Memory: one block being filled plus at most one staging; write() waits for
 * that staging before handing over the next block, which is the backpressure.
 */
export class AzureWriter implements BlobWriter {
  size: number;
  private readonly part: PartBuffer;
  private readonly runs: BlockRun[];
  private blockCount: number;
  private readonly tag = randomBytes(4).toString('hex');
  /** Whether the staging blob exists for this writer's lineage (a state with blocks implies it). */
  private dataReady: boolean;
  /** The block being staged; kept until it succeeds, so a failed staging can be retried by suspend/commit. */
  private pending: { index: number; body: Buffer; upload: Promise<void>; error?: unknown } | undefined;
  private finished = false;
  /** Whether anything may exist under this writer's scratch prefix needing cleanup. */
  private scratch: boolean;

  constructor(
    private readonly driver: AzureDriver,
    private readonly key: string,
    private readonly init: AzureWriterInit,
  ) {
    this.size = init.size;
    this.runs = init.runs.map((r) => ({ ...r }));
    this.blockCount = init.runs.reduce((n, r) => n + r.count, 0);
    this.dataReady = this.blockCount > 0;
    const tail = init.tail ?? Buffer.alloc(0);
    this.part = new PartBuffer(this.blockSize, tail);
    this.scratch = init.resumed;
  }

  private get blockSize(): number {
    return this.driver.params.blockSize;
  }

  private get dataName(): string {
    return this.driver.scratchName(this.init.id, DATA_BLOB);
  }

  private check(): void {
    if (this.finished) throw new Error(`${this.driver.name}: writer already finished (${this.key})`);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.check();
    await this.part.append(chunk, () => this.flushBlock(), (n) => (this.size += n));
  }

  /** Waits for the block in flight; its failure surfaces here (the SDK has already retried it). */
  private async waitInflight(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    await p.upload;
    if ('error' in p) throw p.error;
    this.pending = undefined;
  }

  /** Like waitInflight, but gives a failed block one more try: used where giving up would lose the bytes. */
  private async settle(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    await p.upload;
    if ('error' in p) {
      await this.stage(p.index, p.body);
      this.pushBlock(p.body.byteLength);
    }
    this.pending = undefined;
  }

  /**
   * Creates the staging blob (empty) before the lineage's first block. Put Blob discards whatever blocks sit
   * there uncommitted, i.e. those of sessions whose state was never recorded; it also dates the writer's
   * scratch for sweepScratch, as staging leaves Last-Modified alone.
   */
  private async ensureData(): Promise<void> {
    if (this.dataReady) return;
    this.scratch = true;
    await this.driver.blockBlob(this.dataName).upload(Buffer.alloc(0), 0);
    this.dataReady = true;
  }

  private async flushBlock(): Promise<void> {
    await this.waitInflight();
    const index = this.blockCount;
    if (index >= MAX_BLOCKS) {
      throw new DriverError(this.driver.name, this.key, `more than ${MAX_BLOCKS} blocks: raise blockSize`);
    }
    await this.ensureData();
    const body = this.part.take();
    const pending: NonNullable<AzureWriter['pending']> = { index, body, upload: Promise.resolve() };
    pending.upload = this.stage(index, body).then(
      () => this.pushBlock(body.byteLength),
      (err: unknown) => {
        pending.error = err;
      },
    );
    this.pending = pending;
  }

  private async stage(index: number, body: Buffer): Promise<void> {
    await this.driver.blockBlob(this.dataName).stageBlock(blockId(this.tag, index), body, body.byteLength);
  }

  private pushBlock(size: number): void {
    const last = this.runs[this.runs.length - 1];
    if (last && last.tag === this.tag && last.size === size) last.count++;
    else this.runs.push({ tag: this.tag, count: 1, size });
    this.blockCount++;
  }

  private blockIds(): string[] {
    const ids: string[] = [];
    for (const run of this.runs) for (let i = 0; i < run.count; i++) ids.push(blockId(run.tag, ids.length));
    return ids;
  }

  async suspend(): Promise<WriterState> {
    this.check();
    await this.settle();
    const d = this.driver;
    let tail: AzureWriterState['tail'] = null;
    if (this.part.length > 0) {
      tail = { name: `tail-${this.size}-${this.tag}`, size: this.part.length };
      this.scratch = true;
      await d.blockBlob(d.scratchName(this.init.id, tail.name)).upload(this.part.bytes(), this.part.length);
    }
    this.finished = true;
    this.part.release();
    // Once our state exists, the caller holds either it or the one we resumed from; older tails are garbage.
    const stale = this.init.prevTail;
    if (stale !== null && stale !== this.init.resumedTail) {
      await d.deleteBlob(d.scratchName(this.init.id, stale)).catch(() => undefined);
    }
    const state: AzureWriterState = {
      driver: 'azure',
      key: this.key,
      size: this.size,
      id: this.init.id,
      blocks: this.runs.map((r) => ({ ...r })),
      tail,
      prevTail: this.init.resumedTail,
    };
    return state;
  }

  async commit(): Promise<void> {
    this.check();
    await this.settle();
    const d = this.driver;
    if (this.blockCount === 0) {
      await d.blockBlob(d.blobName(this.key)).upload(this.part.bytes(), this.part.length);
    } else {
      if (this.part.length > 0) {
        if (this.blockCount >= MAX_BLOCKS) {
          throw new DriverError(d.name, this.key, `more than ${MAX_BLOCKS} blocks: raise blockSize`);
        }
        await this.stage(this.blockCount, this.part.bytes());
        this.pushBlock(this.part.length);
        this.part.clear();
      }
      // The explicit list drops every other uncommitted block: those of sessions whose state was never recorded.
      const res = await d.blockBlob(this.dataName).commitBlockList(this.blockIds());
      await d.copyBlob(this.dataName, d.blobName(this.key), this.size, res.etag);
    }
    this.finished = true;
    this.part.release();
    // The object is visible now; failing the commit over scratch cleanup would make the caller retry a done write.
    if (this.scratch) await d.clearScratch(this.init.id).catch(() => undefined);
  }

  async cancel(): Promise<void> {
    this.finished = true;
    this.part.release();
    await this.pending?.upload;
    if (this.scratch) await this.driver.clearScratch(this.init.id);
  }
}
