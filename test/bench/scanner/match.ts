// Parts 2 and 3: matching one 1,000-package image against the real feeds, and re-matching many indexed manifests
// after a feed update, the way the scanner node does it (afterImport → manifestsWithPackages → rematch each).
import type { Pool } from '../../../shared/db/pool.js';
import * as scans from '../../../shared/db/scans.js';
import { currentVulnerabilities, manifestsWithPackages } from '../../../shared/db/vulndb.js';
import type { PackageFormat, Vulnerability } from '../../../nodes/scanner/src/model.js';
import { matchReport } from '../../../nodes/scanner/src/matcher/match.js';
import { SCANNERS } from '../../../nodes/scanner/src/ecosystems/index.js';
import { scannerSet } from '../../../nodes/scanner/src/indexer/controller.js';
import type { IndexReport } from '../../../nodes/scanner/src/indexer/coalesce.js';
import type { RunningScanner } from '../../../nodes/scanner/src/node.js';
import { findingKey, lookupVariants, vulnerabilityMatches } from '../../../nodes/scanner/src/reports.js';
import { importFeedBytes } from '../../../nodes/scanner/src/vulndb.js';
import { median } from '../report.js';
import { npmFeedFiles, packageNames, tarOf } from './corpus.js';

export function percentile(xs: number[], p: number): number {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))]!;
}

export interface MatchResult {
  packages: number;
  runs: number;
  warmups: number;
  millis: number[];
  medianMs: number;
  p95Ms: number;
  matches: number;
  vulnerabilities: number;
  packagesAffected: number;
  byFeed: Record<string, number>;
}

export async function matchTimes(db: Pool, report: IndexReport, runs: number, warmups: number): Promise<MatchResult> {
  let last = await vulnerabilityMatches(db, report);
  for (let i = 1; i < warmups; i++) last = await vulnerabilityMatches(db, report);
  const millis: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    last = await vulnerabilityMatches(db, report);
    millis.push(performance.now() - t0);
  }
  const byFeed: Record<string, number> = {};
  for (const m of last) byFeed[m.vulnerability.feed] = (byFeed[m.vulnerability.feed] ?? 0) + 1;
  return {
    packages: report.packages.length, runs, warmups, millis, medianMs: median(millis)!, p95Ms: percentile(millis, 0.95),
    matches: last.length, vulnerabilities: new Set(last.map((m) => m.vulnerability.id)).size,
    packagesAffected: new Set(last.map((m) => `${m.package.format}|${m.package.name}|${m.package.version}`)).size, byFeed,
  };
}

/** Deterministic PRNG (mulberry32), so every run builds the same manifests. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UPDATE_ID = 'GHSA-p6mc-m468-83gw';
const LODASH_VERSIONS = ['4.17.15', '4.17.19', '4.17.21']; // the update's advisory is fixed in 4.17.20

/**
 * `count` manifests: three in four are variations of the 1,000-package report (each filler package kept with
 * probability 0.6–1.0, lodash at one of three real versions), one in four the real corpus image alone (its
 * minbase + python + npm layers' packages, about a quarter of the size), with lodash varied the same way.
 */
export function manifestVariants(big: IndexReport, fromLayers: number, count: number): { digest: string; report: IndexReport }[] {
  const rand = rng(42);
  const out: { digest: string; report: IndexReport }[] = [];
  for (let i = 0; i < count; i++) {
    const digest = `sha256:${(i + 1).toString(16).padStart(8, '0')}${'b'.repeat(56)}`;
    const small = i % 4 === 3;
    const keep = 0.6 + 0.4 * rand();
    const lodash = LODASH_VERSIONS[i % LODASH_VERSIONS.length]!;
    const packages = big.packages
      .filter((_, j) => (j < fromLayers ? true : !small && rand() < keep))
      .map((p) => (p.format === 'npm' && p.name === 'lodash' ? { ...p, version: lodash } : p));
    out.push({ digest, report: { ...big, manifest: digest, packages } });
  }
  return out;
}

/**
 * Index reports stored as the indexer leaves them (index_reports + index_packages via finishIndex; no manifests
 * rows), and beside them the baseline findings (storeBaselineFindings): both are untimed setup, run concurrently
 * (PostgreSQL stores reports while this process matches).
 */
export async function storeIndexReports(db: Pool, manifests: { digest: string; report: IndexReport }[]): Promise<{ storeSeconds: number; baselineSeconds: number }> {
  const t0 = performance.now();
  const set = scannerSet(SCANNERS);
  // 'indexing' with a long lease: the scanner node's worker never claims them.
  await db.query(
    `INSERT INTO index_reports (manifest_digest, state, lease_until) SELECT d, 'indexing', now() + interval '1 day' FROM unnest($1::text[]) AS d`,
    [manifests.map((m) => m.digest)],
  );
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < manifests.length; i = next++) {
      const m = manifests[i]!;
      await scans.finishIndex(db, m.digest, { state: 'indexed', scannerSet: set, report: m.report, packages: packageNames(m.report) });
    }
  };
  const stored = Promise.all([worker(), worker(), worker()]).then(() => (performance.now() - t0) / 1000);
  const baseline = storeBaselineFindings(db, manifests);
  const [storeSeconds, baselineSeconds] = await Promise.all([stored, baseline]);
  return { storeSeconds, baselineSeconds };
}

