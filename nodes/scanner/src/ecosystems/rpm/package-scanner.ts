/**
 * The rpm package scanner: finds the layer's rpm database — sqlite (rpm ≥ 4.16), ndb (SUSE) or Berkeley DB hash
 * (older) — under var/lib/rpm or usr/lib/sysimage/rpm, and turns each header into a Package. The file's magic,
 * not its name, picks the reader, because distributions move and rename these files.
 */
import type { Package } from '../../model.js';
import type { LayerView, PackageScanner } from '../../indexer/types.js';
import { isBdbHash, readBdbBlobs } from './bdb.js';
import { RpmDbError } from './errors.js';
import { parseHeader, splitSourceRpm, type RpmHeader } from './header.js';
import { isNdb, readNdbBlobs } from './ndb.js';
import { isSqlite, readSqliteBlobs } from './sqlite.js';

/** Database files in the order we prefer them when a layer holds several (a half-done backend migration). */
export const RPMDB_PATHS = [
  'usr/lib/sysimage/rpm/rpmdb.sqlite',
  'var/lib/rpm/rpmdb.sqlite',
  'usr/lib/sysimage/rpm/Packages.db',
  'var/lib/rpm/Packages.db',
  'usr/lib/sysimage/rpm/Packages',
  'var/lib/rpm/Packages',
] as const;

/** Large Fedora/RHEL images have ~100 MiB databases; anything past this is refused rather than loaded. */
export const MAX_RPMDB_BYTES = 512 * 1024 * 1024;

/** All header blobs of one database file, whichever backend wrote it. */
export async function readRpmDb(bytes: Uint8Array): Promise<Buffer[]> {
  if (isSqlite(bytes)) return readSqliteBlobs(bytes);
  if (isNdb(bytes)) return readNdbBlobs(bytes);
  if (isBdbHash(bytes)) return readBdbBlobs(bytes);
  throw new RpmDbError('header', 'file is neither an sqlite, ndb nor Berkeley DB rpm database');
}

/** "[epoch:]version-release", with epoch left out when 0 or absent (how rpm and the advisories print it). */
export function evr(h: Pick<RpmHeader, 'epoch' | 'version' | 'release'>): string {
  const vr = `${h.version}-${h.release}`;
  return h.epoch ? `${h.epoch}:${vr}` : vr;
}

export function toPackage(h: RpmHeader, location: string): Package {
  const p: Package = { name: h.name, version: evr(h), format: 'rpm', location };
  if (h.arch) p.arch = h.arch;
  if (h.sourceRpm) {
    const s = splitSourceRpm(h.sourceRpm);
    // Sub-packages share the source's epoch; the .src.rpm file name just does not spell it.
    if (s) p.source = { name: s.name, version: evr({ epoch: h.epoch, version: s.version, release: s.release }) };
  }
  if (h.modularityLabel) {
    // MODULARITYLABEL is name:stream:version:context; advisories match on name:stream.
    const [name, stream] = h.modularityLabel.split(':');
    if (name && stream) p.module = `${name}:${stream}`;
  }
  return p;
}

/** Packages from one database file's bytes; gpg-pubkey entries (imported signing keys) are not packages. */
export async function packagesFromRpmDb(bytes: Uint8Array, location: string, signal?: AbortSignal): Promise<Package[]> {
  const out: Package[] = [];
  for (const blob of await readRpmDb(bytes)) {
    signal?.throwIfAborted();
    const h = parseHeader(blob);
    if (h.name === 'gpg-pubkey') continue;
    out.push(toPackage(h, location));
  }
  return out;
}

export class RpmPackageScanner implements PackageScanner {
  readonly name = 'rpm';
  readonly version = '1';
  readonly kind = 'package' as const;

  constructor(private readonly maxBytes = MAX_RPMDB_BYTES) {}

  wants(path: string): boolean {
    return (RPMDB_PATHS as readonly string[]).includes(path);
  }

  async scan(view: LayerView, signal?: AbortSignal): Promise<Package[]> {
    // var/lib/rpm is often a symlink to usr/lib/sysimage/rpm; the first database found is the one rpm uses.
    const path = RPMDB_PATHS.find((p) => view.has(p));
    if (!path) return [];
    const bytes = await view.readFile(path, this.maxBytes);
    return packagesFromRpmDb(bytes, path, signal);
  }
}

/** The instance ecosystems/index.ts lists. */
export const rpmScanner: PackageScanner = new RpmPackageScanner();
