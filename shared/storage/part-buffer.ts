const INITIAL_BUFFER = 64 * 1024;

/**
 * The bytes a multipart writer (S3 parts, Azure blocks, GCS part objects) gathers before handing over a part. It
 * grows geometrically, so a small object never pays for a whole part, and never holds more than one part.
 */
export class PartBuffer {
  private buf: Buffer;
  private len = 0;

  constructor(private readonly partSize: number, initial?: Uint8Array) {
    this.buf = Buffer.allocUnsafe(Math.max(INITIAL_BUFFER, initial?.byteLength ?? 0));
    if (initial) {
      this.buf.set(initial);
      this.len = initial.byteLength;
    }
  }

  get length(): number {
    return this.len;
  }

  get full(): boolean {
    return this.len >= this.partSize;
  }

  /** The gathered bytes (a view: valid until the next append or take). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }

  /** Hands the gathered bytes over (they now belong to an upload) and starts a fresh part-sized buffer. */
  take(): Buffer {
    const out = this.bytes();
    this.buf = Buffer.allocUnsafe(this.partSize);
    this.len = 0;
    return out;
  }

  /** Forgets the gathered bytes, keeping the buffer. */
  clear(): void {
    this.len = 0;
  }

  /** Drops the memory for good (the writer is finished). */
  release(): void {
    this.buf = Buffer.alloc(0);
    this.len = 0;
  }

  /**
   * Appends `chunk`, calling `flush` whenever a part is full (before overflowing it, and once more at the end so a
   * suspend right after never parks a whole part). `accepted` is told of every piece as it lands, so a flush that
   * fails mid-chunk leaves the writer's size saying exactly what a suspend would keep.
   */
  async append(chunk: Uint8Array, flush: () => Promise<void>, accepted: (n: number) => void): Promise<void> {
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.full) await flush();
      const n = Math.min(chunk.byteLength - at, this.partSize - this.len);
      this.reserve(this.len + n);
      this.buf.set(chunk.subarray(at, at + n), this.len);
      this.len += n;
      at += n;
      accepted(n);
    }
    if (this.full) await flush();
  }

  private reserve(needed: number): void {
    if (needed <= this.buf.byteLength) return;
    let cap = Math.max(this.buf.byteLength, INITIAL_BUFFER);
    while (cap < needed) cap *= 2;
    const next = Buffer.allocUnsafe(Math.min(cap, Math.max(this.partSize, needed)));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
}
