import type { Readable, Writable } from 'node:stream';

/**
 * The storage driver contract: a deliberately dumb key → bytes store. It knows nothing of digests,
 * repositories or HTTP; OCI meaning lives in paths.ts and the services above.
 *
 * Keys are relative, '/'-separated, made of [A-Za-z0-9._-] segments (checked centrally in base.ts).
 */
export interface OpOpts {
  signal?: AbortSignal;
}

export interface ObjectInfo {
  key: string;
  size: number;
  modifiedAt: Date;
}

/** Opaque, JSON-serialisable writer state; stored in Postgres so another process can resume the write. */
export type WriterState = { readonly driver: string; readonly size: number } & Record<string, unknown>;

export interface BlobStore {
  /** e.g. "filesystem:/var/lib/wharf" or "s3:eu-west/bucket"; used in logs and errors. */
  readonly name: string;
  stat(key: string, o?: OpOpts): Promise<ObjectInfo>;
  /** Streams the object (or a byte range of it). Errors with NotFoundError / InvalidOffsetError. */
  read(key: string, o?: OpOpts & { offset?: number; length?: number }): Promise<Readable>;
  /**
   * Copies the object (or a byte range) into `dest`, resolving with the bytes written once `dest` accepted them
   * all. Drivers may reuse their buffers between writes, so this is the cheap way to serve bulk reads.
   */
  copyTo(key: string, dest: Writable, o?: OpOpts & { offset?: number; length?: number }): Promise<number>;
  /** Reads a small object whole; refuses objects above `maxBytes` (default 4 MiB). */
  readSmall(key: string, o?: OpOpts & { maxBytes?: number }): Promise<Uint8Array>;
  /** Atomically replaces the object. */
  writeSmall(key: string, data: Uint8Array, o?: OpOpts): Promise<void>;
  /** A writer whose bytes become visible at `key` only on commit(); `resume` continues a suspended writer. */
  openWriter(key: string, o?: OpOpts & { resume?: WriterState }): Promise<BlobWriter>;
  /** Atomically makes `from` visible at `to` and removes `from` (rename, or copy + delete where needed). */
  move(from: string, to: string, o?: OpOpts): Promise<void>;
  /** Deletes an object or, recursively, everything under a prefix. Absent is not an error. */
  delete(keyOrPrefix: string, o?: OpOpts): Promise<void>;
  /** Every object key under `prefix` (recursive), in lexical order, optionally after `startAfter`. */
  list(prefix: string, o?: OpOpts & { startAfter?: string }): AsyncIterable<string>;
  /** A time-limited URL a client can GET directly, or null when this driver serves bytes itself. */
  presignGet(key: string, o: { expiresInSec: number }): Promise<string | null>;
  /**
   * Removes writer scratch (temp files, scratch objects, multipart uploads) dated before `olderThan`: what
   * writers of crashed processes left behind and writers whose state was lost. Committed objects are never
   * touched, nor scratch dated at or after the cutoff. A writer's scratch is dated by when it was last written
   * (S3: the newest of its scratch objects and the initiation of its multipart uploads, which resuming does not
   * refresh), so `olderThan` must precede the start of every writer that may still be resumed or committed —
   * e.g. now minus the longest upload lifetime, with a margin for clock skew between hosts and storage.
   * `removed` counts the temp files, scratch objects and multipart uploads removed.
   */
  sweepScratch(olderThan: Date, o?: OpOpts): Promise<{ removed: number }>;
  /** Releases sockets/handles. */
  close?(): Promise<void>;
}

export interface BlobWriter {
  /** Bytes accepted so far (including those written before a resume). */
  readonly size: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Persists everything written so far and releases resources; the returned state resumes the write. */
  suspend(): Promise<WriterState>;
  /** Makes the bytes visible at the key. The writer is unusable afterwards. */
  commit(): Promise<void>;
  /** Discards everything written, including earlier suspended parts. */
  cancel(): Promise<void>;
}

export class StorageError extends Error {
  override name = 'StorageError';
  constructor(readonly driver: string, readonly key: string, message: string, options?: { cause?: unknown }) {
    super(`${driver}: ${message} (${key})`, options);
  }
}
export class NotFoundError extends StorageError {
  override name = 'NotFoundError';
  constructor(driver: string, key: string, options?: { cause?: unknown }) {
    super(driver, key, 'not found', options);
  }
}
export class InvalidKeyError extends StorageError {
  override name = 'InvalidKeyError';
  constructor(driver: string, key: string) {
    super(driver, key, 'invalid key');
  }
}
export class InvalidOffsetError extends StorageError {
  override name = 'InvalidOffsetError';
  constructor(driver: string, key: string, readonly offset: number) {
    super(driver, key, `invalid offset ${offset}`);
  }
}
export class TooLargeError extends StorageError {
  override name = 'TooLargeError';
  constructor(driver: string, key: string, readonly limit: number) {
    super(driver, key, `object larger than ${limit} bytes`);
  }
}
export class UnsupportedError extends StorageError {
  override name = 'UnsupportedError';
}
/** Any other backend failure; `cause` carries the backend's error. */
export class DriverError extends StorageError {
  override name = 'DriverError';
}
