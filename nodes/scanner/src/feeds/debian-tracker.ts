/**
 * Debian security tracker JSON (https://security-tracker.debian.org/tracker/data/json):
 * `{srcpkg: {CVE: {description, scope, debianbug, releases: {codename: {status, repositories, fixed_version,
 * urgency, nodsa?}}}}}`. One Vulnerability per (CVE, source package, release codename).
 */
import type { AffectedRange, Severity, Vulnerability } from '../model.js';
import { type FeedResult, bump, isRecord, sortVulns, str } from './common.js';

export const DEBIAN_TRACKER_FEED = 'debian-tracker';

/** Tracker urgency → severity. A trailing "*" / "**" marks an urgency not yet confirmed; it rates the same. */
export function debianUrgency(urgency: string | undefined): Severity {
  switch ((urgency ?? '').replace(/\*+$/, '').trim().toLowerCase()) {
    case 'unimportant':
      return 'Negligible';
    case 'low':
      return 'Low';
    case 'medium':
      return 'Medium';
    case 'high':
      return 'High';
    default:
      return 'Unknown'; // "not yet assigned", "end-of-life", missing
  }
}

/** Loose shape test used by detection: top-level values are objects keyed by CVE-like ids holding `releases`. */
export function looksLikeDebianTracker(doc: unknown): boolean {
  if (!isRecord(doc)) return false;
  let seen = 0;
  for (const pkg of Object.values(doc)) {
    if (!isRecord(pkg)) return false;
    for (const [id, entry] of Object.entries(pkg)) {
      if (!/^(CVE-\d{4}-\d+|TEMP-\d+-\w+|DSA-|DLA-)/.test(id) || !isRecord(entry)) return false;
      if (!('releases' in entry)) return false;
      if (++seen >= 20) return true;
    }
  }
  return seen > 0;
}

export function parseDebianTracker(doc: unknown): FeedResult {
  const skipped: Record<string, number> = {};
  const out: Vulnerability[] = [];
  if (!isRecord(doc)) return { name: DEBIAN_TRACKER_FEED, vulnerabilities: out, skipped };
  for (const [srcpkg, cves] of Object.entries(doc)) {
    if (!isRecord(cves)) continue;
    for (const [id, entry] of Object.entries(cves)) {
      if (!isRecord(entry)) continue;
      const releases = entry['releases'];
      if (!isRecord(releases)) {
        bump(skipped, 'no-releases');
        continue;
      }
      const description = str(entry['description']) ?? '';
      for (const [codename, rel] of Object.entries(releases)) {
        if (!isRecord(rel)) continue;
        const status = str(rel['status']) ?? '';
        const fixed = str(rel['fixed_version']);
        let ranges: AffectedRange[];
        if (status === 'resolved') {
          if (fixed === undefined || fixed === '') {
            bump(skipped, 'resolved-without-version');
            continue;
          }
          if (fixed === '0') {
            bump(skipped, 'not-affected');
            continue;
          }
          ranges = [{ fixed }];
        } else if (status === 'open' || status === 'undetermined') {
          ranges = [{}];
        } else {
          bump(skipped, `status:${status || 'missing'}`);
          continue;
        }
        const urgency = str(rel['urgency']) ?? '';
        out.push({
          id,
          aliases: [],
          feed: DEBIAN_TRACKER_FEED,
          format: 'dpkg',
          distribution: { id: 'debian', release: codename },
          package: { name: srcpkg, kind: 'source' },
          ranges,
          severity: debianUrgency(urgency),
          sourceSeverity: urgency,
          link: `https://security-tracker.debian.org/tracker/${id}`,
          description,
        });
      }
    }
  }
  return { name: DEBIAN_TRACKER_FEED, vulnerabilities: sortVulns(out), skipped };
}
