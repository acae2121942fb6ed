import { PassThrough, addAbortSignal, type Readable, type Writable } from 'node:stream';
import {
  DriverError,
  InvalidKeyError,
  InvalidOffsetError,
  StorageError,
  type BlobStore,
  type BlobWriter,
  type ObjectInfo,
  type OpOpts,
  type WriterState,
} from './driver.js';
import { isValidKey, isValidPrefix } from './keys.js';
import { Semaphore } from './semaphore.js';

/** The slice of a pino logger we use; anything with a compatible `debug` works. */
export interface StorageLogger {
  debug(obj: Record<string, unknown>, msg?: string): void;
}

export interface BaseOptions {
  /** Cap on backend calls in flight through this store (reads count until their stream is open). Default 100. */
  maxConcurrency?: number;
  logger?: StorageLogger;
}

export const DEFAULT_MAX_CONCURRENCY = 100;

/**
 * Wraps any driver with what every driver needs and none should re-implement: key checks, error
 * normalisation into the typed StorageError set, a concurrency cap and timing logs. Drivers may therefore
 * assume keys are valid and writer calls are never concurrent (the wrapper serialises them).
 */
export function withBase(driver: BlobStore, opts: BaseOptions = {}): BlobStore {
  // Wrapping twice would double the checks and split the concurrency cap; the first wrapper wins.
  if (driver instanceof BaseStore) return driver;
  return new BaseStore(driver, opts);
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/** Typed storage errors and aborts pass through; anything else becomes a DriverError carrying the cause. */
export function normaliseError(driver: string, key: string, err: unknown): Error {
  if (err instanceof StorageError || isAbortError(err)) return err as Error;
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new DriverError(driver, key, message, { cause: err });
}

function checkKey(driver: string, key: string): void {
  if (!isValidKey(key)) throw new InvalidKeyError(driver, String(key));
}

class BaseStore implements BlobStore {
  private readonly sem: Semaphore;
  private readonly logger: StorageLogger | undefined;

  constructor(
    private readonly inner: BlobStore,
    opts: BaseOptions,
  ) {
    this.sem = new Semaphore(opts.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY);
    this.logger = opts.logger;
  }

  get name(): string {
    return this.inner.name;
  }

  /** One backend call: abort check, permit, error normalisation, timing log. */
  async call<T>(op: string, key: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    signal?.throwIfAborted();
    const started = this.logger ? performance.now() : 0;
    let failure: Error | undefined;
    const release = await this.sem.acquire();
    try {
      signal?.throwIfAborted();
      return await fn();
    } catch (err) {
      failure = normaliseError(this.inner.name, key, err);
      throw failure;
    } finally {
      release();
      if (this.logger && op !== 'write' && op !== 'list') {
        const ms = Math.round((performance.now() - started) * 1000) / 1000;
        this.logger.debug(
          { driver: this.inner.name, op, key, ms, ...(failure ? { err: failure.name } : {}) },
          'storage op',
        );
      }
    }
  }

  async stat(key: string, o?: OpOpts): Promise<ObjectInfo> {
    checkKey(this.name, key);
    return this.call('stat', key, o?.signal, () => this.inner.stat(key, o));
  }

  async read(key: string, o?: OpOpts & { offset?: number; length?: number }): Promise<Readable> {
    checkKey(this.name, key);
    const offset = o?.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOffsetError(this.name, key, offset);
    if (o?.length !== undefined && (!Number.isSafeInteger(o.length) || o.length < 0)) {
      throw new RangeError(`${this.name}: invalid read length ${o.length} (${key})`);
    }
    const src = await this.call('read', key, o?.signal, () => this.inner.read(key, o));
    return guardStream(src, (err) => normaliseError(this.inner.name, key, err), o?.signal);
  }

  /** No permit: a transfer may last minutes, and the cap is meant for backend calls, not for clients' downloads. */
  async copyTo(key: string, dest: Writable, o?: OpOpts & { offset?: number; length?: number }): Promise<number> {
    checkKey(this.name, key);
    const offset = o?.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidOffsetError(this.name, key, offset);
    o?.signal?.throwIfAborted();
    try {
      return await this.inner.copyTo(key, dest, o);
    } catch (err) {
      throw normaliseError(this.inner.name, key, err);
    }
  }

  async readSmall(key: string, o?: OpOpts & { maxBytes?: number }): Promise<Uint8Array> {
    checkKey(this.name, key);
    if (o?.maxBytes !== undefined && (!Number.isSafeInteger(o.maxBytes) || o.maxBytes < 0)) {
      throw new RangeError(`${this.name}: invalid maxBytes ${o.maxBytes} (${key})`);
    }
    return this.call('readSmall', key, o?.signal, () => this.inner.readSmall(key, o));
  }

  async writeSmall(key: string, data: Uint8Array, o?: OpOpts): Promise<void> {
    checkKey(this.name, key);
    return this.call('writeSmall', key, o?.signal, () => this.inner.writeSmall(key, data, o));
  }

  async openWriter(key: string, o?: OpOpts & { resume?: WriterState }): Promise<BlobWriter> {
    checkKey(this.name, key);
    const resume = o?.resume;
    if (resume !== undefined && (typeof resume !== 'object' || resume === null || typeof resume.driver !== 'string')) {
      throw new TypeError(`${this.name}: resume state is not a writer state (${key})`);
    }
    const inner = await this.call('openWriter', key, o?.signal, () => this.inner.openWriter(key, o));
    return new BaseWriter(this, key, inner);
  }

  async move(from: string, to: string, o?: OpOpts): Promise<void> {
    checkKey(this.name, from);
    checkKey(this.name, to);
    // Copy-then-delete drivers would otherwise delete the object (or fail copying it onto itself).
    if (from === to) return this.call('move', from, o?.signal, async () => void (await this.inner.stat(from, o)));
    return this.call('move', from, o?.signal, () => this.inner.move(from, to, o));
  }

  async delete(keyOrPrefix: string, o?: OpOpts): Promise<void> {
    // '' would mean "everything"; nothing in Wharf needs that, and a bug reaching it would be unrecoverable.
    if (!isValidPrefix(keyOrPrefix, false)) throw new InvalidKeyError(this.name, String(keyOrPrefix));
    return this.call('delete', keyOrPrefix, o?.signal, () => this.inner.delete(keyOrPrefix, o));
  }

  list(prefix: string, o?: OpOpts & { startAfter?: string }): AsyncIterable<string> {
    // Checked eagerly so a bad prefix throws at the call, not at the first iteration.
    if (!isValidPrefix(prefix, true)) throw new InvalidKeyError(this.name, String(prefix));
    const startAfter = o?.startAfter;
    if (startAfter !== undefined && startAfter !== '' && !isValidKey(startAfter)) {
      throw new InvalidKeyError(this.name, String(startAfter));
    }
    return this.listPages(prefix, o);
  }

  private async *listPages(prefix: string, o?: OpOpts & { startAfter?: string }): AsyncGenerator<string> {
    const it = this.inner.list(prefix, o)[Symbol.asyncIterator]();
    let done = false;
    try {
      for (;;) {
        // A permit per step, not per listing: a consumer may do other storage calls inside its loop.
        const r = await this.call('list', prefix, o?.signal, () => it.next());
        if (r.done) {
          done = true;
          return;
        }
        yield r.value;
      }
    } finally {
      if (!done) await it.return?.();
    }
  }

  async presignGet(key: string, o: { expiresInSec: number }): Promise<string | null> {
    checkKey(this.name, key);
    if (!Number.isSafeInteger(o.expiresInSec) || o.expiresInSec <= 0) {
      throw new RangeError(`${this.name}: invalid expiresInSec ${o.expiresInSec} (${key})`);
    }
    return this.call('presignGet', key, undefined, () => this.inner.presignGet(key, o));
  }

  async sweepScratch(olderThan: Date, o?: OpOpts): Promise<{ removed: number }> {
    // An Invalid Date compares false against everything, which drivers would read as "sweep nothing" or worse.
    if (!(olderThan instanceof Date) || Number.isNaN(olderThan.getTime())) {
      throw new TypeError(`${this.name}: sweepScratch needs a valid Date, got ${String(olderThan)}`);
    }
    // One permit for the whole sweep: it is a background chore and must not crowd out requests.
    return this.call('sweepScratch', '', o?.signal, () => this.inner.sweepScratch(olderThan, o));
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

/**
 * Serialises calls (a caller that forgets to await must not interleave bytes) and, after a failed write,
 * refuses further writes and commit(): part of the chunk may have landed, so the content is not what the
 * caller meant. suspend() stays allowed — drivers persist exactly the `size` bytes they accepted, which lets
 * the caller release the writer's resources without destroying earlier suspended data as cancel() would.
 */
class BaseWriter implements BlobWriter {
  private tail: Promise<unknown> = Promise.resolve();
  private broken: Error | undefined;
  private finished: string | undefined;

  constructor(
    private readonly store: BaseStore,
    private readonly key: string,
    private readonly inner: BlobWriter,
  ) {}

  get size(): number {
    return this.inner.size;
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.enqueue('write', async () => {
      if (chunk.byteLength > 0) await this.inner.write(chunk);
    });
  }

  suspend(): Promise<WriterState> {
    return this.enqueue('suspend', () => this.inner.suspend(), true, true);
  }

  commit(): Promise<void> {
    return this.enqueue('commit', () => this.inner.commit(), true);
  }

  cancel(): Promise<void> {
    return this.enqueue('cancel', () => this.inner.cancel(), true, true);
  }

  private enqueue<T>(op: string, fn: () => Promise<T>, final = false, allowBroken = false): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.finished) throw new Error(`${this.store.name}: writer already ${this.finished} (${this.key})`);
      if (this.broken && !allowBroken) throw this.broken;
      let result: T;
      try {
        result = await this.store.call(op, this.key, undefined, fn);
      } catch (err) {
        if (op === 'write') this.broken = err as Error;
        throw err;
      }
      if (final) this.finished = op === 'commit' ? 'committed' : op === 'cancel' ? 'cancelled' : 'suspended';
      return result;
    };
    const p = this.tail.then(run, run);
    this.tail = p.catch(() => undefined);
    return p;
  }
}

/**
 * Re-emits a driver's stream so that mid-stream failures are normalised too and the caller's signal
 * destroys it; destroying the returned stream releases the driver's file handle or socket.
 */
function guardStream(src: Readable, normalise: (err: unknown) => Error, signal?: AbortSignal): Readable {
  const out = new PassThrough({ highWaterMark: src.readableHighWaterMark });
  src.on('error', (err) => out.destroy(normalise(err)));
  out.on('close', () => {
    if (!src.destroyed) src.destroy();
  });
  src.pipe(out);
  if (signal) addAbortSignal(signal, out);
  return out;
}
