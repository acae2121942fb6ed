/**
 * Debian security tracker advisory lists in their native text form (data/DSA/list, data/DLA/list):
 *
 *   [29 Mar 2023] DSA-5380-1 xorg-server - security update
 *           {CVE-2023-1393}
 *           [bullseye] - xorg-server 2:1.20.11-1+deb11u6
 *           NOTE: ...
 *
 * One Vulnerability per (advisory, release, source package); aliases are the CVEs in braces (none for some
 * advisories). A package line's version may be `<not-affected>` (dropped), `<unfixed>` or `<end-of-life>` (affected,
 * no fix: range `{}`), and may carry a note in parentheses holding an urgency ("(medium)", "(bug #1; low)").
 */
import type { AffectedRange, Vulnerability } from '../model.js';
import { type FeedResult, bump, sortVulns, uniq, uniqRanges } from './common.js';
import { debianUrgency } from './debian-tracker.js';

const HEADER_RE = /^\[(\d{1,2}) (\w{3}) (\d{4})\]\s+((?:DSA|DLA|DTSA)-\d+(?:-\d+)?)\s*(.*)$/;
const PKG_RE = /^\s+\[([a-z0-9-]+)\]\s+-\s+(\S+)(?:\s+(\S+))?\s*(?:\((.*)\))?\s*$/;
const MONTHS: Record<string, string> = {
  Jan: '01', Feb: '02', Mar: '03', Apr: '04', May: '05', Jun: '06',
  Jul: '07', Aug: '08', Sep: '09', Oct: '10', Nov: '11', Dec: '12',
};

/** True when the text starts (after blank lines) with a `[date] DSA-n` / `DLA-n` header line. */
export function looksLikeDebianAdvisoryList(text: string): boolean {
  const first = text.slice(0, 4096).split('\n').find((l) => l.trim() !== '');
  return first !== undefined && HEADER_RE.test(first.replace(/\r$/, ''));
}

interface Pending {
  id: string;
  published: string | undefined;
  title: string;
  cves: string[];
  lines: { release: string; pkg: string; version: string | undefined; note: string | undefined }[];
}

export function parseDebianAdvisoryList(text: string, name?: string): FeedResult {
  const skipped: Record<string, number> = {};
  const byKey = new Map<string, Vulnerability>();
  let kind: 'dsa' | 'dla' | undefined;
  let cur: Pending | undefined;

  const flush = () => {
    if (!cur) return;
    if (cur.lines.length === 0) bump(skipped, 'advisory-without-packages');
    for (const l of cur.lines) {
      const ver = l.version;
      let ranges: AffectedRange[];
      if (ver === undefined || ver === '') {
        bump(skipped, 'package-line-without-version');
        continue;
      }
      if (ver === '<not-affected>') {
        bump(skipped, 'not-affected');
        continue;
      }
      if (ver === '<unfixed>' || ver === '<end-of-life>') ranges = [{}];
      else if (ver.startsWith('<')) {
        bump(skipped, `version:${ver}`);
        continue;
      } else ranges = [{ fixed: ver }];
      const urgency = (l.note ?? '')
        .split(';')
        .map((s) => s.trim())
        .find((s) => /^(unimportant|low|medium|high)\**$/i.test(s));
      const feed = cur.id.startsWith('DLA-') ? 'debian-dla' : 'debian-dsa';
      const key = `${cur.id}\u0000${l.release}\u0000${l.pkg}`;
      const prev = byKey.get(key);
      if (prev) {
        prev.ranges = uniqRanges([...prev.ranges, ...ranges]);
        continue;
      }
      const v: Vulnerability = {
        id: cur.id,
        aliases: uniq(cur.cves),
        feed,
        format: 'dpkg',
        distribution: { id: 'debian', release: l.release },
        package: { name: l.pkg, kind: 'source' },
        ranges,
        severity: debianUrgency(urgency),
        sourceSeverity: urgency ?? '',
        link: `https://security-tracker.debian.org/tracker/${cur.id}`,
        description: cur.title,
      };
      if (cur.published) v.published = cur.published;
      byKey.set(key, v);
    }
    cur = undefined;
  };

  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') continue;
    const h = HEADER_RE.exec(line);
    if (h) {
      flush();
      const [, day, mon, year, id, rest] = h as unknown as [string, string, string, string, string, string];
      const mm = MONTHS[mon];
      // "pkg - desc" (sometimes "pkg -- desc"); a few notices have no package at all.
      const title = rest.replace(/^\S+\s+--?\s+/, '').trim() || rest.trim();
      cur = {
        id,
        published: mm ? `${year}-${mm}-${day.padStart(2, '0')}` : undefined,
        title,
        cves: [],
        lines: [],
      };
      kind ??= id.startsWith('DLA-') ? 'dla' : 'dsa';
      continue;
    }
    if (!cur) {
      bump(skipped, 'line-outside-advisory');
      continue;
    }
    const t = line.trim();
    if (t.startsWith('{')) {
      cur.cves.push(...t.replace(/[{}]/g, ' ').split(/\s+/).filter((s) => s !== ''));
      continue;
    }
    if (t.startsWith('NOTE:')) continue;
    const p = PKG_RE.exec(line);
    if (p) {
      cur.lines.push({ release: p[1]!, pkg: p[2]!, version: p[3], note: p[4] });
      continue;
    }
    bump(skipped, 'unparsed-line');
  }
  flush();
  return {
    name: name ?? (kind === 'dla' ? 'debian-dla' : 'debian-dsa'),
    vulnerabilities: sortVulns([...byKey.values()]),
    skipped,
  };
}
