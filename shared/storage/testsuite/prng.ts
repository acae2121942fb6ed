import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/**
 * Deterministic, random-access test bytes: the AES-128-CTR keystream, so any slice of a 40 MiB "file" can be
 * regenerated at GB/s without ever building the file.
 */
const KEY = Buffer.from('wharf-conformanc');
const GEN_CHUNK = 1024 * 1024;

export function prngBytes(seed: number, offset: number, length: number): Buffer {
  const block = Math.floor(offset / 16);
  const skip = offset % 16;
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(seed >>> 0, 0);
  iv.writeBigUInt64BE(BigInt(block), 8);
  const cipher = createCipheriv('aes-128-ctr', KEY, iv);
  const out = cipher.update(Buffer.alloc(skip + length));
  return out.subarray(skip);
}

export function prngSha256(seed: number, offset: number, length: number): string {
  const h = createHash('sha256');
  for (let at = 0; at < length; at += GEN_CHUNK) {
    h.update(prngBytes(seed, offset + at, Math.min(GEN_CHUNK, length - at)));
  }
  return h.digest('hex');
}

export function prngStream(seed: number, length: number): Readable {
  function* gen(): Generator<Buffer> {
    for (let at = 0; at < length; at += GEN_CHUNK) yield prngBytes(seed, at, Math.min(GEN_CHUNK, length - at));
  }
  return Readable.from(gen(), { objectMode: false });
}

export async function sha256OfStream(stream: AsyncIterable<Uint8Array | Buffer>): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    h.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: h.digest('hex'), size };
}
