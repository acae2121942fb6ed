import { randomBytes } from 'node:crypto';
import { PartBuffer } from '../part-buffer.js';
import type { BlobWriter, WriterState } from '../driver.js';
import type { GcsDriver } from './driver.js';

/** One scratch object holding bytes [offset, offset + size) of the write; the name carries the offset. */
export interface GcsPart {
  name: string;
  size: number;
}

/** `part-<offset>-<random>`: unique per upload, so a writer resumed twice (one never recorded) never overwrites. */
export const PART_NAME_RE = /^part-\d+-[0-9a-f]{8}$/;

/** The resumable state, as stored in Postgres. */
export type GcsWriterState = {
  driver: 'gcs';
  key: string;
  size: number;
  /** Names this writer's scratch prefix. */
  id: string;
  /** In order; their sizes add up to `size`. */
  parts: GcsPart[];
};

export interface GcsWriterInit {
  id: string;
  size: number;
  parts: GcsPart[];
  /** Resumed from a state: another process may have parked parts under our id that the state does not name. */
  resumed: boolean;
}


/**
 * Every part is its own scratch object under `~wharf-tmp/<id>/`, written with a single-request upload; suspend()
 * parks the buffered bytes as one more (shorter) part, so resuming reads nothing back, and the state is just the
 * list of parts. commit() writes the key once, from the parts: a direct upload when nothing was parked, a
 * server-side copy of a lone part, else compose (or a streamed upload where compose is missing).
 *
 * Memory: one buffer up to partSize being filled plus at most one part uploading; write() waits for that upload
 * before handing over the next part, which is the backpressure.
 */
export class GcsWriter implements BlobWriter {
  size: number;
  private readonly part: PartBuffer;
  private readonly parts: GcsPart[];
  /** Bytes handed to parts (uploaded or uploading): the offset of the next part. */
  private flushed: number;
  /** The part being uploaded; kept until it succeeds, so a failed upload can be retried by suspend/commit. */
  private pending: { part: GcsPart; body: Buffer; upload: Promise<void>; error?: unknown } | undefined;
  private finished = false;

  constructor(
    private readonly driver: GcsDriver,
    private readonly key: string,
    private readonly init: GcsWriterInit,
  ) {
    this.size = init.size;
    this.flushed = init.size;
    this.parts = [...init.parts];
    this.part = new PartBuffer(this.partSize);
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

  /** Waits for the part in flight; its failure surfaces here (the library has already retried what it may). */
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
    if ('error' in p) {
      await this.driver.upload(this.driver.scratchName(this.init.id, p.part.name), p.body);
      this.parts.push(p.part);
    }
    this.pending = undefined;
  }

  /** The next part, starting at `flushed`. */
  private nextPart(size: number): GcsPart {
    return { name: `part-${this.flushed}-${randomBytes(4).toString('hex')}`, size };
  }

  private async flushPart(): Promise<void> {
    await this.waitInflight();
    const body = this.part.take();
    const part = this.nextPart(body.byteLength);
    // Handed over: a failed upload of it is retried under the same name by suspend/commit.
    this.flushed += part.size;
    const pending: NonNullable<GcsWriter['pending']> = { part, body, upload: Promise.resolve() };
    pending.upload = this.driver.upload(this.driver.scratchName(this.init.id, part.name), body).then(
      () => void this.parts.push(part),
      (err: unknown) => {
        pending.error = err;
      },
    );
    this.pending = pending;
  }

  /** Uploads the buffered bytes as a part now (suspend, or commit by compose) and returns its full object name. */
  private async parkBuffer(): Promise<string> {
    const part = this.nextPart(this.part.length);
    const name = this.driver.scratchName(this.init.id, part.name);
    await this.driver.upload(name, this.part.bytes());
    this.flushed += part.size;
    this.parts.push(part);
    this.part.clear();
    return name;
  }

  async suspend(): Promise<WriterState> {
    this.check();
    await this.settle();
    if (this.part.length > 0) await this.parkBuffer();
    this.finished = true;
    this.part.release();
    const state: GcsWriterState = { driver: 'gcs', key: this.key, size: this.size, id: this.init.id, parts: this.parts };
    return state;
  }

  async commit(): Promise<void> {
    this.check();
    await this.settle();
    const d = this.driver;
    const tail = this.part.bytes();
    const sources = this.parts.map((p) => d.scratchName(this.init.id, p.name));
    const first = sources[0];
    if (first === undefined) {
      await d.upload(d.objectKey(this.key), tail);
    } else if (sources.length === 1 && tail.byteLength === 0) {
      await d.copyObject(first, d.objectKey(this.key), this.key);
    } else {
      await d.assemble(this.key, this.init.id, sources, tail, () => this.parkBuffer());
    }
    this.finished = true;
    this.part.release();
    // The object is visible now; failing the commit over scratch cleanup would make the caller retry a done write.
    if (first !== undefined || this.init.resumed) await d.clearScratch(this.init.id).catch(() => undefined);
  }

  async cancel(): Promise<void> {
    this.finished = true;
    this.part.release();
    await this.pending?.upload;
    await this.driver.clearScratch(this.init.id);
  }
}
