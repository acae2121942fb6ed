/**
 * Reads ONE layer blob stream into a LayerSnapshot holding only the files some scanner wants. The blob is streamed:
 * compression detected from magic bytes (gzip via node:zlib, zstd via fzstd's streaming Decompress, else plain tar),
 * tar parsed by tar-stream, every entry not wanted drained and dropped. Bounded everywhere (limits.ts): decompressed
 * bytes, entry count, bytes kept per file and in total, symlink count and depth, time. Nothing is written to disk.
 * Failures are a LayerError with a reason; hostile entries ('..' escapes, links out of the layer) are skipped and
 * noted in `warnings`.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import tar from 'tar-stream';
import { LayerSnapshot, type KeptFile, type LayerStats } from './layer-view.js';
import { basename, dirname, LayerError, safeEntryPath, withDefaults, type LayerLimits } from './limits.js';
import type { VersionedScanner } from './types.js';

export interface ReadLayerOptions {
  /** The layer's digest, recorded on the view and on errors. */
  digest: string;
  /** Which (normalised) paths to keep; e.g. `wantedBy(scanners)`. */
  wants: (path: string) => boolean;
  limits?: Partial<LayerLimits>;
  signal?: AbortSignal;
}

/** The union of the scanners' interest predicates. */
export function wantedBy(scanners: readonly Pick<VersionedScanner, 'wants'>[]): (path: string) => boolean {
  return (p) => scanners.some((s) => s.wants(p));
}

const MAX_WARNINGS = 100;
/** Inflate output per zlib call: the default 16 KiB makes a thread-pool round trip per 16 KiB, which is most of the wall time. */
const GUNZIP_CHUNK = 256 * 1024;
/** zstd input is fed to fzstd in slices this small, so one push inflates at most ~32 MiB (RLE blocks: 4 B → 128 KiB). */
const ZSTD_SLICE = 1024;

type Compression = LayerStats['compression'];

function detect(head: Buffer): Compression | 'bzip2' | 'xz' {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  return 'none';
}

/** Reads the first bytes for magic detection, then replays them ahead of the rest of the source. */
async function sniff(source: AsyncIterable<Buffer | Uint8Array | string>): Promise<{ head: Buffer; rest: AsyncIterable<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const parts: Buffer[] = [];
  let n = 0;
  let done = false;
  while (n < 8) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    parts.push(b);
    n += b.length;
  }
  const head = Buffer.concat(parts);
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    }
  }
  return { head, rest: rest() };
}

/** Streaming zstd through fzstd, in small slices, checking the decompressed cap as it goes. */
async function* unzstd(src: AsyncIterable<Buffer>, cap: number, digest: string): AsyncGenerator<Buffer> {
  let out: Uint8Array[] = [];
  let total = 0;
  const d = new Decompress((chunk) => {
    total += chunk.length;
    if (total > cap) throw new LayerError('too-large', `zstd stream inflates past ${cap} bytes`, digest);
    out.push(chunk);
  });
  const drain = function* () {
    const o = out;
    out = [];
    for (const c of o) yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  };
  for await (const chunk of src) {
    for (let i = 0; i < chunk.length; i += ZSTD_SLICE) {
      try {
        d.push(chunk.subarray(i, i + ZSTD_SLICE));
      } catch (e) {
        throw e instanceof LayerError ? e : new LayerError('corrupt', `zstd: ${(e as Error).message}`, digest, { cause: e });
      }
      yield* drain();
    }
  }
  try {
    d.push(new Uint8Array(0), true);
  } catch (e) {
    throw e instanceof LayerError ? e : new LayerError('truncated', `zstd: ${(e as Error).message}`, digest, { cause: e });
  }
  yield* drain();
}

/** Counts decompressed bytes and fails past the cap. */
class Counter extends Transform {
  bytes = 0;
  constructor(
    private readonly cap: number,
    private readonly digest: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.cap) {
      cb(new LayerError('too-large', `decompressed layer exceeds ${this.cap} bytes`, this.digest));
      return;
    }
    cb(null, chunk);
  }
}

