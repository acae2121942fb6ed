import type { Distribution, Package } from '../model.js';

/** What one scanner found in one layer, as stored per (layer, scanner, version). */
export interface LayerFindings {
  packages: Package[];
  distributions: Distribution[];
  /** The files of interest to this scanner present in the layer (a package database with no package counts too). */
  files: string[];
  whiteouts: string[];
  opaqueDirs: string[];
}

export interface IndexReport {
  manifest: string;
  distribution?: Distribution;
  packages: Package[];
  /** Layers in order, as indexed. */
  layers: string[];
}

function hidden(path: string, whiteouts: ReadonlySet<string>, opaque: ReadonlySet<string>): boolean {
  if (whiteouts.has(path)) return true;
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const dir = path.slice(0, i);
    if (whiteouts.has(dir) || opaque.has(dir)) return true;
  }
  return false;
}

/**
 * Layers bottom-up into the image's packages, per scanner and per location (the file a package was read from): a
 * later layer that holds the file replaces what lower layers said about it (a dpkg status rewritten by apt, a
 * package.json upgraded), a whiteout or opaque directory removes it, and each package keeps the layer that last
 * wrote its location. The distribution is the topmost layer's.
 */
export function coalesce(manifest: string, layers: readonly { digest: string; byScanner: ReadonlyMap<string, LayerFindings> }[]): IndexReport {
  const byLocation = new Map<string, { layer: string; packages: Package[] }>();
  let distribution: Distribution | undefined;
  for (const layer of layers) {
    const whiteouts = new Set<string>();
    const opaque = new Set<string>();
    for (const f of layer.byScanner.values()) {
      f.whiteouts.forEach((w) => whiteouts.add(w));
      f.opaqueDirs.forEach((o) => opaque.add(o));
    }
    if (whiteouts.size || opaque.size) {
      for (const key of [...byLocation.keys()]) if (hidden(key.slice(key.indexOf('\0') + 1), whiteouts, opaque)) byLocation.delete(key);
    }
    for (const [scanner, f] of layer.byScanner) {
      const here = new Map<string, Package[]>();
      for (const file of f.files) here.set(file, []);
      for (const p of f.packages) {
        const list = here.get(p.location) ?? [];
        list.push(p);
        here.set(p.location, list);
      }
      for (const [location, packages] of here) byLocation.set(`${scanner}\0${location}`, { layer: layer.digest, packages });
      if (f.distributions.length > 0) distribution = f.distributions[0];
    }
  }
  const packages: Package[] = [];
  for (const { layer, packages: list } of byLocation.values()) for (const p of list) packages.push({ ...p, layer });
  packages.sort((a, b) => a.format.localeCompare(b.format) || a.name.localeCompare(b.name) || a.version.localeCompare(b.version) || a.location.localeCompare(b.location));
  return { manifest, ...(distribution ? { distribution } : {}), packages, layers: layers.map((l) => l.digest) };
}
