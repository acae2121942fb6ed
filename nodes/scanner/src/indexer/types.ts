/**
 * Indexer plug-in interfaces (STYLE.md §7.4, claircore's indexer/): scanners see one layer at a time through a
 * read-only LayerView holding only the files some scanner declared interest in. A scanner that does not find its
 * format returns [] (never an error); a scanner whose `version` changes forces that scanner to re-index layers.
 */
import type { Distribution, Package } from '../model.js';

export type ScannerKind = 'package' | 'distribution';

export interface VersionedScanner {
  readonly name: string;
  readonly version: string;
  readonly kind: ScannerKind;
  /**
   * Which layer paths this scanner needs (normalised: no leading '/', no '.'/'..' segments). The layer reader keeps
   * a regular file (or a symlink's target, resolved inside the layer) only when some scanner's predicate says yes.
   */
  wants(path: string): boolean;
}

export interface PackageScanner extends VersionedScanner {
  readonly kind: 'package';
  scan(view: LayerView, signal?: AbortSignal): Promise<Package[]>;
}

export interface DistributionScanner extends VersionedScanner {
  readonly kind: 'distribution';
  scan(view: LayerView, signal?: AbortSignal): Promise<Distribution[]>;
}

export type Scanner = PackageScanner | DistributionScanner;

/** Thrown by LayerView.readFile when the file (or what the reader kept of it) is larger than the caller's bound. */
export class FileTooLargeError extends Error {
  override readonly name = 'FileTooLargeError';
  constructor(
    readonly path: string,
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(`indexer: ${path} is ${size} bytes, over the ${maxBytes}-byte bound`);
  }
}

/** Thrown by LayerView.readFile for a path the view does not hold. Use `has` first. */
export class FileNotFoundError extends Error {
  override readonly name = 'FileNotFoundError';
  constructor(readonly path: string) {
    super(`indexer: ${path} not in layer view`);
  }
}

/**
 * One layer (or the merged image, see layer-view.ts) as scanners see it: read-only, in memory, only files of
 * interest. Paths are normalised and relative ("etc/os-release"); a leading '/' or './' given by the caller is
 * accepted and stripped. Symlinks are already resolved by the reader (within the layer only): `has`/`readFile`
 * answer for the link path with the target's bytes.
 */
export interface LayerView {
  /** The layer's digest ("sha256:..."), or a synthetic id for a merged view. */
  readonly digest: string;
  has(path: string): boolean;
  /** The file's bytes; FileTooLargeError when `size(path) > maxBytes`, FileNotFoundError when absent. */
  readFile(path: string, maxBytes: number): Promise<Buffer>;
  /** Regular files (symlinks resolved to files included) under `prefix` (a directory, e.g. "var/lib/dpkg/status.d/"), sorted. */
  list(prefix?: string): Iterable<string>;
  /** The file's size as declared by the layer (may exceed what was kept when `truncated(path)`); undefined when absent. */
  size(path: string): number | undefined;
  /** True when the reader kept only a prefix of the file (it was over the per-file bound). readFile then throws FileTooLargeError. */
  truncated?(path: string): boolean;
}

/** Normalises a caller's path the way views store them. */
export function normalisePath(p: string): string {
  let s = p.replace(/\\/g, '/');
  while (s.startsWith('/')) s = s.slice(1);
  while (s.startsWith('./')) s = s.slice(2);
  return s.replace(/\/+/g, '/').replace(/\/$/, '');
}
