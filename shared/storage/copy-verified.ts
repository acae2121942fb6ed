import { StreamingHasher, parseDigest, type Digest } from '../oci/digest.js';
import { InvalidOffsetError, type BlobStore, type OpOpts } from './driver.js';

/** The source's bytes did not hash to the digest (or had the wrong size): nothing was made visible. */
export class CorruptSourceError extends Error {
  override readonly name = 'CorruptSourceError';
  constructor(readonly source: string, readonly expected: { digest: string; size: number }, readonly actual: { digest: string; size: number }) {
    super(`${source}: copy of ${expected.digest} read ${actual.size} bytes hashing to ${actual.digest}`);
  }
}

/** Parallel ranged reads for big blobs: ranges of this size, this many fetched ahead of the one being written. */
export const COPY_RANGE_BYTES = 8 * 1024 * 1024;
export const COPY_PARALLELISM = 4;

/**
 * Copies a content-addressed object between stores and makes it visible at `dstKey` only after the bytes hashed to
 * `digest` and counted `size`; then reads the size back from the destination, so a placement is only ever recorded
 * for bytes known to be there. A blob larger than two ranges is fetched as parallel ranged reads (bounded:
 * `parallelism` ranges of `rangeBytes` in memory) and written in order; smaller ones stream in one read.
 * `onProgress` lets long copies keep their lease alive.
 */
export async function copyVerified(
  src: BlobStore, srcKey: string, dst: BlobStore, dstKey: string,
  blob: { digest: Digest; size: number },
  o: OpOpts & { onProgress?: (bytes: number) => void; rangeBytes?: number; parallelism?: number } = {},
): Promise<void> {
  const rangeBytes = o.rangeBytes ?? COPY_RANGE_BYTES;
  const parallelism = o.parallelism ?? COPY_PARALLELISM;
  const hasher = new StreamingHasher(parseDigest(blob.digest).algorithm);
  const signal = o.signal ? { signal: o.signal } : {};
  const writer = await dst.openWriter(dstKey, signal);
  let committed = false;
  try {
    const chunks = blob.size > 2 * rangeBytes && parallelism > 1
      ? rangedChunks(src, srcKey, blob.size, rangeBytes, parallelism, o.signal)
      : streamChunks(src, srcKey, o.signal);
    let n = 0;
    let lastReport = 0;
    for await (const chunk of chunks) {
      hasher.update(chunk);
      await writer.write(chunk);
      n += chunk.length;
      if (o.onProgress && n - lastReport >= 16 * 1024 * 1024) {
        lastReport = n;
        o.onProgress(n);
      }
    }
    const actual = { digest: hasher.peek(), size: n };
    if (actual.digest !== blob.digest || actual.size !== blob.size) throw new CorruptSourceError(src.name, blob, actual);
    await writer.commit();
    committed = true;
  } finally {
    if (!committed) await writer.cancel().catch(() => {});
  }
  const info = await dst.stat(dstKey);
  if (info.size !== blob.size) {
    throw new CorruptSourceError(dst.name, blob, { digest: 'unverified', size: info.size });
  }
}

async function* streamChunks(src: BlobStore, key: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const reader = await src.read(key, signal ? { signal } : {});
  try {
    for await (const chunk of reader as AsyncIterable<Buffer>) yield chunk;
  } finally {
    reader.destroy();
  }
}

/**
 * Ranges read concurrently, yielded in order. A source that holds fewer bytes than the blob's size yields a short
 * range, which the caller's size check turns into CorruptSourceError.
 */
async function* rangedChunks(
  src: BlobStore, key: string, size: number, rangeBytes: number, parallelism: number, signal?: AbortSignal,
): AsyncGenerator<Buffer> {
  const fetchRange = async (offset: number): Promise<Buffer> => {
    const parts: Buffer[] = [];
    try {
      for await (const c of (await src.read(key, { offset, length: Math.min(rangeBytes, size - offset), ...(signal ? { signal } : {}) })) as AsyncIterable<Buffer>) {
        parts.push(c);
      }
    } catch (e) {
      // Past the source's end: the object is shorter than the blob, which the size check reports as corruption.
      if (e instanceof InvalidOffsetError) return Buffer.alloc(0);
      throw e;
    }
    return Buffer.concat(parts);
  };
  const inFlight: Promise<Buffer>[] = [];
  let next = 0;
  const fill = () => {
    while (inFlight.length < parallelism && next < size) {
      const p = fetchRange(next);
      p.catch(() => {}); // observed when its turn comes
      inFlight.push(p);
      next += rangeBytes;
    }
  };
  fill();
  while (inFlight.length > 0) {
    const buf = await inFlight.shift()!;
    fill();
    yield buf;
    if (buf.length < rangeBytes && inFlight.length > 0) return; // short read: the source ended early
  }
}
