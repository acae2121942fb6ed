import type { Pool } from '../../../shared/db/pool.js';
import * as scans from '../../../shared/db/scans.js';
import { currentVulnerabilities } from '../../../shared/db/vulndb.js';
import type { PackageFormat, Vulnerability } from './model.js';
import type { IndexReport } from './indexer/coalesce.js';
import { matchReport, type Match } from './matcher/match.js';

// PEP 503 names are stored as the feed spells them; look both spellings up.
export const lookupVariants = (format: PackageFormat, names: string[]): string[] =>
  format === 'pypi' ? [...new Set(names.flatMap((n) => [n, n.toLowerCase(), n.toLowerCase().replace(/[-_.]+/g, '-'), n.toLowerCase().replace(/[-_.]+/g, '_')]))] : names;

/** Matches a manifest's stored index report against the current data (nothing is cached: new data shows at once). */
export async function vulnerabilityMatches(db: Pool, report: IndexReport): Promise<Match[]> {
  return matchReport(report, async (format, names) => (await currentVulnerabilities(db, format, lookupVariants(format, names))) as Vulnerability[]);
}

export interface ManifestVulnerabilities {
  digest: string;
  state: scans.IndexState | 'unknown';
  reason: string | null;
  report?: IndexReport;
  matches: Match[];
}

export async function manifestVulnerabilities(db: Pool, digest: string): Promise<ManifestVulnerabilities> {
  const row = await scans.getIndexReport(db, digest);
  if (!row) return { digest, state: 'unknown', reason: null, matches: [] };
  if (row.state !== 'indexed' || !row.report) return { digest, state: row.state, reason: row.reason, matches: [] };
  const report = row.report as IndexReport;
  return { digest, state: row.state, reason: row.reason, report, matches: await vulnerabilityMatches(db, report) };
}

/** A stable key per finding, to tell what a feed update added. */
export function findingKey(m: Match): string {
  return `${m.vulnerability.id}|${m.package.format}|${m.package.name}|${m.package.version}|${m.vulnerability.aliases.join(',')}`;
}
