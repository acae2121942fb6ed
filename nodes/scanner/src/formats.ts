import type { IndexReportRow } from '../../../shared/db/scans.js';
import type { IndexReport } from './indexer/coalesce.js';
import type { ManifestVulnerabilities } from './reports.js';
import type { Match } from './matcher/match.js';
import type { Package } from './model.js';

const pkgId = (p: Package) => `${p.format}:${p.name}@${p.version}:${p.location}`;
const cves = (m: Match) => [m.vulnerability.id, ...m.vulnerability.aliases].filter((x) => /^CVE-\d{4}-\d+$/.test(x));

/** Clair v4's IndexReport shape. */
export function clairIndexReport(digest: string, row: IndexReportRow | undefined): Record<string, unknown> {
  const report = row?.report as IndexReport | null | undefined;
  const packages: Record<string, unknown> = {};
  const environments: Record<string, unknown[]> = {};
  for (const p of report?.packages ?? []) {
    const id = pkgId(p);
    packages[id] = {
      id, name: p.name, version: p.version, kind: 'binary', normalized_version: '', arch: p.arch ?? '', module: p.module ?? '',
      ...(p.source ? { source: { name: p.source.name, version: p.source.version ?? '', kind: 'source' } } : {}),
      package_db: p.location, format: p.format,
    };
    environments[id] = [{ package_db: p.location, introduced_in: p.layer ?? '', distribution_id: report?.distribution ? '1' : '' }];
  }
  const d = report?.distribution;
  return {
    manifest_hash: digest,
    state: stateName(row?.state),
    packages,
    distributions: d ? { 1: { id: '1', did: d.id, name: d.prettyName ?? d.id, version: d.versionId, version_code_name: d.versionCodename ?? '', version_id: d.versionId, cpe: d.cpe ?? '', pretty_name: d.prettyName ?? '' } } : {},
    environments,
    success: row?.state === 'indexed' || row?.state === 'unsupported',
    err: row?.reason ?? '',
  };
}

function stateName(s: string | undefined): string {
  switch (s) {
    case 'indexed': return 'IndexFinished';
    case 'failed': return 'IndexError';
    case 'unsupported': return 'IndexFinished';
    case 'indexing': return 'ScanLayers';
    case 'queued': return 'CheckManifest';
    default: return 'Unknown';
  }
}

/** Clair v4's VulnerabilityReport shape. */
export function clairVulnerabilityReport(v: ManifestVulnerabilities): Record<string, unknown> {
  const base = clairIndexReport(v.digest, { manifestDigest: v.digest, state: 'indexed', reason: null, attempts: 0, scannerSet: null, report: v.report ?? null, indexedAt: null, updatedAt: new Date() });
  const vulnerabilities: Record<string, unknown> = {};
  const packageVulnerabilities: Record<string, string[]> = {};
  for (const m of v.matches) {
    const vid = `${m.vulnerability.feed}:${m.vulnerability.id}:${m.vulnerability.package.name}`;
    vulnerabilities[vid] = {
      id: vid, updater: m.vulnerability.feed, name: m.vulnerability.id, description: m.vulnerability.description, links: m.vulnerability.link,
      severity: m.vulnerability.sourceSeverity, normalized_severity: m.vulnerability.severity, fixed_in_version: m.fixedBy ?? '',
      package: { name: m.vulnerability.package.name, kind: m.vulnerability.package.kind }, aliases: m.vulnerability.aliases,
      ...(m.vulnerability.distribution ? { distribution: { did: m.vulnerability.distribution.id, version_id: m.vulnerability.distribution.release } } : {}),
    };
    const id = pkgId(m.package);
    (packageVulnerabilities[id] ??= []).push(vid);
  }
  return { ...base, vulnerabilities, package_vulnerabilities: packageVulnerabilities, enrichments: {} };
}

const QUAY_STATUS: Record<string, string> = { indexed: 'scanned', failed: 'failed', unsupported: 'unsupported', queued: 'queued', indexing: 'queued', unknown: 'queued' };

/**
 * Quay's security endpoint shape (`/api/v1/repository/{repo}/manifest/{digest}/security`): status and, once scanned,
 * data.Layer.Features[] each with its Vulnerabilities[] (Name, Severity normalised, FixedBy, Link, the CVE ids and
 * the source's own severity in Metadata).
 */
export function quaySecurity(v: ManifestVulnerabilities, withVulnerabilities: boolean): Record<string, unknown> {
  const status = QUAY_STATUS[v.state] ?? 'queued';
  if (v.state !== 'indexed' || !v.report) return { status, data: null, ...(v.reason ? { reason: v.reason } : {}) };
  const d = v.report.distribution;
  const namespace = d ? `${d.id}:${d.versionId}` : '';
  const byPkg = new Map<string, Match[]>();
  for (const m of v.matches) {
    const id = pkgId(m.package);
    byPkg.set(id, [...(byPkg.get(id) ?? []), m]);
  }
  const features = v.report.packages.map((p) => {
    const matches = byPkg.get(pkgId(p)) ?? [];
    return {
      Name: p.name, VersionFormat: p.format, NamespaceName: ['pypi', 'npm', 'go', 'maven', 'gem'].includes(p.format) ? p.format : namespace,
      AddedBy: p.layer ?? '', Version: p.version, BaseScores: [], CVEIds: [...new Set(matches.flatMap(cves))],
      ...(withVulnerabilities ? {
        Vulnerabilities: matches.map((m) => ({
          Name: m.vulnerability.id, Severity: m.vulnerability.severity, FixedBy: m.fixedBy ?? '', Link: m.vulnerability.link,
          Description: m.vulnerability.description, NamespaceName: m.vulnerability.distribution ? `${m.vulnerability.distribution.id}:${m.vulnerability.distribution.release}` : m.vulnerability.feed,
          Metadata: { UpdatedBy: m.vulnerability.feed, RepoName: null, RepoLink: null, DistroName: m.vulnerability.distribution?.id ?? null, DistroVersion: m.vulnerability.distribution?.release ?? null, NVD: {}, SourceSeverity: m.vulnerability.sourceSeverity, Aliases: m.vulnerability.aliases },
        })),
      } : {}),
    };
  });
  return { status, data: { Layer: { Name: v.digest, ParentName: '', NamespaceName: namespace, IndexedByVersion: 4, Features: features } } };
}
