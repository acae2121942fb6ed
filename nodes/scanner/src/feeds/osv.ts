/**
 * OSV records (https://ossf.github.io/osv-schema/) for language ecosystems: PyPI advisory-database YAML, GitHub
 * advisories (npm, ...) and the Go vulndb, JSON or YAML.
 *
 * One Vulnerability per (OSV id, ecosystem, package name), ranges merged over all `affected[]` entries naming that
 * package (GitHub lists one entry per backport line, e.g. qs). `ranges[]` of type ECOSYSTEM / SEMVER become
 * AffectedRanges (introduced "0" = from the beginning, fixed / last_affected close a range, a trailing introduced is
 * open); GIT ranges are skipped (commit ids, not versions); `versions[]` adds one single-version range each.
 * Versions are kept verbatim ("1.0" in node-fetch's advisory is not semver; the matcher's ordering copes).
 * Ecosystems other than PyPI, npm, Go, Maven and RubyGems are skipped and counted, as are withdrawn records.
 */
import type { AffectedRange, PackageFormat, Vulnerability } from '../model.js';
import {
  type FeedResult,
  arr,
  bump,
  cvss3BaseScore,
  isRecord,
  plainSeverity,
  severityFromScore,
  sortVulns,
  str,
  uniq,
  uniqRanges,
} from './common.js';
import type { Severity } from '../model.js';

export const OSV_FEED = 'osv';

const ECOSYSTEMS: Record<string, PackageFormat> = { PyPI: 'pypi', npm: 'npm', Go: 'go', Maven: 'maven', RubyGems: 'gem' };

export function looksLikeOsv(doc: unknown): boolean {
  if (!isRecord(doc) || str(doc['id']) === undefined) return false;
  return 'schema_version' in doc || Array.isArray(doc['affected']) || 'modified' in doc;
}

/** Events of one range, in order, → ranges. */
export function rangesFromEvents(events: unknown[]): AffectedRange[] {
  const out: AffectedRange[] = [];
  let open: AffectedRange | undefined;
  for (const e of events) {
    if (!isRecord(e)) continue;
    const introduced = str(e['introduced']);
    const fixed = str(e['fixed']);
    const last = str(e['last_affected']);
    if (introduced !== undefined) {
      if (open) out.push(open);
      open = introduced === '0' || introduced === '' ? {} : { introduced };
    } else if (fixed !== undefined) {
      out.push({ ...(open ?? {}), fixed });
      open = undefined;
    } else if (last !== undefined) {
      out.push({ ...(open ?? {}), lastAffected: last });
      open = undefined;
    }
    // `limit` only bounds GIT ranges' commit walks; nothing to record for version ranges.
  }
  if (open) out.push(open);
  return out;
}

function osvSeverity(doc: Record<string, unknown>): { severity: Severity; source: string } {
  const db = isRecord(doc['database_specific']) ? str(doc['database_specific']['severity']) : undefined;
  if (db && plainSeverity(db) !== 'Unknown') return { severity: plainSeverity(db), source: db };
  for (const s of arr(doc['severity'])) {
    if (!isRecord(s)) continue;
    const vector = str(s['score']) ?? '';
    if (str(s['type']) === 'CVSS_V3' || vector.startsWith('CVSS:3.')) {
      const score = cvss3BaseScore(vector);
      if (score !== undefined) return { severity: severityFromScore(score), source: vector };
    }
  }
  const any = arr(doc['severity']).find(isRecord);
  return { severity: 'Unknown', source: db ?? (any ? (str(any['score']) ?? '') : '') };
}

/** One OSV document → vulnerabilities keyed by ecosystem (the OSV spelling: "PyPI", "npm", ...). */
export function parseOsvDocument(
  doc: unknown,
  skipped: Record<string, number> = {},
): Map<string, Vulnerability[]> {
  const byEco = new Map<string, Vulnerability[]>();
  if (!isRecord(doc)) {
    bump(skipped, 'not-an-object');
    return byEco;
  }
  const id = str(doc['id']);
  if (!id) {
    bump(skipped, 'no-id');
    return byEco;
  }
  if (str(doc['withdrawn'])) {
    bump(skipped, 'withdrawn');
    return byEco;
  }
  const { severity, source } = osvSeverity(doc);
  const refs = arr(doc['references']).filter(isRecord);
  const advisory = refs.find((r) => r['type'] === 'ADVISORY');
  const link = str(advisory?.['url']) ?? `https://osv.dev/vulnerability/${id}`;
  const aliases = uniq(arr(doc['aliases']).map((a) => str(a) ?? '')).filter((a) => a !== '' && a !== id);
  const description = str(doc['details']) || str(doc['summary']) || '';
  const published = str(doc['published']);

  const perPkg = new Map<string, Vulnerability>();
  for (const aff of arr(doc['affected'])) {
    if (!isRecord(aff) || !isRecord(aff['package'])) {
      bump(skipped, 'affected-without-package');
      continue;
    }
    const eco = str(aff['package']['ecosystem']) ?? '';
    const name = str(aff['package']['name']) ?? '';
    const format = ECOSYSTEMS[eco];
    if (!format) {
      bump(skipped, `ecosystem:${eco || 'missing'}`);
      continue;
    }
    if (!name) {
      bump(skipped, 'package-without-name');
      continue;
    }
    const ranges: AffectedRange[] = [];
    for (const r of arr(aff['ranges'])) {
      if (!isRecord(r)) continue;
      const type = str(r['type']) ?? '';
      if (type !== 'ECOSYSTEM' && type !== 'SEMVER') {
        bump(skipped, `range:${type || 'missing'}`);
        continue;
      }
      ranges.push(...rangesFromEvents(arr(r['events'])));
    }
    for (const ver of arr(aff['versions'])) {
      const v = str(ver);
      if (v) ranges.push({ introduced: v, lastAffected: v });
    }
    if (ranges.length === 0) {
      bump(skipped, 'affected-without-version-ranges');
      continue;
    }
    const key = `${eco}\u0000${name}`;
    const prev = perPkg.get(key);
    if (prev) {
      prev.ranges = uniqRanges([...prev.ranges, ...ranges]);
      continue;
    }
    const v: Vulnerability = {
      id,
      aliases,
      feed: OSV_FEED,
      format,
      package: { name, kind: 'binary' },
      ranges: uniqRanges(ranges),
      severity,
      sourceSeverity: source,
      link,
      description,
    };
    if (published) v.published = published;
    perPkg.set(key, v);
    const list = byEco.get(eco) ?? [];
    list.push(v);
    byEco.set(eco, list);
  }
  return byEco;
}

/** Many OSV documents (a directory or archive) → one FeedResult per ecosystem, "osv:PyPI", "osv:npm", ... */
export function parseOsvDocuments(docs: Iterable<unknown>): FeedResult[] {
  const skipped: Record<string, number> = {};
  const all = new Map<string, Vulnerability[]>();
  for (const d of docs) {
    for (const [eco, vs] of parseOsvDocument(d, skipped)) {
      const list = all.get(eco) ?? [];
      list.push(...vs);
      all.set(eco, list);
    }
  }
  const out: FeedResult[] = [...all.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([eco, vs]) => ({ name: `${OSV_FEED}:${eco}`, vulnerabilities: sortVulns(vs), skipped: {} }));
  // Skips belong to the batch, not to one ecosystem: report them on the first feed (or an empty "osv" feed).
  if (out.length === 0) out.push({ name: OSV_FEED, vulnerabilities: [], skipped });
  else out[0]!.skipped = skipped;
  return out;
}
