/**
 * Distribution scanner: os-release (etc/os-release, else usr/lib/os-release; a symlink between them is resolved by
 * the LayerView, inside the layer), falling back to etc/debian_version, etc/alpine-release, etc/redhat-release.
 */
import type { Distribution } from '../../model.js';
import type { DistributionScanner, LayerView } from '../../indexer/types.js';

export const OSRELEASE_SCANNER_NAME = 'osrelease';
export const OSRELEASE_SCANNER_VERSION = '1';

const MAX_BYTES = 64 * 1024;
const FILES = ['etc/os-release', 'usr/lib/os-release', 'etc/debian_version', 'etc/alpine-release', 'etc/redhat-release'];

/** Parses os-release (freedesktop: KEY=value, value optionally quoted with shell-style escapes). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!.trim();
    const q = v[0];
    if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) {
      v = v.slice(1, -1);
      if (q === '"') v = v.replace(/\\([\\$"`])/g, '$1');
    }
    out[m[1]!] = v;
  }
  return out;
}

export function distributionFromOsRelease(f: Record<string, string>): Distribution | undefined {
  const id = f.ID?.toLowerCase();
  if (!id) return undefined;
  const d: Distribution = { id, versionId: f.VERSION_ID ?? '' };
  if (f.VERSION_CODENAME) d.versionCodename = f.VERSION_CODENAME;
  if (f.PRETTY_NAME) d.prettyName = f.PRETTY_NAME;
  if (f.CPE_NAME) d.cpe = f.CPE_NAME;
  return d;
}

async function text(view: LayerView, p: string): Promise<string | undefined> {
  if (!view.has(p)) return undefined;
  try {
    return (await view.readFile(p, MAX_BYTES)).toString('utf8');
  } catch {
    return undefined; // too large: not a release file we understand
  }
}

export const osReleaseScanner: DistributionScanner = {
  name: OSRELEASE_SCANNER_NAME,
  version: OSRELEASE_SCANNER_VERSION,
  kind: 'distribution',
  wants: (p) => FILES.includes(p),
  async scan(view) {
    let d: Distribution | undefined;
    for (const p of ['etc/os-release', 'usr/lib/os-release']) {
      const t = await text(view, p);
      if (t !== undefined && (d = distributionFromOsRelease(parseOsRelease(t)))) break;
    }
    const debian = (await text(view, 'etc/debian_version'))?.trim();
    if (d) {
      // Debian testing/sid omit VERSION_ID; a numeric debian_version fills it.
      if (d.id === 'debian' && !d.versionId && debian && /^\d+/.test(debian)) d.versionId = /^\d+/.exec(debian)![0];
      return [d];
    }
    if (debian) {
      const major = /^(\d+)/.exec(debian)?.[1];
      return [{ id: 'debian', versionId: major ?? '', ...(major ? {} : { versionCodename: debian.split('/')[0]! }) }];
    }
    const alpine = (await text(view, 'etc/alpine-release'))?.trim();
    if (alpine && /^\d+\.\d+/.test(alpine)) return [{ id: 'alpine', versionId: alpine, prettyName: `Alpine Linux v${alpine}` }];
    const rh = (await text(view, 'etc/redhat-release'))?.trim();
    if (rh) {
      const m = /^(.*?) release (\d+(?:\.\d+)*)/.exec(rh);
      if (m) {
        const name = m[1]!;
        const id = /red hat/i.test(name) ? 'rhel' : /centos/i.test(name) ? 'centos' : /fedora/i.test(name) ? 'fedora' : /rocky/i.test(name) ? 'rocky' : /alma/i.test(name) ? 'almalinux' : name.toLowerCase().split(/\s+/)[0]!;
        return [{ id, versionId: m[2]!, prettyName: rh }];
      }
    }
    return [];
  },
};
