import type { Readable } from 'node:stream';
import type { BlobWriter } from '../../../../shared/storage/driver.js';
import type { StreamingHasher } from '../../../../shared/oci/digest.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import { BLOB_UPLOAD_INVALID } from '../../../../shared/errors/codes.js';

/**
 * Streams a request body into a writer, hashing on the way. Never buffers more than the transport's chunks;
 * backpressure comes from awaiting each write. A client that disconnects mid-body surfaces as BLOB_UPLOAD_INVALID.
 */
export async function pumpBody(body: Readable, writer: BlobWriter, hashers: StreamingHasher[]): Promise<number> {
  let n = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      for (const h of hashers) h.update(chunk);
      await writer.write(chunk);
      n += chunk.length;
    }
  } catch (err) {
    if (isClientAbort(err)) {
      throw new WharfError(BLOB_UPLOAD_INVALID, { message: 'request body ended before Content-Length bytes arrived', cause: err });
    }
    throw err;
  }
  return n;
}

/** Reads a small body whole, refusing more than `limit` bytes without reading them all. */
export async function readBounded(body: Readable, limit: number): Promise<Buffer | 'too-large'> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) {
      body.destroy();
      return 'too-large';
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts, n);
}

function isClientAbort(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as Error)?.message === 'aborted';
}
