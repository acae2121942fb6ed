import { Storage, type Bucket, type File } from '@google-cloud/storage';
import { randomBytes } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  InvalidOffsetError,
  NotFoundError,
  TooLargeError,
  type BlobStore,
  type BlobWriter,
  type ObjectInfo,
  type OpOpts,
  type WriterState,
} from '../driver.js';
import { isValidKey } from '../keys.js';
import type { DriverParams } from '../params.js';
import { DEFAULT_READ_SMALL_MAX, copyViaRead, emptyStream, readBounded, resolveRange } from '../streams.js';
import { StateReader, WRITER_ID_RE } from '../writer-state.js';
import { isInvalidRange, isNotFound, isNotImplemented } from './errors.js';
import { parseGcsParams, type GcsParams } from './params.js';
import { GcsWriter, PART_NAME_RE, type GcsPart } from './writer.js';

/**
 * Writers park their parts under `<rootPrefix>/~wharf-tmp/<id>/`. '~' cannot occur in a key, so these never
 * collide with objects, list() drops them, and — as '~' sorts after every key character — they come last in any
 * listing of the root.
 */
export const SCRATCH_DIR = '~wharf-tmp';
/** GCS composes at most 32 sources per call. */
export const COMPOSE_MAX_SOURCES = 32;
const LIST_PAGE = 1000;
const DELETE_CONCURRENCY = 16;
const COMPOSE_CONCURRENCY = 4;
/** v4 signed URLs live at most 7 days. */
const MAX_SIGNED_URL_SEC = 7 * 24 * 3600;
const CONTENT_TYPE = 'application/octet-stream';

export async function createGcsDriver(params: DriverParams): Promise<GcsDriver> {
  const driver = new GcsDriver(parseGcsParams(params));
  try {
    await driver.probe();
  } catch (err) {
    await driver.close();
    throw new Error(`storage driver ${driver.name}: cannot reach the bucket: ${(err as Error).message}`, { cause: err });
  }
  return driver;
}

/** The fields of an object resource a listing asks for. */
interface RawResource {
  name?: string;
  size?: string | number;
  updated?: string;
}

interface RawObject {
  /** Full object name, root prefix included. */
  name: string;
  size: number;
  updated: Date | undefined;
}

