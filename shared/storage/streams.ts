import { Readable } from 'node:stream';
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
