/**
 * The Java package scanner: every kept jar/war/ear in the layer, read with the bounds of archive.ts. A file that
 * is not a readable zip yields nothing (its name lied); only an abort is an error.
 */
import type { Package } from '../../model.js';
import { FileTooLargeError, type LayerView, type PackageScanner } from '../../indexer/types.js';
import { ARCHIVE_EXTENSION, DEFAULT_JAR_LIMITS, scanJar, type JarLimits } from './archive.js';

/** Fat jars and wars of a few hundred MiB exist; bigger ones are not loaded. */
export const MAX_ARCHIVE_BYTES = 256 * 1024 * 1024;

export class JavaPackageScanner implements PackageScanner {
  readonly name = 'java-archive';
  readonly version = '1';
  readonly kind = 'package' as const;

  constructor(
    private readonly maxBytes = MAX_ARCHIVE_BYTES,
    private readonly limits: JarLimits = DEFAULT_JAR_LIMITS,
  ) {}

  wants(path: string, size?: number): boolean {
    return ARCHIVE_EXTENSION.test(path) && (size === undefined || size <= this.maxBytes);
  }

  async scan(view: LayerView, signal?: AbortSignal): Promise<Package[]> {
    const out: Package[] = [];
    for (const path of view.list()) {
      signal?.throwIfAborted();
      if (!this.wants(path, view.size(path)) || view.truncated?.(path)) continue;
      let bytes: Buffer;
      try {
        bytes = await view.readFile(path, this.maxBytes);
      } catch (err) {
        if (err instanceof FileTooLargeError) continue;
        throw err;
      }
      out.push(...scanJar(bytes, path, this.limits, signal).packages);
    }
    return out;
  }
}

/** The instance ecosystems/index.ts lists. */
export const javaScanner: PackageScanner = new JavaPackageScanner();
