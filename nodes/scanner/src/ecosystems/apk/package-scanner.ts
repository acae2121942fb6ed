/** apk scanner: lib/apk/db/installed (P: name, V: version, o: origin → source, A: arch). */
import type { Package } from '../../model.js';
import type { PackageScanner } from '../../indexer/types.js';

export const APK_SCANNER_NAME = 'apk';
export const APK_SCANNER_VERSION = '1';

const DB = 'lib/apk/db/installed';
const MAX_BYTES = 64 * 1024 * 1024;

export function parseApkInstalled(text: string, location = DB): Package[] {
  const out: Package[] = [];
  let cur: Record<string, string> = {};
  const flush = () => {
    if (cur.P && cur.V) {
      const p: Package = { name: cur.P, version: cur.V, format: 'apk', location, source: { name: cur.o || cur.P, version: cur.V } };
      if (cur.A) p.arch = cur.A;
      out.push(p);
    }
    cur = {};
  };
  for (const line of text.split(/\r?\n/)) {
    if (line === '') {
      flush();
      continue;
    }
    if (line[1] !== ':') continue;
    const k = line[0]!;
    if (k === 'P' || k === 'V' || k === 'o' || k === 'A') cur[k] = line.slice(2).trim();
  }
  flush();
  return out;
}

export const apkScanner: PackageScanner = {
  name: APK_SCANNER_NAME,
  version: APK_SCANNER_VERSION,
  kind: 'package',
  wants: (p) => p === DB,
  async scan(view) {
    if (!view.has(DB)) return [];
    try {
      return parseApkInstalled((await view.readFile(DB, MAX_BYTES)).toString('utf8'));
    } catch {
      return [];
    }
  },
};