export interface RematchResult {
  manifests: number;
  packagesTotal: number;
  importSeconds: number;
  feedAdded: { format: string; name: string }[];
  affected: number;
  findSeconds: number;
  rematchSeconds: number;
  totalSeconds: number;
  manifestsPerSecond: number;
  perManifestMedianMs: number;
  perManifestP95Ms: number;
  manifestsWithNewFindings: number;
  newFindings: number;
  /** Manifests holding lodash below 4.17.20 (the update's fix): each should gain exactly one finding. */
  expectedNew: number;
  /** New finding ids other than the update's advisory (should be none: the baseline was complete). */
  unexpectedNew: string[];
}


/**
 * The findings the node's first rematch after indexing would record, stored directly: the same matchReport and
 * findingKey, but the records fetched once per format for all manifests (they share most package names), so the
 * untimed setup costs seconds, not as long as the measurement. rematchAfterUpdate checks the result: only the
 * update's advisory may show up as new.
 */
export async function storeBaselineFindings(db: Pool, manifests: { digest: string; report: IndexReport }[]): Promise<number> {
  const t0 = performance.now();
  const union = new Map<PackageFormat, Set<string>>();
  for (const m of manifests) {
    for (const p of m.report.packages) {
      const set = union.get(p.format) ?? new Set<string>();
      set.add(p.name);
      if (p.source?.name) set.add(p.source.name);
      union.set(p.format, set);
    }
  }
  const byFormat = new Map<PackageFormat, Vulnerability[]>();
  for (const [format, names] of union) {
    const all = [...names].flatMap((n) => (format === 'pypi' ? [n, n.toLowerCase().replace(/[-_.]+/g, '-')] : [n]));
    byFormat.set(format, (await currentVulnerabilities(db, format, lookupVariants(format, all))) as Vulnerability[]);
  }
  for (const m of manifests) {
    const matches = await matchReport(m.report, async (format, names) => {
      const wanted = new Set(lookupVariants(format, names));
      return (byFormat.get(format) ?? []).filter((v) => wanted.has(v.package.name));
    });
    await scans.setFindings(db, m.digest, [...new Set(matches.map(findingKey))].sort());
  }
  return (performance.now() - t0) / 1000;
}

/**
 * With the baseline findings stored (storeIndexReports; a real node records them right after indexing): the npm feed
 * update (the lodash advisory added), then what afterImport does: manifestsWithPackages(added) and node.rematch
 * for each, one after another. Timed: finding the affected manifests + re-matching them.
 */
export async function rematchAfterUpdate(db: Pool, node: RunningScanner, vuln: string, manifests: { digest: string; report: IndexReport }[]): Promise<RematchResult> {

  const ti = performance.now();
  const imported = await importFeedBytes(db, 'osv-npm.tar', await tarOf(npmFeedFiles(vuln, true)));
  const importSeconds = (performance.now() - ti) / 1000;
  const added = imported.flatMap((s) => s.added);

  const t0 = performance.now();
  const digests = await manifestsWithPackages(db, added);
  const findSeconds = (performance.now() - t0) / 1000;
  const per: number[] = [];
  let withNew = 0;
  let newFindings = 0;
  const unexpected = new Set<string>();
  for (const d of digests) {
    const t = performance.now();
    const keys = await node.rematch(d);
    per.push(performance.now() - t);
    if (keys.length) withNew++;
    newFindings += keys.length;
    for (const k of keys) if (!k.startsWith(`${UPDATE_ID}|`)) unexpected.add(k.split('|', 1)[0]!);
  }
  const totalSeconds = (performance.now() - t0) / 1000;
  const expectedNew = manifests.filter((m) => m.report.packages.some((p) => p.format === 'npm' && p.name === 'lodash' && p.version !== '4.17.21')).length;
  return {
    manifests: manifests.length, packagesTotal: manifests.reduce((a, m) => a + m.report.packages.length, 0),
    importSeconds, feedAdded: added, affected: digests.length, findSeconds,
    rematchSeconds: totalSeconds - findSeconds, totalSeconds, manifestsPerSecond: digests.length / totalSeconds,
    perManifestMedianMs: median(per) ?? NaN, perManifestP95Ms: per.length ? percentile(per, 0.95) : NaN,
    manifestsWithNewFindings: withNew, newFindings, expectedNew, unexpectedNew: [...unexpected].sort(),
  };
}
