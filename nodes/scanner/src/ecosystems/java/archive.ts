/**
 * Java archives (jar, war, ear, and Jenkins' hpi/jpi) to Maven packages. Each archive contributes every
 * META-INF/maven/<group>/<artifact>/pom.properties it holds (shaded jars hold several); an archive with none falls
 * back to its manifest's Bundle-SymbolicName/Bundle-Version or Implementation-Title/Version. Archives nested
 * inside (WEB-INF/lib, BOOT-INF/lib, an ear's modules) are read recursively, within a depth bound and a shared
 * budget of inflated bytes, so a zip bomb or a quine costs at most the budget.
 */
import type { Package } from '../../model.js';
import { parseManifest, parseProperties } from './metadata.js';
import { isZip, listZip, readEntry, ZipError, type ZipEntry } from './zip.js';

export interface JarLimits {
  /** Archives inside archives: 1 = only the outer archive's direct children. */
  maxDepth: number;
  /** Largest nested archive inflated into memory. */
  maxNestedBytes: number;
  /** Largest pom.properties / MANIFEST.MF read. */
  maxMetadataBytes: number;
  /** All bytes inflated while reading one outer archive, at every depth. */
  maxTotalBytes: number;
}

export const DEFAULT_JAR_LIMITS: JarLimits = {
  maxDepth: 3,
  maxNestedBytes: 64 * 1024 * 1024,
  maxMetadataBytes: 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
};

export const ARCHIVE_EXTENSION = /\.(jar|war|ear|hpi|jpi)$/i;
const POM_PROPERTIES = /^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/;

export interface JarScan {
  packages: Package[];
  /** Entries and archives passed over (damaged, encrypted, over a bound), for logging. */
  skipped: { location: string; reason: string }[];
}

/** Packages in the archive at `location` (its bytes are `bytes`), nested archives included. */
export function scanJar(bytes: Buffer, location: string, limits: JarLimits = DEFAULT_JAR_LIMITS, signal?: AbortSignal): JarScan {
  const result: JarScan = { packages: [], skipped: [] };
  let budget = limits.maxTotalBytes;

  const read = (buf: Buffer, e: ZipEntry, cap: number): Buffer => {
    const data = readEntry(buf, e, Math.min(cap, budget));
    budget -= data.length;
    return data;
  };

  const walk = (buf: Buffer, where: string, depth: number): void => {
    signal?.throwIfAborted();
    let entries: ZipEntry[];
    try {
      entries = listZip(buf);
    } catch (err) {
      if (!(err instanceof ZipError)) throw err;
      result.skipped.push({ location: where, reason: err.message });
      return;
    }
    const found: Package[] = [];
    const seen = new Set<string>();
    let manifest: ZipEntry | undefined;
    const nested: ZipEntry[] = [];
    for (const e of entries) {
      if (POM_PROPERTIES.test(e.name)) {
        const p = attempt(() => fromPomProperties(read(buf, e, limits.maxMetadataBytes), where), `${where}:${e.name}`);
        if (p && !seen.has(`${p.name}@${p.version}`)) {
          seen.add(`${p.name}@${p.version}`);
          found.push(p);
        }
      } else if (e.name.toUpperCase() === 'META-INF/MANIFEST.MF') {
        manifest = e;
      } else if (ARCHIVE_EXTENSION.test(e.name)) {
        nested.push(e);
      }
    }
    if (found.length === 0 && manifest) {
      const m = manifest;
      const p = attempt(() => fromManifest(read(buf, m, limits.maxMetadataBytes), where), `${where}:${m.name}`);
      if (p) found.push(p);
    }
    result.packages.push(...found);
    for (const e of nested) {
      const inner = `${where}:${e.name}`;
      if (depth >= limits.maxDepth) {
        result.skipped.push({ location: inner, reason: `nested deeper than ${limits.maxDepth}` });
        continue;
      }
      const data = attempt(() => read(buf, e, limits.maxNestedBytes), inner);
      if (data && isZip(data)) walk(data, inner, depth + 1);
    }
  };

  /** One entry's failure (ZipError) is recorded and skipped; the rest of the archive is still read. */
  const attempt = <T>(f: () => T, where: string): T | undefined => {
    try {
      return f();
    } catch (err) {
      if (!(err instanceof ZipError)) throw err;
      result.skipped.push({ location: where, reason: err.message });
      return undefined;
    }
  };

  walk(bytes, location, 0);
  return result;
}

const maven = (name: string, version: string, location: string): Package => ({ name, version, format: 'maven', location });

function fromPomProperties(data: Buffer, location: string): Package | undefined {
  const props = parseProperties(data.toString('utf8'));
  const group = props.get('groupId')?.trim();
  const artifact = props.get('artifactId')?.trim();
  const version = props.get('version')?.trim();
  if (!group || !artifact || !version) return undefined;
  const p = maven(`${group}:${artifact}`, version, location);
  p.purl = `pkg:maven/${encodeURIComponent(group)}/${encodeURIComponent(artifact)}@${encodeURIComponent(version)}`;
  return p;
}

/**
 * Without Maven metadata the manifest is all there is. OSGi bundles name themselves (Bundle-SymbolicName, often
 * "group.artifact"); otherwise Implementation-Title, qualified by Implementation-Vendor-Id as a group when present.
 */
function fromManifest(data: Buffer, location: string): Package | undefined {
  const m = parseManifest(data.toString('utf8'));
  const bundle = m.get('Bundle-SymbolicName')?.split(';')[0]?.trim();
  const bundleVersion = m.get('Bundle-Version')?.trim();
  if (bundle && bundleVersion) return maven(bundle, bundleVersion, location);
  const title = m.get('Implementation-Title')?.trim();
  const version = m.get('Implementation-Version')?.trim();
  if (!title || !version) return undefined;
  const vendor = m.get('Implementation-Vendor-Id')?.trim();
  return maven(vendor ? `${vendor}:${title}` : title, version, location);
}
