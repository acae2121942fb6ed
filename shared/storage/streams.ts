import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidOffsetError, TooLargeError } from './driver.js';

export const DEFAULT_READ_SMALL_MAX = 4 * 1024 * 1024;
const SLICE = 64 * 1024;

/** The byte range [start, end) a read covers; offset == size is an empty read, beyond it an error. */
export function resolveRange(
  driver: string,
  key: string,
  size: number,
  offset = 0,
  length?: number,
): { start: number; end: number } {
  if (offset > size) throw new InvalidOffsetError(driver, key, offset);
  const end = length === undefined ? size : Math.min(size, offset + length);
  return { start: offset, end };
}

/** Streams a buffer in slices, so consumers see the same chunking as from a file or socket. */
export function bufferStream(data: Uint8Array): Readable {
  function* slices(): Generator<Uint8Array> {
    for (let i = 0; i < data.byteLength; i += SLICE) yield data.subarray(i, Math.min(data.byteLength, i + SLICE));
  }
  return Readable.from(slices(), { objectMode: false });
}

/** Reads a whole stream, refusing (and destroying it) once more than `maxBytes` arrive. */
export async function readBounded(
  stream: Readable,
  maxBytes: number,
  driver: string,
  key: string,
): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      total += buf.byteLength;
      if (total > maxBytes) throw new TooLargeError(driver, key, maxBytes);
      chunks.push(buf);
    }
  } finally {
    if (!stream.destroyed) stream.destroy();
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
}

/** An empty stream (offset == size, or length 0). */
export function emptyStream(): Readable {
  return Readable.from([], { objectMode: false });
}

/** copyTo for drivers without a faster path: stream the read into the destination. */
export async function copyViaRead(
  read: () => Promise<Readable>,
  dest: Writable,
): Promise<number> {
  const src = await read();
  let n = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.byteLength;
      cb(null, chunk);
    },
  });
  await pipeline(src, count, dest, { end: false });
  return n;
}

/** Writes one chunk and resolves once `dest` is done with it (so the caller may reuse the buffer). */
export function writeAndRelease(dest: Writable, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    if (dest.destroyed) {
      reject(Object.assign(new Error('destination closed'), { code: 'ERR_STREAM_DESTROYED' }));
      return;
    }
    let settled = false;
    const onClose = () => finish(Object.assign(new Error('destination closed'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    const finish = (err?: Error | null) => {
      if (settled) return;
      settled = true;
      dest.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    // A destination torn down mid-write may never call back; its 'close' settles the write instead.
    dest.once('close', onClose);
    dest.write(chunk, finish);
  });
}

/** Reusable equal-sized buffers; keeps at most `keep` idle ones, so memory stays bounded under any load. */
export class BufferPool {
  private readonly idle: Buffer[] = [];
  constructor(readonly size: number, private readonly keep: number) {}
  take(): Buffer {
    return this.idle.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }
  give(b: Buffer): void {
    if (this.idle.length < this.keep && b.byteLength === this.size) this.idle.push(b);
  }
}