export class GcsDriver implements BlobStore {
  readonly name: string;
  readonly storage: Storage;
  readonly bucket: Bucket;
  private readonly root: string;
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 256 });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 256 });
  /** false once the server answered a compose with 501 (emulators), or always with compose: 'never'. */
  private composeWorks: boolean;

  constructor(readonly params: GcsParams) {
    this.root = params.rootPrefix === '' ? '' : `${params.rootPrefix}/`;
    this.name = `gcs:${params.bucket}${params.rootPrefix ? `/${params.rootPrefix}` : ''}`;
    this.composeWorks = params.compose !== 'never';
    this.storage = new Storage({
      ...(params.projectId !== undefined ? { projectId: params.projectId } : {}),
      ...(params.apiEndpoint !== undefined ? { apiEndpoint: params.apiEndpoint } : {}),
      ...(params.keyFilename !== undefined ? { keyFilename: params.keyFilename } : {}),
      ...(params.credentials !== undefined ? { credentials: params.credentials } : {}),
      // The library skips authentication for any custom endpoint unless told otherwise; only an emulator wants that.
      useAuthWithCustomEndpoint: !params.emulator,
    });
    if (params.emulator && params.apiEndpoint !== undefined) {
      // What the library does itself when STORAGE_EMULATOR_HOST is set (the driver reads no environment): JSON API
      // calls go to the endpoint's root, not to <endpoint>/storage/v1, where the emulators route only some of them
      // (the firebase-tools emulator answers rewrite/copy and metadata PATCH under /storage/v1 with 501).
      this.storage.baseUrl = params.apiEndpoint;
    }
    this.bucket = this.storage.bucket(params.bucket);
  }

  objectKey(key: string): string {
    return this.root + key;
  }

  private file(key: string): File {
    return this.bucket.file(this.objectKey(key));
  }

  /** One cheap authenticated call: fails at startup on a missing bucket, bad credentials or an unreachable endpoint. */
  async probe(): Promise<void> {
    await this.bucket.getFiles({ prefix: this.root, maxResults: 1, autoPaginate: false, fields: 'items(name),nextPageToken' });
  }

  mapError(err: unknown, key: string, offset?: number): unknown {
    if (isNotFound(err)) return new NotFoundError(this.name, key, { cause: err });
    if (isInvalidRange(err)) return new InvalidOffsetError(this.name, key, offset ?? 0);
    return err;
  }

  private async meta(key: string): Promise<{ size: number; modifiedAt: Date; generation: string | undefined }> {
    try {
      const [m] = await this.file(key).getMetadata();
      return {
        size: Number(m.size ?? 0),
        modifiedAt: new Date(m.updated ?? m.timeCreated ?? 0),
        generation: m.generation === undefined ? undefined : String(m.generation),
      };
    } catch (err) {
      throw this.mapError(err, key);
    }
  }

  async stat(key: string, _o?: OpOpts): Promise<ObjectInfo> {
    const m = await this.meta(key);
    return { key, size: m.size, modifiedAt: m.modifiedAt };
  }

  /**
   * A whole read is one request. A ranged read looks the object up first: the emulator answers a range past the
   * end with the whole object (no 416), and real GCS refuses a range starting at the end, which the contract
   * treats as an empty read. The range is then read from that generation, so a concurrent replace cannot mix
   * two objects' bytes.
   */
  async read(key: string, o?: OpOpts & { offset?: number; length?: number }): Promise<Readable> {
    const offset = o?.offset ?? 0;
    const length = o?.length;
    const name = this.objectKey(key);
    if (offset === 0 && length === undefined) return (await this.download(name, key, { signal: o?.signal })).stream;
    for (let attempt = 0; ; attempt++) {
      const m = await this.meta(key);
      const { start, end } = resolveRange(this.name, key, m.size, offset, length);
      if (end <= start) return emptyStream();
      try {
        return (await this.download(name, key, { range: { start, end: end - 1 }, generation: m.generation, signal: o?.signal })).stream;
      } catch (err) {
        // Replaced (or deleted) between the lookup and the read: look again, once.
        if (!(err instanceof NotFoundError) || attempt > 0 || m.generation === undefined) throw err;
      }
    }
  }

  /**
   * A media download, resolved once the server answered 2xx, so a missing object rejects here rather than as a
   * stream error. Done with plain http(s) on the driver's own keep-alive agent rather than the library's
   * createReadStream: that one, when its stream ends early (a client leaving mid-pull, readSmall refusing a
   * large object), destroys the shared agent and with it every other request in flight in the process.
   * Not hashed: registry clients verify digests.
   */
  async download(
    objectName: string,
    key: string,
    opts: { range?: { start: number; end: number }; generation?: string | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<{ stream: IncomingMessage; contentLength: number | undefined }> {
    const url = new URL(`${this.storage.baseUrl}/b/${encodeURIComponent(this.params.bucket)}/o/${encodeURIComponent(objectName)}`);
    url.searchParams.set('alt', 'media');
    if (opts.generation !== undefined) url.searchParams.set('generation', opts.generation);
    const headers: Record<string, string> = { ...(await this.authHeaders(url.href)), 'accept-encoding': 'identity' };
    if (opts.range) headers['range'] = `bytes=${opts.range.start}-${opts.range.end}`;
    const https = url.protocol === 'https:';
    const req = (https ? httpsRequest : httpRequest)(url, {
      method: 'GET',
      headers,
      agent: https ? this.httpsAgent : this.httpAgent,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    req.end();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
    });
    // From here on failures surface on the response stream.
    req.on('error', () => undefined);
    const status = res.statusCode ?? 0;
    if (status === 200 || status === 206) {
      const len = Number(res.headers['content-length']);
      return { stream: res, contentLength: Number.isSafeInteger(len) ? len : undefined };
    }
    const body = Buffer.from(await readBounded(res, 64 * 1024, this.name, key).catch(() => new Uint8Array(0))).toString('utf8');
    const err = Object.assign(new Error(`GET ${url.pathname} answered ${status}: ${body.slice(0, 500)}`), { code: status });
    throw this.mapError(err, key, opts.range?.start);
  }

  /** OAuth headers for a raw request; none for an emulator. */
  private async authHeaders(url: string): Promise<Record<string, string>> {
    if (this.params.emulator) return {};
    const h: unknown = await this.storage.authClient.getRequestHeaders(url);
    // google-auth-library 9 answers a plain record, 10 a fetch Headers.
    if (h && typeof (h as { forEach?: unknown }).forEach === 'function' && !Array.isArray(h)) {
      const out: Record<string, string> = {};
      (h as { forEach(cb: (v: string, k: string) => void): void }).forEach((v, k) => (out[k] = v));
      return out;
    }
    return { ...(h as Record<string, string>) };
  }

  copyTo(key: string, dest: Writable, o?: OpOpts & { offset?: number; length?: number }): Promise<number> {
    return copyViaRead(() => this.read(key, o), dest);
  }

  async readSmall(key: string, o?: OpOpts & { maxBytes?: number }): Promise<Uint8Array> {
    const max = o?.maxBytes ?? DEFAULT_READ_SMALL_MAX;
    const { stream, contentLength } = await this.download(this.objectKey(key), key, { signal: o?.signal });
    if (contentLength !== undefined && contentLength > max) {
      stream.destroy();
      throw new TooLargeError(this.name, key, max);
    }
    return readBounded(stream, max, this.name, key);
  }

  async writeSmall(key: string, data: Uint8Array, _o?: OpOpts): Promise<void> {
    await this.upload(this.objectKey(key), data);
  }

  /** A single-request (multipart) upload of a whole object: atomic, and never the emulator's chunked resumable path. */
  async upload(objectName: string, data: Uint8Array): Promise<void> {
    const body = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    // md5 (native, cheap) is checked against what the server stored: a truncated upload fails here.
    await this.bucket.file(objectName).save(body, { resumable: false, validation: 'md5', metadata: { contentType: CONTENT_TYPE } });
  }

  async openWriter(key: string, o?: OpOpts & { resume?: WriterState }): Promise<BlobWriter> {
    if (!o?.resume) return new GcsWriter(this, key, { id: randomBytes(16).toString('hex'), size: 0, parts: [], resumed: false });
    const r = new StateReader(this.name, key, o.resume, 'gcs');
    const id = r.string('id', WRITER_ID_RE);
    const parts = parseParts(r, o.resume['parts']);
    if (parts.reduce((n, p) => n + p.size, 0) !== o.resume.size) r.fail('resume state sizes do not add up');
    if (parts.length > 0) {
      // One listing proves every part is still there (not swept, not cancelled) before any byte is added.
      const present = new Map<string, number>();
      for await (const page of this.pages(this.scratchPrefix(id))) for (const obj of page) present.set(obj.name, obj.size);
      for (const p of parts) {
        if (present.get(this.scratchName(id, p.name)) !== p.size) r.fail(`the suspended writer’s ${p.name} is gone`);
      }
    }
    return new GcsWriter(this, key, { id, size: o.resume.size, parts, resumed: true });
  }

  async move(from: string, to: string, _o?: OpOpts): Promise<void> {
    await this.copyObject(this.objectKey(from), this.objectKey(to), from);
    await this.file(from).delete({ ignoreNotFound: true });
  }

  /** Server-side copy (the library follows rewrite tokens for large objects). */
  async copyObject(fromName: string, toName: string, keyForErrors: string): Promise<void> {
    try {
      await this.bucket.file(fromName).copy(this.bucket.file(toName));
    } catch (err) {
      throw this.mapError(err, keyForErrors);
    }
  }

  async delete(keyOrPrefix: string, o?: OpOpts): Promise<void> {
    // The key itself and everything under it as a directory: GCS has no way to tell which one is meant.
    const single = this.file(keyOrPrefix).delete({ ignoreNotFound: true });
    const below = async (): Promise<void> => {
      for await (const page of this.pages(`${this.objectKey(keyOrPrefix)}/`, undefined, o?.signal)) {
        await this.deleteNames(page.map((obj) => obj.name));
      }
    };
    await Promise.all([single, below()]);
  }

  /** Deletes full object names, a few at a time (GCS has no batch delete in the JSON client); absent is fine. */
  async deleteNames(names: string[], signal?: AbortSignal): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < names.length) {
        signal?.throwIfAborted();
        await this.bucket.file(names[next++] as string).delete({ ignoreNotFound: true });
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, names.length) }, worker));
  }

  async *list(prefix: string, o?: OpOpts & { startAfter?: string }): AsyncIterable<string> {
    const full = prefix === '' ? this.root : `${this.objectKey(prefix)}/`;
    const after = o?.startAfter ? this.objectKey(o.startAfter) : undefined;
    for await (const page of this.pages(full, after, o?.signal)) {
      for (const obj of page) {
        // startOffset is inclusive, and emulators ignore it: the filter is what makes startAfter exact.
        if (after !== undefined && obj.name <= after) continue;
        const key = obj.name.slice(this.root.length);
        // Drops scratch objects and anything in the bucket a key could not have produced.
        if (isValidKey(key)) yield key;
      }
    }
  }

  /** Objects under a raw prefix in GCS's (lexical) order, a page at a time. */
  async *pages(prefix: string, startOffset?: string, signal?: AbortSignal): AsyncGenerator<RawObject[]> {
    let pageToken: string | undefined;
    do {
      signal?.throwIfAborted();
      const [files, next] = await this.bucket.getFiles({
        prefix,
        autoPaginate: false,
        maxResults: LIST_PAGE,
        fields: 'items(name,size,updated),nextPageToken',
        ...(pageToken !== undefined ? { pageToken } : startOffset !== undefined ? { startOffset } : {}),
      });
      yield files.map((f) => {
        // With `fields`, the library hands back the raw resource rather than a File (its types say File).
        const m = (f as unknown as { metadata?: RawResource }).metadata ?? (f as unknown as RawResource);
        return { name: String(m.name), size: Number(m.size ?? 0), updated: m.updated ? new Date(m.updated) : undefined };
      });
      pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken || undefined;
    } while (pageToken !== undefined);
  }

  /**
   * Scratch goes a writer at a time: everything under `~wharf-tmp/<id>/` once the newest of it (by `updated`)
   * precedes the cutoff, so a live writer never loses part of its scratch.
   */
  async sweepScratch(olderThan: Date, o?: OpOpts): Promise<{ removed: number }> {
    const cutoff = olderThan.getTime();
    const scratchRoot = `${this.root}${SCRATCH_DIR}/`;
    const writers = new Map<string, { names: string[]; young: boolean }>();
    for await (const page of this.pages(scratchRoot, undefined, o?.signal)) {
      for (const obj of page) {
        const rest = obj.name.slice(scratchRoot.length);
        const slash = rest.indexOf('/');
        const id = slash < 0 ? rest : rest.slice(0, slash);
        let w = writers.get(id);
        if (!w) writers.set(id, (w = { names: [], young: false }));
        w.names.push(obj.name);
        if (obj.updated === undefined || obj.updated.getTime() >= cutoff) w.young = true;
      }
    }
    const doomed = [...writers.values()].filter((w) => !w.young).flatMap((w) => w.names);
    await this.deleteNames(doomed, o?.signal);
    return { removed: doomed.length };
  }

  async presignGet(key: string, o: { expiresInSec: number }): Promise<string | null> {
    if (!this.params.presign) return null;
    const explicit = this.params.credentials !== undefined || this.params.keyFilename !== undefined;
    // An emulator has no ambient credentials to sign with; looking for them would probe the metadata server.
    if (!explicit && this.params.emulator) return null;
    try {
      const [url] = await this.file(key).getSignedUrl({
        version: 'v4',
        action: 'read',
        expires: Date.now() + Math.min(o.expiresInSec, MAX_SIGNED_URL_SEC) * 1000,
      });
      return url;
    } catch (err) {
      // Application Default Credentials that cannot sign (no key, no signBlob permission): the registry serves
      // the bytes itself, which is always correct. A configured key that cannot sign is a real fault.
      if (explicit) throw err;
      return null;
    }
  }

  async close(): Promise<void> {
    // Downloads' sockets; the library keeps its own (process-wide) pool for the other calls.
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  // --- writer scratch space (used by GcsWriter) ---

  scratchPrefix(id: string): string {
    return `${this.root}${SCRATCH_DIR}/${id}/`;
  }

  scratchName(id: string, name: string): string {
    return this.scratchPrefix(id) + name;
  }

  /** Removes everything a writer (and any process that resumed it without recording its state) parked. */
  async clearScratch(id: string): Promise<void> {
    for await (const page of this.pages(this.scratchPrefix(id))) await this.deleteNames(page.map((obj) => obj.name));
  }

  /**
   * Makes the concatenation of `sources` (full object names, in order) plus `tail` visible at `key`, atomically.
   * Compose where the server has it (GCS: ≤ 32 sources per call, so larger sets compose into scratch first);
   * otherwise, or when it answers 501, one streamed single-request upload of all the bytes.
   */
  async assemble(key: string, id: string, sources: string[], tail: Buffer, uploadTail: () => Promise<string>): Promise<void> {
    const target = this.objectKey(key);
    if (this.composeWorks) {
      const all = tail.byteLength > 0 ? [...sources, await uploadTail()] : sources;
      try {
        await this.composeTree(id, all, target);
        return;
      } catch (err) {
        if (!isNotImplemented(err)) throw err;
        this.composeWorks = false;
        return this.concatUpload(all, Buffer.alloc(0), target);
      }
    }
    return this.concatUpload(sources, tail, target);
  }

  private async composeTree(id: string, sources: string[], target: string): Promise<void> {
    let level = sources;
    for (let depth = 0; level.length > COMPOSE_MAX_SOURCES; depth++) {
      const groups: string[][] = [];
      for (let i = 0; i < level.length; i += COMPOSE_MAX_SOURCES) groups.push(level.slice(i, i + COMPOSE_MAX_SOURCES));
      const tag = randomBytes(4).toString('hex');
      const out = groups.map((_, i) => this.scratchName(id, `compose-${depth}-${i}-${tag}`));
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < groups.length) {
          const i = next++;
          await this.compose(groups[i] as string[], out[i] as string);
        }
      };
      await Promise.all(Array.from({ length: Math.min(COMPOSE_CONCURRENCY, groups.length) }, worker));
      level = out;
    }
    await this.compose(level, target);
  }

  private async compose(sources: string[], target: string): Promise<void> {
    await this.bucket.combine(
      sources.map((s) => this.bucket.file(s)),
      this.bucket.file(target),
    );
  }

  /** Streams the sources, then `tail`, into one single-request upload (never a chunked resumable one). */
  private async concatUpload(sources: string[], tail: Buffer, target: string): Promise<void> {
    const download = (s: string) => this.download(s, s);
    async function* bytes(): AsyncGenerator<Buffer> {
      for (const s of sources) {
        const { stream } = await download(s);
        for await (const chunk of stream) yield chunk as Buffer;
      }
      if (tail.byteLength > 0) yield tail;
    }
    const dest = this.bucket.file(target).createWriteStream({ resumable: false, validation: 'md5', metadata: { contentType: CONTENT_TYPE } });
    await pipeline(Readable.from(bytes()), dest);
  }
}

function parseParts(r: StateReader, raw: unknown): GcsPart[] {
  if (!Array.isArray(raw)) r.fail('resume state has no parts list');
  return raw.map((p: unknown, i) => {
    const part = p as Partial<GcsPart> | null;
    if (
      typeof part !== 'object' ||
      part === null ||
      typeof part.name !== 'string' ||
      !PART_NAME_RE.test(part.name) ||
      !Number.isSafeInteger(part.size) ||
      (part.size as number) <= 0
    ) {
      r.fail(`resume state has an invalid part ${i + 1}`);
    }
    return { name: part.name, size: part.size as number };
  });
}
