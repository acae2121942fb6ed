/**
 * npm scanner: every installed package's `node_modules/<name>/package.json` (or `@scope/name`), at any nesting;
 * the root application's own package.json is not a dependency and is skipped. package-lock.json (v2/v3) and the
 * hidden `node_modules/.package-lock.json` complement it: lock `packages` entries whose install dir holds no
 * package.json in the layer are reported with the lockfile as location (package-lock.json: without dev entries, and
 * without optional ones when node_modules is present). One package per install directory, so
 * nested copies (different or equal versions) are distinct packages.
 */
import type { Package } from '../../model.js';
import type { PackageScanner } from '../../indexer/types.js';

export const NPM_SCANNER_NAME = 'npm';
export const NPM_SCANNER_VERSION = '1';

const MAX_MANIFEST = 1024 * 1024;
const MAX_LOCK = 64 * 1024 * 1024;

/** The install directory if `p` is a package root manifest under node_modules, else undefined. */
export function installDirOf(p: string): string | undefined {
  // Cheap test first: this runs for every entry of every layer (the reader's interest predicate).
  if (!p.endsWith('/package.json') || !p.includes('node_modules/')) return undefined;
  const m = /^(.*(?:^|\/)node_modules\/)((?:@[^/]+\/)?[^/@.][^/]*)\/package\.json$/.exec(p);
  if (!m || m[2]!.split('/').includes('node_modules')) return undefined;
  return m[1]! + m[2]!;
}

function isLockfile(p: string): boolean {
  if (!p.endsWith('package-lock.json')) return false;
  return /(?:^|\/)package-lock\.json$/.test(p) || /(?:^|\/)node_modules\/\.package-lock\.json$/.test(p);
}

function wants(p: string): boolean {
  return installDirOf(p) !== undefined || isLockfile(p);
}

function purl(name: string, version: string): string {
  const n = name.startsWith('@') ? `%40${name.slice(1)}` : name;
  return `pkg:npm/${n}@${encodeURIComponent(version)}`;
}

async function json(view: Parameters<PackageScanner['scan']>[0], p: string, max: number): Promise<unknown> {
  try {
    return JSON.parse((await view.readFile(p, max)).toString('utf8'));
  } catch {
    return undefined;
  }
}

export const npmScanner: PackageScanner = {
  name: NPM_SCANNER_NAME,
  version: NPM_SCANNER_VERSION,
  kind: 'package',
  wants,
  async scan(view, signal) {
    const byDir = new Map<string, Package>();
    const locks: string[] = [];
    for (const p of view.list()) {
      signal?.throwIfAborted();
      if (isLockfile(p)) {
        locks.push(p);
        continue;
      }
      const dir = installDirOf(p);
      if (!dir) continue;
      const m = (await json(view, p, MAX_MANIFEST)) as { name?: unknown; version?: unknown } | undefined;
      if (!m || typeof m.name !== 'string' || typeof m.version !== 'string' || !m.name || !m.version) continue;
      byDir.set(dir, { name: m.name, version: m.version, format: 'npm', location: p, purl: purl(m.name, m.version) });
    }
    const hasTree = (root: string) => [...byDir.keys()].some((d) => d.startsWith(root + 'node_modules/'));
    for (const lock of locks) {
      signal?.throwIfAborted();
      const hidden = lock.endsWith('node_modules/.package-lock.json');
      // Keys are relative to the project root: the lockfile's dir, or node_modules' parent for the hidden lockfile.
      const root = hidden ? lock.slice(0, -'node_modules/.package-lock.json'.length) : lock.slice(0, -'package-lock.json'.length);
      const doc = (await json(view, lock, MAX_LOCK)) as { lockfileVersion?: unknown; packages?: unknown } | undefined;
      if (!doc || typeof doc.packages !== 'object' || doc.packages === null) continue; // v1 lockfiles: not read
      for (const [key, raw] of Object.entries(doc.packages as Record<string, unknown>)) {
        if (!key || !key.includes('node_modules/')) continue;
        const e = raw as { name?: unknown; version?: unknown; link?: unknown; dev?: unknown; devOptional?: unknown; optional?: unknown };
        if (!e || typeof e !== 'object' || e.link === true || typeof e.version !== 'string') continue;
        // The hidden lockfile records what npm installed; package-lock.json records what it would install: there,
        // dev dependencies are left out (production images usually omit them), and optional ones too when a
        // node_modules tree is present (platform-specific optionals are typically absent).
        if (!hidden && (e.dev === true || e.devOptional === true || (e.optional === true && hasTree(root)))) continue;
        const dir = root + key;
        if (byDir.has(dir)) continue;
        const name = typeof e.name === 'string' ? e.name : key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
        if (!name) continue;
        byDir.set(dir, { name, version: e.version, format: 'npm', location: lock, purl: purl(name, e.version) });
      }
    }
    return [...byDir.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([, p]) => p);
  },
};
