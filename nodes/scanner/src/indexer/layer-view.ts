/**
 * In-memory LayerViews: one layer's kept files (LayerSnapshot, built by layer-reader.ts) and the image's final
 * filesystem for files of interest (applyLayers: bottom-up with whiteouts and opaque directories, OCI image-spec
 * "Representing Changes"), with per-path attribution to the layer that last wrote it.
 */
import { DEFAULT_LIMITS, resolveInLayer } from './limits.js';
import { FileNotFoundError, FileTooLargeError, normalisePath, type LayerView } from './types.js';

export interface KeptFile {
  /** The bytes kept (all of them unless `truncated`). */
  data: Buffer;
  /** The size the tar header declared. */
  size: number;
  truncated: boolean;
}

export interface LayerStats {
  entries: number;
  decompressedBytes: number;
  keptBytes: number;
  compression: 'gzip' | 'zstd' | 'none';
}

function underDir(p: string, dir: string): boolean {
  return dir === '' || p === dir || p.startsWith(dir + '/');
}

/** Shared read side: files + symlinks, symlinks resolved within the view only. */
abstract class MapView implements LayerView {
  abstract readonly digest: string;
  protected abstract fileAt(p: string): KeptFile | undefined;
  protected abstract linkAt(p: string): string | undefined;
  protected abstract filePaths(): Iterable<string>;
  protected abstract linkPaths(): Iterable<string>;
  protected maxDepth = DEFAULT_LIMITS.maxSymlinkDepth;

  /** The real path `p` names after following symlinks inside the view; undefined on loops/too deep. */
  resolve(path: string): string | undefined {
    return resolveInLayer(normalisePath(path), (q) => this.linkAt(q), this.maxDepth);
  }
  protected lookup(path: string): KeptFile | undefined {
    const r = this.resolve(path);
    return r === undefined ? undefined : this.fileAt(r);
  }
  has(path: string): boolean {
    return this.lookup(path) !== undefined;
  }
  size(path: string): number | undefined {
    return this.lookup(path)?.size;
  }
  truncated(path: string): boolean {
    return this.lookup(path)?.truncated ?? false;
  }
  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    const f = this.lookup(path);
    if (!f) throw new FileNotFoundError(normalisePath(path));
    if (f.truncated || f.size > maxBytes || f.data.length > maxBytes) {
      throw new FileTooLargeError(normalisePath(path), f.size, maxBytes);
    }
    return f.data;
  }
  #all: string[] | undefined;
  *list(prefix = ''): Iterable<string> {
    const dir = normalisePath(prefix);
    // Views are immutable: resolve every symlink once, not once per scanner that lists the view.
    if (!this.#all) {
      const out = new Set<string>(this.filePaths());
      for (const p of this.linkPaths()) if (this.has(p)) out.add(p);
      this.#all = [...out].sort();
    }
    for (const p of this.#all) if (underDir(p, dir)) yield p;
  }
}

/** One layer's files of interest, symlinks and whiteouts, as read by readLayer. */
export class LayerSnapshot extends MapView {
  constructor(
    readonly digest: string,
    readonly files: ReadonlyMap<string, KeptFile>,
    /** Every symlink in the layer (bounded): link path → raw target. */
    readonly symlinks: ReadonlyMap<string, string>,
    /** Paths deleted by `.wh.<name>` entries (the deleted path, not the marker). */
    readonly whiteouts: ReadonlySet<string>,
    /** Directories made opaque by `.wh..wh..opq` (lower layers' contents hidden). */
    readonly opaqueDirs: ReadonlySet<string>,
    readonly stats: LayerStats,
    /** Skipped entries and bounds hit, for logs (bounded). */
    readonly warnings: readonly string[],
    maxSymlinkDepth = DEFAULT_LIMITS.maxSymlinkDepth,
  ) {
    super();
    this.maxDepth = maxSymlinkDepth;
  }
  get symlinkDepth(): number {
    return this.maxDepth;
  }
  protected fileAt(p: string) {
    return this.files.get(p);
  }
  protected linkAt(p: string) {
    return this.symlinks.get(p);
  }
  protected filePaths() {
    return this.files.keys();
  }
  protected linkPaths() {
    return this.symlinks.keys();
  }
}

type Entry = { kind: 'file'; file: KeptFile; layer: string } | { kind: 'link'; target: string; layer: string };

/** The image's final view (files of interest only). `layerOf(path)` = the layer that last wrote it. */
export class MergedView extends MapView {
  constructor(
    readonly digest: string,
    private readonly entries: ReadonlyMap<string, Entry>,
    maxSymlinkDepth = DEFAULT_LIMITS.maxSymlinkDepth,
  ) {
    super();
    this.maxDepth = maxSymlinkDepth;
  }
  protected fileAt(p: string) {
    const e = this.entries.get(p);
    return e?.kind === 'file' ? e.file : undefined;
  }
  protected linkAt(p: string) {
    const e = this.entries.get(p);
    return e?.kind === 'link' ? e.target : undefined;
  }
  protected *filePaths() {
    for (const [p, e] of this.entries) if (e.kind === 'file') yield p;
  }
  protected *linkPaths() {
    for (const [p, e] of this.entries) if (e.kind === 'link') yield p;
  }
  /** Digest of the layer that last wrote the file `path` resolves to (after symlinks); undefined when absent. */
  layerOf(path: string): string | undefined {
    const r = this.resolve(path);
    if (r === undefined) return undefined;
    const e = this.entries.get(r);
    return e?.kind === 'file' ? e.layer : undefined;
  }
}

/**
 * Merges layer snapshots bottom-up (index 0 = base layer). For each layer: its opaque directories hide everything
 * lower layers put under them, its whiteouts delete the named path and everything below it, then its own files and
 * symlinks replace whatever was at the same path.
 */
export function applyLayers(views: readonly LayerSnapshot[], digest = 'merged'): MergedView {
  const entries = new Map<string, Entry>();
  let depth = DEFAULT_LIMITS.maxSymlinkDepth;
  for (const v of views) {
    if (v.opaqueDirs.size || v.whiteouts.size) {
      // One pass over what lower layers left, checking each path's ancestors: O(entries × depth), not O(entries × whiteouts).
      for (const p of [...entries.keys()]) {
        if (v.whiteouts.has(p)) {
          entries.delete(p);
          continue;
        }
        for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
          const anc = p.slice(0, i);
          if (v.whiteouts.has(anc) || v.opaqueDirs.has(anc)) {
            entries.delete(p);
            break;
          }
        }
      }
    }
    for (const [p, target] of v.symlinks) entries.set(p, { kind: 'link', target, layer: v.digest });
    for (const [p, file] of v.files) entries.set(p, { kind: 'file', file, layer: v.digest });
    depth = Math.min(depth, v.symlinkDepth);
  }
  return new MergedView(digest, entries, depth);
}
