/**
 * dpkg scanner: var/lib/dpkg/status and distroless var/lib/dpkg/status.d/<pkg> (one or more stanzas per file).
 * Only installed packages ("Status: install ok installed"; status.d stanzas without Status are installed).
 */
import type { Package } from '../../model.js';
import type { LayerView, PackageScanner } from '../../indexer/types.js';

export const DPKG_SCANNER_NAME = 'dpkg';
export const DPKG_SCANNER_VERSION = '1';

const STATUS = 'var/lib/dpkg/status';
const STATUS_D = 'var/lib/dpkg/status.d';
const MAX_BYTES = 64 * 1024 * 1024;

/** RFC 822-style control stanzas; continuation lines (leading space/tab) are appended to the previous field. */
export function parseControl(text: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  let cur: Record<string, string> = {};
  let last: string | undefined;
  const flush = () => {
    if (Object.keys(cur).length) out.push(cur);
    cur = {};
    last = undefined;
  };
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      if (last) cur[last] += '\n' + line.slice(1);
      continue;
    }
    const i = line.indexOf(':');
    if (i <= 0) continue;
    last = line.slice(0, i).trim();
    cur[last] = line.slice(i + 1).trim();
  }
  flush();
  return out;
}

export function packagesFromStatus(text: string, location: string, requireStatus: boolean): Package[] {
  const pkgs: Package[] = [];
  for (const s of parseControl(text)) {
    const name = s.Package;
    const version = s.Version;
    if (!name || !version) continue;
    const status = s.Status?.split(/\s+/);
    if (status ? status[2] !== 'installed' || status[0] !== 'install' : requireStatus) continue;
    const p: Package = { name, version, format: 'dpkg', location };
    if (s.Architecture) p.arch = s.Architecture;
    const src = s.Source ? /^(\S+)(?:\s+\(([^)]+)\))?/.exec(s.Source) : null;
    p.source = src ? { name: src[1]!, version: src[2]?.trim() ?? version } : { name, version };
    pkgs.push(p);
  }
  return pkgs;
}

function wants(p: string): boolean {
  if (p === STATUS) return true;
  if (!p.startsWith(STATUS_D + '/')) return false;
  const rest = p.slice(STATUS_D.length + 1);
  return !rest.includes('/') && !rest.endsWith('.md5sums') && !rest.startsWith('.');
}

async function read(view: LayerView, p: string): Promise<string | undefined> {
  try {
    return (await view.readFile(p, MAX_BYTES)).toString('utf8');
  } catch {
    return undefined;
  }
}

export const dpkgScanner: PackageScanner = {
  name: DPKG_SCANNER_NAME,
  version: DPKG_SCANNER_VERSION,
  kind: 'package',
  wants,
  async scan(view, signal) {
    const out: Package[] = [];
    if (view.has(STATUS)) {
      const t = await read(view, STATUS);
      if (t) out.push(...packagesFromStatus(t, STATUS, true));
    }
    for (const p of view.list(STATUS_D)) {
      signal?.throwIfAborted();
      if (!wants(p)) continue;
      const t = await read(view, p);
      if (t) out.push(...packagesFromStatus(t, p, false));
    }
    return out;
  },
};
