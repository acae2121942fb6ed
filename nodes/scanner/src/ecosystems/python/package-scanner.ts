/**
 * Python scanner: installed distributions' metadata, `<dir>/*.dist-info/METADATA`, `<dir>/*.egg-info/PKG-INFO`,
 * and single-file `<dir>/*.egg-info`. Names are normalised per PEP 503; the same distribution recorded twice in one
 * directory (e.g. Debian's `cryptography.egg-info` beside `cryptography-38.0.4.dist-info`) is reported once,
 * preferring the dist-info. Location = the metadata file's path.
 */
import type { Package } from '../../model.js';
import type { PackageScanner } from '../../indexer/types.js';

export const PYTHON_SCANNER_NAME = 'python';
export const PYTHON_SCANNER_VERSION = '1';

const MAX_BYTES = 4 * 1024 * 1024;

/** PEP 503 normalisation: lowercase, runs of '-', '_', '.' become one '-'. */
export function normalisePyName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** The Name/Version headers of core metadata (RFC 822 headers up to the first blank line). */
export function parseMetadata(text: string): { name?: string; version?: string } {
  const out: { name?: string; version?: string } = {};
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') break;
    const m = /^(Name|Version):\s*(.*)$/i.exec(line);
    if (!m) continue;
    if (m[1]!.toLowerCase() === 'name') out.name ??= m[2]!.trim();
    else out.version ??= m[2]!.trim();
  }
  return out;
}

function wants(p: string): boolean {
  return /\.dist-info\/METADATA$/.test(p) || /\.egg-info\/PKG-INFO$/.test(p) || /[^/]\.egg-info$/.test(p);
}

/** The directory holding the distribution's metadata dir (site-packages). */
function siteDir(p: string): string {
  const m = /^(.*?)(?:^|\/)[^/]+\.(?:dist-info|egg-info)(?:\/[^/]+)?$/.exec(p);
  return m ? m[1]! : '';
}

export const pythonScanner: PackageScanner = {
  name: PYTHON_SCANNER_NAME,
  version: PYTHON_SCANNER_VERSION,
  kind: 'package',
  wants,
  async scan(view, signal) {
    const byKey = new Map<string, Package>();
    for (const p of view.list()) {
      if (!wants(p)) continue;
      signal?.throwIfAborted();
      let text: string;
      try {
        text = (await view.readFile(p, MAX_BYTES)).toString('utf8');
      } catch {
        continue;
      }
      const { name, version } = parseMetadata(text);
      if (!name || !version) continue;
      const norm = normalisePyName(name);
      const key = `${siteDir(p)}\0${norm}\0${version}`;
      const prev = byKey.get(key);
      if (prev && (prev.location.endsWith('/METADATA') || !p.endsWith('/METADATA'))) continue;
      byKey.set(key, {
        name: norm,
        version,
        format: 'pypi',
        location: p,
        purl: `pkg:pypi/${norm}@${encodeURIComponent(version)}`,
      });
    }
    return [...byKey.values()].sort((a, b) => a.location.localeCompare(b.location));
  },
};
