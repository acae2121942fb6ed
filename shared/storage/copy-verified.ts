import { StreamingHasher, parseDigest, type Digest } from '../oci/digest.js';
import type { BlobStore, OpOpts } from './driver.js';

/** The source's bytes did not hash to the digest (or had the wrong size): nothing was made visible. */
export class CorruptSourceError extends Error {
  override readonly name = 'CorruptSourceError';
  constructor(readonly source: string, readonly expected: { digest: string; size: number }, readonly actual: { digest: string; size: number }) {
    super(`${source}: copy of ${expected.digest} read ${actual.size} bytes hashing to ${actual.digest}`);
  }
}

/**
 * Copies a content-addressed object between stores, streaming, and makes it visible at `dstKey` only after the
 * bytes hashed to `digest` and counted `size`; then reads the size back from the destination, so a placement is
 * only ever recorded for bytes known to be there. `onProgress` lets long copies keep their lease alive.
 */
export async function copyVerified(
  src: BlobStore, srcKey: string, dst: BlobStore, dstKey: string,
  blob: { digest: Digest; size: number },
  o: OpOpts & { onProgress?: (bytes: number) => void } = {},
): Promise<void> {
  const hasher = new StreamingHasher(parseDigest(blob.digest).algorithm);
  const reader = await src.read(srcKey, o.signal ? { signal: o.signal } : {});
  const writer = await dst.openWriter(dstKey, o.signal ? { signal: o.signal } : {});
  let committed = false;
  try {
    let n = 0;
    let lastReport = 0;
    for await (const chunk of reader as AsyncIterable<Buffer>) {
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
    if (!committed) {
      reader.destroy();
      await writer.cancel().catch(() => {});
    }
  }
  const info = await dst.stat(dstKey);
  if (info.size !== blob.size) {
    throw new CorruptSourceError(dst.name, blob, { digest: 'unverified', size: info.size });
  }
}
