/**
 * Go binaries: every kept file that is an ELF with embedded build info yields its main module, its dependencies
 * and the standard library (package "stdlib" at the toolchain's version) — what govulncheck and Clair's gobin
 * scanner report. Files without build info (C binaries, scripts) are skipped silently.
 */
import type { Package } from '../../model.js';
import { FileTooLargeError, type LayerView, type PackageScanner } from '../../indexer/types.js';
import { goVersionToSemver, readBuildInfo, type GoBuildInfo, type GoModule } from './buildinfo.js';
import { isElf } from './elf.js';

/** Go binaries over this are rare (terraform is ~90 MiB); bigger files are not read into memory. */
export const MAX_GO_BINARY_BYTES = 256 * 1024 * 1024;

/** Extensions that are never executables, to keep source trees (usr/local/go/src) and data out of the view. */
const NOT_BINARY = /\.(go|s|c|h|txt|md|json|ya?ml|toml|xml|html?|css|js|mjs|ts|py|pyc|rb|pl|sh|conf|cfg|ini|pem|crt|key|gz|tgz|zip|jar|tar|png|jpe?g|gif|svg|mod|sum|a|o)$|\.so(\.\d+)*$/i;

/**
 * Whether the layer reader should keep `path` for this scanner. Kept files share the reader's per-layer memory
 * budget with every other scanner, so the net is cast where Go binaries live, not over every file: bin and sbin
 * directories at any depth (usr/local/bin, go/bin, opt/x/bin), the image root (distroless images put the binary
 * at /manager), app/ and ko-app/, and the top two levels of opt/. Shared libraries are left out (c-shared Go
 * libraries are rare, distribution libraries many). `size`, when the caller knows it, must be within the bound.
 */
export function wants(path: string, size?: number): boolean {
  if (size !== undefined && (size > MAX_GO_BINARY_BYTES || size < 64)) return false;
  if (NOT_BINARY.test(path)) return false;
  if (!path.includes('/')) return true;
  if (/(^|\/)s?bin\//.test(path)) return true;
  return /^(app|ko-app)\//.test(path) || /^opt\/[^/]+(\/[^/]+)?$/.test(path);
}

const goPackage = (m: GoModule, location: string): Package => ({
  name: m.path,
  version: m.version,
  format: 'go',
  location,
  purl: `pkg:golang/${m.path}@${m.version}`,
});

/** The packages one binary's build info describes. */
export function packagesFromBuildInfo(info: GoBuildInfo, location: string): Package[] {
  const out: Package[] = [];
  // "(devel)" main modules (built from a checkout) are still listed: they name what the image runs.
  if (info.main?.path) out.push(goPackage(info.main, location));
  for (const d of info.deps) if (d.path && d.version) out.push(goPackage(d, location));
  const std = goVersionToSemver(info.goVersion);
  if (std) out.push({ name: 'stdlib', version: std, format: 'go', location, purl: `pkg:golang/stdlib@${std}` });
  return out;
}

export class GoPackageScanner implements PackageScanner {
  readonly name = 'go-binary';
  readonly version = '2';
  readonly kind = 'package' as const;

  constructor(private readonly maxBytes = MAX_GO_BINARY_BYTES) {}

  wants(path: string, size?: number): boolean {
    return wants(path, size) && (size === undefined || size <= this.maxBytes);
  }

  async scan(view: LayerView, signal?: AbortSignal): Promise<Package[]> {
    const out: Package[] = [];
    // Symlinks resolve to the same kept bytes (busybox's hundreds of applets): each binary is parsed once.
    const seen = new Set<Buffer>();
    for (const path of view.list()) {
      signal?.throwIfAborted();
      const size = view.size(path);
      if (!this.wants(path, size) || view.truncated?.(path)) continue;
      let bin: Buffer;
      try {
        bin = await view.readFile(path, this.maxBytes);
      } catch (err) {
        if (err instanceof FileTooLargeError) continue;
        throw err;
      }
      if (seen.has(bin)) continue;
      seen.add(bin);
      if (!isElf(bin)) continue;
      const info = readBuildInfo(bin);
      if (info) out.push(...packagesFromBuildInfo(info, path));
    }
    return out;
  }
}

/** The instance ecosystems/index.ts lists. */
export const goScanner: PackageScanner = new GoPackageScanner();
