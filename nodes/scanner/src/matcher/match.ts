import type { Distribution, Package, PackageFormat, Vulnerability } from '../model.js';
import { isAffected } from '../versions/index.js';
import type { IndexReport } from '../indexer/coalesce.js';

export interface Match {
  package: Package;
  vulnerability: Vulnerability;
  /** The version that fixes it for this package, when the feed names one. */
  fixedBy?: string;
}

/** Looks up the current records for packages of one format by name (the database, or a test's list). */
export type VulnerabilitySource = (format: PackageFormat, names: string[]) => Promise<Vulnerability[]>;

// PEP 503: names compare case-insensitively with runs of -, _ and . as one '-'.
const pyName = (n: string) => n.toLowerCase().replace(/[-_.]+/g, '-');
const nameKey = (format: PackageFormat, n: string) => (format === 'pypi' ? pyName(n) : n);

/**
 * Does this distribution record apply to the image's distribution? Feeds name releases their own way: Debian by
 * codename (bookworm) or number, Alpine by major.minor (3.10 for 3.10.4), Red Hat by major (8 for 8.6), Mariner by
 * 2.0. UBI and RHEL images say ID=rhel.
 */
export function sameRelease(d: Distribution, v: { id: string; release: string }): boolean {
  if (d.id !== v.id) return false;
  const rel = v.release.replace(/^v/, '');
  if (d.versionCodename && d.versionCodename === rel) return true;
  if (d.versionId === rel) return true;
  const parts = d.versionId.split('.');
  if (v.id === 'rhel' || v.id === 'debian') return parts[0] === rel;
  return parts.slice(0, rel.split('.').length).join('.') === rel;
}

/** The package name a record is keyed by: the source package for feeds that track sources. */
function lookupNames(p: Package): string[] {
  const names = [p.name];
  if (p.source?.name && p.source.name !== p.name) names.push(p.source.name);
  return names;
}

/**
 * Matches an index report against current vulnerability data, in code, per ecosystem: distribution records only for
 * packages of that distribution release and matched by the name the feed means (source or binary), language records
 * by package name; then the package format's own version ordering decides each range. Red Hat modular records
 * apply only to packages of the same module stream, and non-modular records never to modular packages.
 */
export async function matchReport(report: IndexReport, lookup: VulnerabilitySource): Promise<Match[]> {
  const byFormat = new Map<PackageFormat, Package[]>();
  for (const p of report.packages) {
    const list = byFormat.get(p.format) ?? [];
    list.push(p);
    byFormat.set(p.format, list);
  }
  const out: Match[] = [];
  for (const [format, pkgs] of byFormat) {
    const names = [...new Set(pkgs.flatMap(lookupNames).map((n) => nameKey(format, n)))];
    const records = await lookup(format, names);
    const byName = new Map<string, Vulnerability[]>();
    for (const v of records) {
      const k = nameKey(format, v.package.name);
      const list = byName.get(k) ?? [];
      list.push(v);
      byName.set(k, list);
    }
    for (const p of pkgs) {
      const seen = new Set<string>();
      for (const v of [...(byName.get(nameKey(format, p.name)) ?? []), ...(p.source ? byName.get(nameKey(format, p.source.name)) ?? [] : [])]) {
        const key = `${v.feed}\0${v.id}\0${v.package.name}`;
        if (seen.has(key) || !applies(report, p, v)) continue;
        const hit = affectedBy(p, v);
        if (!hit.affected) continue;
        seen.add(key);
        out.push({ package: p, vulnerability: v, ...(hit.fixedBy ? { fixedBy: hit.fixedBy } : {}) });
      }
    }
  }
  return out;
}

function applies(report: IndexReport, p: Package, v: Vulnerability): boolean {
  if (v.distribution) {
    if (!report.distribution || !sameRelease(report.distribution, v.distribution)) return false;
    const wanted = v.package.kind === 'source' ? p.source?.name ?? p.name : p.name;
    if (nameKey(p.format, wanted) !== nameKey(p.format, v.package.name)) return false;
  } else if (nameKey(p.format, p.name) !== nameKey(p.format, v.package.name)) {
    return false;
  }
  const vm = v.package.module;
  if (vm !== undefined || p.module !== undefined) return vm === p.module;
  return true;
}

function affectedBy(p: Package, v: Vulnerability): { affected: boolean; fixedBy?: string } {
  if (v.ranges.length === 0) return { affected: true };
  for (const r of v.ranges) {
    let hit: boolean;
    try {
      hit = isAffected(p.format, p.version, r);
    } catch {
      // A version the ordering cannot parse is not evidence of a vulnerability.
      hit = false;
    }
    if (hit) return r.fixed ? { affected: true, fixedBy: r.fixed } : { affected: true };
  }
  return { affected: false };
}
