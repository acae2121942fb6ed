import type { Readable } from 'node:stream';
import type { BlobWriter } from '../../../../shared/storage/driver.js';
import type { StreamingHasher } from '../../../../shared/oci/digest.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import { BLOB_UPLOAD_INVALID, SIZE_INVALID } from '../../../../shared/errors/codes.js';

// Socket chunks (≤ 64 KiB) are gathered into writes of this size, and one write is in flight while the next batch
// is read, so the disk and the network work at the same time and the store sees few, large writes.
const WRITE_BATCH = 1024 * 1024;

/**
 * Streams a request body into a writer, hashing on the way. At most two batches are held (one being written, one
 * being gathered); backpressure comes from awaiting the write in flight. A client that disconnects mid-body
 * surfaces as BLOB_UPLOAD_INVALID.
 */
export async function pumpBody(body: Readable, writer: BlobWriter, hashers: StreamingHasher[]): Promise<number> {
  let n = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let inFlight: Promise<void> | undefined;
  const flush = async () => {
    await inFlight;
    const data = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batchBytes);
    batch = [];
    batchBytes = 0;
    inFlight = writer.write(data);
    // Observed when awaited next; until then a rejection must not count as unhandled.
    inFlight.catch(() => {});
  };
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      for (const h of hashers) h.update(chunk);
      batch.push(chunk);
      batchBytes += chunk.length;
      n += chunk.length;
      if (batchBytes >= WRITE_BATCH) await flush();
    }
    if (batchBytes > 0) await flush();
    await inFlight;
  } catch (err) {
    await inFlight?.catch(() => {});
    if (isClientAbort(err)) {
      throw new WharfError(BLOB_UPLOAD_INVALID, { message: 'request body ended before Content-Length bytes arrived', cause: err });
    }
    throw err;
  }
  return n;
}

/**
 * Reads a small body whole, refusing more than `limit` bytes without reading them all. On 'too-large' the rest of
 * the body stays unread (the stream is paused, not destroyed, so the error response still reaches the client; send
 * it with Connection: close). A client that disconnects mid-body surfaces as SIZE_INVALID.
 */
export function readBounded(body: Readable, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    const cleanup = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      n += chunk.length;
      if (n > limit) {
        cleanup();
        body.pause();
        resolve('too-large');
        return;
      }
      parts.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(parts, n));
    };
    const onError = (err: unknown) => {
      cleanup();
      reject(isClientAbort(err) ? truncated(err) : err);
    };
    const onAborted = () => onError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    if (body.readableEnded) {
      resolve(Buffer.alloc(0));
      return;
    }
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    body.on('aborted', onAborted);
  });
}

function truncated(cause: unknown): WharfError {
  return new WharfError(SIZE_INVALID, { message: 'request body ended before Content-Length bytes arrived', cause });
}

function isClientAbort(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as Error)?.message === 'aborted';
}