function classify(e: unknown, digest: string, userAborted: boolean, timedOut: boolean): LayerError {
  if (e instanceof LayerError) return e;
  if (timedOut) return new LayerError('timeout', 'reading the layer took too long', digest, { cause: e });
  if (userAborted || (e as { name?: string })?.name === 'AbortError') {
    return new LayerError('aborted', 'reading the layer was aborted', digest, { cause: e });
  }
  const err = e as NodeJS.ErrnoException;
  const msg = err?.message ?? String(e);
  if (err?.code === 'Z_BUF_ERROR' || /unexpected end/i.test(msg)) return new LayerError('truncated', msg, digest, { cause: e });
  if (err?.code?.startsWith('Z_') || /header|tar|checksum|incorrect|invalid/i.test(msg)) {
    return new LayerError('corrupt', msg, digest, { cause: e });
  }
  if (/premature close/i.test(msg)) return new LayerError('truncated', msg, digest, { cause: e });
  return new LayerError('io', msg, digest, { cause: e });
}

/**
 * Reads one layer blob. `source` is consumed (and destroyed on failure). Resolves to the layer's snapshot; rejects
 * only with LayerError.
 */
export async function readLayer(
  source: Readable | AsyncIterable<Buffer | Uint8Array>,
  opts: ReadLayerOptions,
): Promise<LayerSnapshot> {
  const limits = withDefaults(opts.limits);
  const digest = opts.digest;
  const ctl = new AbortController();
  let timedOut = false;
  // Destroying the source also releases a read pending on it (a stalled blob stream), so abort never hangs.
  const destroySource = () => {
    if (source instanceof Readable) {
      if (!source.destroyed) source.destroy();
    } else void (source as AsyncIterable<unknown>)[Symbol.asyncIterator]().return?.();
  };
  ctl.signal.addEventListener('abort', destroySource, { once: true });
  const onAbort = () => ctl.abort(opts.signal?.reason);
  if (opts.signal?.aborted) throw new LayerError('aborted', 'aborted before reading', digest);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    limits.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          ctl.abort(new LayerError('timeout', `over ${limits.timeoutMs} ms`, digest));
        }, limits.timeoutMs)
      : undefined;

  const files = new Map<string, KeptFile>();
  const symlinks = new Map<string, string>();
  const hardlinks: [string, string][] = [];
  const whiteouts = new Set<string>();
  const opaqueDirs = new Set<string>();
  const warnings: string[] = [];
  const warn = (w: string) => {
    if (warnings.length < MAX_WARNINGS) warnings.push(w);
    else if (warnings.length === MAX_WARNINGS) warnings.push('(further warnings dropped)');
  };
  /** Paths wanted because a wanted symlink points at them (only helps when the link precedes its target). */
  const extraWanted = new Set<string>();
  const wants = (p: string) => opts.wants(p) || extraWanted.has(p);
  const stats: LayerStats = { entries: 0, decompressedBytes: 0, keptBytes: 0, compression: 'none' };
  const counter = new Counter(limits.maxDecompressedBytes, digest);
  const extract = tar.extract();
  let pipeDone: Promise<unknown> | undefined;

  try {
    const input = Symbol.asyncIterator in source ? source : Readable.from(source as AsyncIterable<Buffer>);
    const { head, rest } = await sniff(input as AsyncIterable<Buffer>);
    const kind = detect(head);
    if (kind === 'bzip2' || kind === 'xz') {
      throw new LayerError('unsupported-compression', `${kind} layers are not supported`, digest);
    }
    stats.compression = kind;
    const src =
      kind === 'zstd' ? Readable.from(unzstd(rest, limits.maxDecompressedBytes, digest)) : Readable.from(rest, { objectMode: false });
    pipeDone = (
      kind === 'gzip'
        ? pipeline(src, createGunzip({ chunkSize: GUNZIP_CHUNK }), counter, extract, { signal: ctl.signal })
        : pipeline(src, counter, extract, { signal: ctl.signal })
    ).then(
      () => undefined,
      (e: unknown) => e,
    );

    for await (const entry of extract) {
      stats.entries++;
      if (stats.entries > limits.maxEntries) {
        entry.resume();
        throw new LayerError('too-many-entries', `more than ${limits.maxEntries} tar entries`, digest);
      }
      const h = entry.header;
      const path = safeEntryPath(h.name, limits.maxPathLength);
      if (path === undefined) {
        warn(`skipped entry with unsafe name ${JSON.stringify(h.name.slice(0, 200))}`);
        entry.resume();
        continue;
      }
      const base = basename(path);
      if (base.startsWith('.wh.')) {
        if (base === '.wh..wh..opq') opaqueDirs.add(dirname(path));
        else if (base.length > 4) whiteouts.add(dirname(path) ? `${dirname(path)}/${base.slice(4)}` : base.slice(4));
        entry.resume();
        continue;
      }
      switch (h.type) {
        case 'file':
        case 'contiguous-file':
        case null:
        case undefined: {
          // A file replaces any earlier entry at the same path (tar semantics: last wins).
          symlinks.delete(path);
          if (!wants(path)) {
            files.delete(path);
            entry.resume();
            break;
          }
          const size = h.size ?? 0;
          const room = Math.max(0, Math.min(limits.maxFileBytes, limits.maxKeptBytes - stats.keptBytes));
          const keep = Math.min(size, room);
          const buf = Buffer.allocUnsafe(keep);
          let got = 0;
          for await (const chunk of entry as AsyncIterable<Buffer>) {
            if (got < keep) {
              const n = Math.min(chunk.length, keep - got);
              chunk.copy(buf, got, 0, n);
              got += n;
            }
          }
          const prev = files.get(path);
          if (prev) stats.keptBytes -= prev.data.length;
          const truncated = got < size;
          if (truncated) {
            warn(`${path}: kept ${got} of ${size} bytes (${size > limits.maxFileBytes ? 'per-file' : 'per-layer'} bound)`);
          }
          files.set(path, { data: buf.subarray(0, got), size, truncated });
          stats.keptBytes += got;
          break;
        }
        case 'symlink': {
          entry.resume();
          files.delete(path);
          const target = h.linkname ?? '';
          if (!target || target.length > limits.maxPathLength || target.includes('\0')) {
            warn(`${path}: skipped symlink with unusable target`);
            break;
          }
          if (symlinks.size >= limits.maxSymlinks && !symlinks.has(path)) {
            warn(`${path}: symlink not recorded (over ${limits.maxSymlinks})`);
            break;
          }
          symlinks.set(path, target);
          if (opts.wants(path)) {
            // Keep the target too if it comes later in the archive (resolved lexically here; fully at read time).
            const lexical = safeEntryPath(target.startsWith('/') ? target : `${dirname(path)}/${target}`);
            if (lexical && extraWanted.size < 1000) extraWanted.add(lexical);
          }
          break;
        }
        case 'link': {
          entry.resume();
          const target = safeEntryPath(h.linkname ?? '', limits.maxPathLength);
          if (target === undefined) {
            warn(`${path}: skipped hard link to ${JSON.stringify((h.linkname ?? '').slice(0, 200))} (outside the layer)`);
            break;
          }
          symlinks.delete(path);
          const t = files.get(target);
          if (t && wants(path)) files.set(path, t);
          else if (wants(path)) {
            files.delete(path);
            hardlinks.push([path, target]);
          }
          break;
        }
        default:
          // directories, devices, fifos: nothing to keep.
          entry.resume();
      }
    }
    const err = await pipeDone;
    if (err) throw err;
    for (const [p, t] of hardlinks) {
      if (!files.has(p)) warn(`${p}: hard link to ${t}, which is not in the layer's kept files`);
    }
    stats.decompressedBytes = counter.bytes;
    return new LayerSnapshot(digest, files, symlinks, whiteouts, opaqueDirs, stats, warnings, limits.maxSymlinkDepth);
  } catch (e) {
    // Prefer the pipeline's root cause (bomb cap, zlib error) over the tar parser's follow-on error.
    destroySource();
    extract.destroy(pipeDone && e instanceof Error ? e : undefined); // without a pipeline, nobody listens for 'error'
    const pe = pipeDone ? await pipeDone : undefined;
    const isAbort = (x: unknown) => (x as { name?: string })?.name === 'AbortError';
    const root = e instanceof LayerError ? e : pe instanceof LayerError ? pe : pe && !isAbort(pe) && isAbort(e) ? pe : e;
    throw classify(root, digest, opts.signal?.aborted ?? false, timedOut);
  } finally {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    ctl.signal.removeEventListener('abort', destroySource);
    if (source instanceof Readable && !source.readableEnded && !source.destroyed) source.destroy();
  }
}
