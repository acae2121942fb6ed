/**
 * Alpine secdb (https://secdb.alpinelinux.org/v3.x/{main,community}.json, historically .yaml):
 * `{distroversion: "v3.10", reponame: "main", packages: [{pkg: {name, secfixes: {"1.2-r0": ["CVE-..."]}}}]}`.
 * aquasecurity/vuln-list keeps one package per file with `name`/`secfixes` at top level beside the repo fields;
 * both shapes are accepted. Packages are named by origin (source) package.
 *
 * One Vulnerability per (id, package, release). A secfix version "0" means "never affected" and is dropped. An id
 * fixed under several versions (a fix, then a further fix) keeps one range per version: affected below any of them.
 */
import type { AffectedRange, Vulnerability } from '../model.js';
import { type FeedResult, bump, isRecord, sortVulns, str, uniq, uniqRanges } from './common.js';

export const ALPINE_FEED = 'alpine-secdb';

/** "v3.10" / "3.10" / "v3.10.4" → "3.10" (os-release VERSION_ID major.minor); "edge" stays "edge". */
export function alpineRelease(distroversion: string): string {
  const m = /^v?(\d+)\.(\d+)/.exec(distroversion.trim());
  return m ? `${m[1]}.${m[2]}` : distroversion.trim().replace(/^v/, '');
}

export function looksLikeAlpineSecdb(doc: unknown): boolean {
  if (!isRecord(doc) || str(doc['distroversion']) === undefined) return false;
  return Array.isArray(doc['packages']) || (str(doc['name']) !== undefined && 'secfixes' in doc);
}

const ID_RE = /^[A-Z][A-Z0-9]*-[A-Za-z0-9][\w.:-]*$/;

/**
 * One secfixes entry → ids. Entries carry extra text now and then: "CVE-2017-12122 TALOS-2017-0488" (a second id,
 * kept as an alias), "CVE-2018-14468 (FrameRelay)" (a note). Tokens that are not id-shaped are the note.
 */
export function splitSecfixEntry(entry: string): { id: string; aliases: string[]; note: string } | undefined {
  const tokens = entry.trim().split(/\s+/).filter((t) => t !== '');
  const ids = tokens.filter((t) => ID_RE.test(t));
  if (ids.length === 0) return undefined;
  const note = tokens
    .filter((t) => !ID_RE.test(t))
    .join(' ')
    .replace(/^\(|\)$/g, '');
  return { id: ids[0]!, aliases: ids.slice(1), note };
}

export function parseAlpineSecdb(doc: unknown): FeedResult {
  const skipped: Record<string, number> = {};
  if (!isRecord(doc)) return { name: ALPINE_FEED, vulnerabilities: [], skipped };
  const distroversion = str(doc['distroversion']) ?? '';
  const reponame = str(doc['reponame']) ?? '';
  const release = alpineRelease(distroversion);
  const pkgs: unknown[] = Array.isArray(doc['packages'])
    ? doc['packages'].map((p) => (isRecord(p) ? p['pkg'] : undefined))
    : [doc];

  const byKey = new Map<string, Vulnerability>();
  for (const pkg of pkgs) {
    if (!isRecord(pkg)) {
      bump(skipped, 'malformed-package');
      continue;
    }
    const name = str(pkg['name']);
    if (!name) {
      bump(skipped, 'package-without-name');
      continue;
    }
    const secfixes = pkg['secfixes'];
    if (!isRecord(secfixes)) continue; // packages listed without fixes
    for (const [version, entries] of Object.entries(secfixes)) {
      const list = Array.isArray(entries) ? entries : [];
      for (const e of list) {
        const entry = str(e);
        const parsed = entry === undefined ? undefined : splitSecfixEntry(entry);
        if (!parsed) {
          bump(skipped, 'unparsable-id');
          continue;
        }
        if (version === '0') {
          bump(skipped, 'not-affected');
          continue;
        }
        const range: AffectedRange = { fixed: version };
        const key = `${parsed.id}\u0000${name}`;
        const prev = byKey.get(key);
        if (prev) {
          prev.ranges = uniqRanges([...prev.ranges, range]);
          prev.aliases = uniq([...prev.aliases, ...parsed.aliases]);
          bump(skipped, 'merged-duplicate-id');
          continue;
        }
        byKey.set(key, {
          id: parsed.id,
          aliases: parsed.aliases,
          feed: ALPINE_FEED,
          format: 'apk',
          distribution: { id: 'alpine', release },
          package: { name, kind: 'source' },
          ranges: [range],
          severity: 'Unknown',
          sourceSeverity: '',
          link: `https://security.alpinelinux.org/vuln/${parsed.id}`,
          description: parsed.note,
        });
      }
    }
  }
  return {
    name: `${ALPINE_FEED}:${distroversion}/${reponame}`,
    vulnerabilities: sortVulns([...byKey.values()]),
    skipped,
  };
}
