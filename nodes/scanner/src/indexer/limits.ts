/**
 * Bounds and path safety for reading untrusted layer blobs. Nothing here touches the filesystem: layer paths are
 * only ever keys in maps, and symlinks are resolved against the layer's own entries, chroot-style.
 */

export interface LayerLimits {
  /** Cap on decompressed (tar) bytes streamed through per layer: a compression bomb stops here. Default 20 GiB. */
  maxDecompressedBytes: number;
  /** Cap on tar entries per layer. Default 2,000,000. */
  maxEntries: number;
  /** Per kept file: only this many bytes are kept; larger files are marked truncated. Default 64 MiB. */
  maxFileBytes: number;
  /** Total bytes kept in memory per layer across all kept files. Default 256 MiB. */
  maxKeptBytes: number;
  /** Symlinks recorded per layer (for in-layer resolution). Default 200,000. */
  maxSymlinks: number;
  /** Longest accepted entry path or link target, in characters. Default 4096 (PATH_MAX). */
  maxPathLength: number;
  /** Symlink hops followed when resolving a path. Default 40 (Linux's MAXSYMLINKS). */
  maxSymlinkDepth: number;
  /** Wall-clock bound for reading one layer, in ms; 0 = none. Default 0 (the caller's signal decides). */
  timeoutMs: number;
}

export const DEFAULT_LIMITS: Readonly<LayerLimits> = Object.freeze({
  maxDecompressedBytes: 20 * 1024 ** 3,
  maxEntries: 2_000_000,
  maxFileBytes: 64 * 1024 ** 2,
  maxKeptBytes: 256 * 1024 ** 2,
  maxSymlinks: 200_000,
  maxPathLength: 4096,
  maxSymlinkDepth: 40,
  timeoutMs: 0,
});

export function withDefaults(l?: Partial<LayerLimits>): LayerLimits {
  const out: LayerLimits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(l ?? {})) {
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) (out as unknown as Record<string, number>)[k] = v;
  }
  return out;
}

export type LayerErrorReason =
  | 'corrupt' // not a tar, bad header checksum, bad gzip/zstd data
  | 'truncated' // the blob ended mid-archive or mid-stream
  | 'too-large' // decompressed bytes over maxDecompressedBytes (a bomb, or just a huge layer)
  | 'too-many-entries'
  | 'unsupported-compression'
  | 'aborted'
  | 'timeout'
  | 'io'; // the source stream failed

/** The one error the layer reader throws; the indexer marks the manifest failed with `reason`. */
export class LayerError extends Error {
  override readonly name = 'LayerError';
  constructor(
    readonly reason: LayerErrorReason,
    message: string,
    readonly digest?: string,
    options?: { cause?: unknown },
  ) {
    super(`layer${digest ? ` ${digest}` : ''}: ${reason}: ${message}`, options);
  }
}

/**
 * Normalises a tar entry name to a layer-relative path: '\\' is not a separator (it is a legal name byte), leading
 * '/' and './' are dropped (absolute names are relative to the layer root, as container runtimes apply them), '.'
 * segments vanish, and '..' is resolved. Returns undefined when '..' would climb above the root (a traversal attempt),
 * the name holds a NUL, or it is empty/too long: such entries are skipped, never clamped into a different path.
 */
export function safeEntryPath(name: string, maxLength = DEFAULT_LIMITS.maxPathLength): string | undefined {
  if (!name || name.length > maxLength || name.includes('\0')) return undefined;
  const out: string[] = [];
  for (const seg of name.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return undefined;
      out.pop();
      continue;
    }
    out.push(seg);
  }
  return out.length ? out.join('/') : undefined;
}

/** Parent directory of a normalised path ('' for the root). */
export function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

export function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/**
 * Resolves `path` inside a layer (or merged image), following symlinks component by component the way the kernel
 * would inside a chroot: absolute targets start at the layer root and '..' at the root stays at the root, so
 * resolution can never leave the layer. Returns undefined on a loop or when more than `maxDepth` links are followed.
 */
export function resolveInLayer(
  path: string,
  readlink: (p: string) => string | undefined,
  maxDepth = DEFAULT_LIMITS.maxSymlinkDepth,
): string | undefined {
  let pending = path.split('/').filter((s) => s !== '' && s !== '.');
  const out: string[] = [];
  let hops = 0;
  while (pending.length) {
    const seg = pending.shift()!;
    if (seg === '.' || seg === '') continue;
    if (seg === '..') {
      out.pop(); // at the root, '..' is the root
      continue;
    }
    out.push(seg);
    const target = readlink(out.join('/'));
    if (target === undefined) continue;
    if (++hops > maxDepth) return undefined;
    out.pop();
    if (target.startsWith('/')) out.length = 0;
    pending = [...target.split('/').filter((s) => s !== '' && s !== '.'), ...pending];
  }
  return out.join('/');
}
