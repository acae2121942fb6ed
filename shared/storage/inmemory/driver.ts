import { randomBytes } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import {
  NotFoundError,
  TooLargeError,
  type BlobStore,
  type BlobWriter,
  type ObjectInfo,
  type OpOpts,
  type WriterState,
} from '../driver.js';
import { compareKeys } from '../keys.js';
import { ParamReader, type DriverParams } from '../params.js';
import { DEFAULT_READ_SMALL_MAX, bufferStream, copyViaRead, resolveRange } from '../streams.js';
import { StateReader, WRITER_ID_RE } from '../writer-state.js';

interface StoredObject {
  data: Uint8Array;
  modifiedAt: Date;
}

/** A suspended writer's bytes; `suspendedAt` dates them for sweepScratch. */
export interface PendingWriter {
  chunks: Uint8Array[];
  suspendedAt: Date;
}

/**
 * What an in-memory "server" holds. Several InMemoryDriver instances may share one backend, which is how
 * tests model two processes resuming each other's writers.
 */
export class InMemoryBackend {
  readonly objects = new Map<string, StoredObject>();
  /**
   * Suspended writers' bytes by writer id: the only scratch this driver has (a live writer holds its bytes in
   * its own process, so a crashed one leaves nothing here but the states it suspended).
   */
  readonly pending = new Map<string, PendingWriter>();
}

export function createInMemoryDriver(params: DriverParams = {}): InMemoryDriver {
  new ParamReader('inmemory', params, []);
  return new InMemoryDriver();
}

/** For unit tests and the zero-setup default; holds every byte in this process. */
export class InMemoryDriver implements BlobStore {
  readonly name = 'inmemory';

  constructor(readonly backend: InMemoryBackend = new InMemoryBackend()) {}

  private get(key: string): StoredObject {
    const obj = this.backend.objects.get(key);
    if (!obj) throw new NotFoundError(this.name, key);
    return obj;
  }

  async stat(key: string): Promise<ObjectInfo> {
    const obj = this.get(key);
    return { key, size: obj.data.byteLength, modifiedAt: obj.modifiedAt };
  }

  async read(key: string, o?: OpOpts & { offset?: number; length?: number }): Promise<Readable> {
    const { data } = this.get(key);
    const { start, end } = resolveRange(this.name, key, data.byteLength, o?.offset, o?.length);
    return bufferStream(data.subarray(start, end));
  }

  async readSmall(key: string, o?: OpOpts & { maxBytes?: number }): Promise<Uint8Array> {
    const { data } = this.get(key);
    const max = o?.maxBytes ?? DEFAULT_READ_SMALL_MAX;
    if (data.byteLength > max) throw new TooLargeError(this.name, key, max);
    return Uint8Array.prototype.slice.call(data);
  }

  async writeSmall(key: string, data: Uint8Array): Promise<void> {
    // Copy: the caller owns its buffer and may reuse it.
    this.backend.objects.set(key, { data: Uint8Array.prototype.slice.call(data), modifiedAt: new Date() });
  }

  async openWriter(key: string, o?: OpOpts & { resume?: WriterState }): Promise<BlobWriter> {
    if (!o?.resume) return new InMemoryWriter(this, key, randomBytes(16).toString('hex'), [], 0);
    const r: StateReader = new StateReader(this.name, key, o.resume, this.name);
    const id = r.string('id', WRITER_ID_RE);
    const chunks = this.backend.pending.get(id)?.chunks;
    if (!chunks) r.fail('resume state refers to a writer that no longer exists');
    const held = chunks.reduce((n, c) => n + c.byteLength, 0);
    if (held < o.resume.size) r.fail(`resume state claims ${o.resume.size} bytes, ${held} are held`);
    // Bytes written after the state was taken (by a writer that then died) are not part of the upload.
    // The suspended chunks stay until commit/cancel: should this writer die, the same state resumes again.
    const kept = truncate(chunks, o.resume.size);
    return new InMemoryWriter(this, key, id, kept, o.resume.size);
  }

  async move(from: string, to: string): Promise<void> {
    const obj = this.get(from);
    this.backend.objects.set(to, obj);
    this.backend.objects.delete(from);
  }

  async delete(keyOrPrefix: string): Promise<void> {
    this.backend.objects.delete(keyOrPrefix);
    const dir = `${keyOrPrefix}/`;
    for (const k of [...this.backend.objects.keys()]) if (k.startsWith(dir)) this.backend.objects.delete(k);
  }

  async *list(prefix: string, o?: OpOpts & { startAfter?: string }): AsyncIterable<string> {
    const dir = prefix === '' ? '' : `${prefix}/`;
    const after = o?.startAfter ?? '';
    // Sorted snapshot: mutations during iteration neither break nor reorder it, like a paged S3 listing.
    const keys = [...this.backend.objects.keys()].filter((k) => k.startsWith(dir) && k > after).sort(compareKeys);
    for (const k of keys) {
      o?.signal?.throwIfAborted();
      yield k;
    }
  }

  copyTo(key: string, dest: Writable, o?: OpOpts & { offset?: number; length?: number }): Promise<number> {
    return copyViaRead(() => this.read(key, o), dest);
  }

  async presignGet(): Promise<string | null> {
    return null;
  }

  async sweepScratch(olderThan: Date): Promise<{ removed: number }> {
    let removed = 0;
    for (const [id, p] of [...this.backend.pending]) {
      if (p.suspendedAt.getTime() < olderThan.getTime()) {
        this.backend.pending.delete(id);
        removed++;
      }
    }
    return { removed };
  }
}

class InMemoryWriter implements BlobWriter {
  private done = false;

  constructor(
    private readonly driver: InMemoryDriver,
    private readonly key: string,
    private readonly id: string,
    private readonly chunks: Uint8Array[],
    public size: number,
  ) {}

  private check(): void {
    if (this.done) throw new Error(`${this.driver.name}: writer already finished (${this.key})`);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.check();
    this.chunks.push(Uint8Array.prototype.slice.call(chunk));
    this.size += chunk.byteLength;
  }

  async suspend(): Promise<WriterState> {
    this.check();
    this.done = true;
    this.driver.backend.pending.set(this.id, { chunks: this.chunks, suspendedAt: new Date() });
    return { driver: this.driver.name, key: this.key, size: this.size, id: this.id };
  }

  async commit(): Promise<void> {
    this.check();
    this.done = true;
    this.driver.backend.objects.set(this.key, { data: Buffer.concat(this.chunks, this.size), modifiedAt: new Date() });
    this.driver.backend.pending.delete(this.id);
  }

  async cancel(): Promise<void> {
    this.done = true;
    this.driver.backend.pending.delete(this.id);
  }
}

function truncate(chunks: Uint8Array[], size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let n = 0;
  for (const c of chunks) {
    if (n >= size) break;
    const take = Math.min(c.byteLength, size - n);
    out.push(take === c.byteLength ? c : c.subarray(0, take));
    n += take;
  }
  return out;
}
