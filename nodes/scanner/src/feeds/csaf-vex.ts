/**
 * Red Hat CSAF 2.0 documents: per-CVE VEX files (`document.category: "csaf_vex"`) and security advisories
 * (`csaf_security_advisory`, one RHSA).
 *
 * The product tree lists components (rpm purls, or bare NEVRA product ids in older advisories) and platforms (with
 * CPEs); `relationships` join them into the product ids the vulnerabilities' `product_status` lists use
 * ("AppStream-9.3.0.Z.MAIN:curl-0:7.76.1-26.el9_3.2.x86_64"). `fixed` ids give a fixed EVR, `known_affected` ids
 * (components without a version, "red_hat_enterprise_linux_8:curl") give an unfixed range `{}`;
 * `known_not_affected` and `under_investigation` are left out.
 *
 * Distribution: only RHEL platform CPEs count: `enterprise_linux:N` → release "N"; the extended-support streams
 * (`rhel_eus:9.0`, `rhel_aus:7.6`, `rhel_e4s`, `rhel_tus`, ...) → "N.M", so a fix only shipped to an EUS stream is
 * not read as a fix for the main stream. Layered products (Satellite, JBCS, OpenShift, ...) are skipped and counted:
 * `Vulnerability` has no repository/product scope to keep them apart from the base OS. Source rpms (arch src) are
 * skipped too (the binaries carry the same EVR).
 *
 * VEX: one Vulnerability per (CVE, package, module, release), aliases = the RHSAs that fixed it.
 * Advisory: one per (RHSA, package, module, release), aliases = its CVEs.
 */
import type { AffectedRange, Severity, Vulnerability } from '../model.js';
import {
  type FeedResult,
  arr,
  bump,
  isRecord,
  redHatSeverity,
  sortVulns,
  str,
  uniq,
  uniqRanges,
} from './common.js';

export function looksLikeCsaf(doc: unknown): boolean {
  if (!isRecord(doc) || !isRecord(doc['document'])) return false;
  const cat = str(doc['document']['category']) ?? '';
  return /^csaf_/.test(cat) && Array.isArray(doc['vulnerabilities']);
}

interface Component {
  name: string;
  evr?: string;
  arch?: string;
  module?: string;
  /** purl type when known ("rpm", "oci", ...); undefined for bare product ids. */
  type?: string;
}

/** "pkg:rpm/redhat/curl@7.76.1-26.el9_3.2?arch=x86_64&epoch=1&rpmmod=..." → component. */
export function componentFromPurl(purl: string): Component | undefined {
  const m = /^pkg:([a-z0-9.+-]+)\/(?:[^/?#@]+\/)?([^/?#@]+)(?:@([^?#]+))?(?:\?([^#]*))?/.exec(purl);
  if (!m) return undefined;
  const q = new URLSearchParams(m[4] ?? '');
  const name = decodeURIComponent(m[2]!);
  const version = m[3] ? decodeURIComponent(m[3]) : undefined;
  const c: Component = { name, type: m[1]! };
  if (version) c.evr = `${q.get('epoch') ?? '0'}:${version}`;
  const arch = q.get('arch');
  if (arch) c.arch = arch;
  const mod = q.get('rpmmod');
  if (mod) c.module = mod.split(':').slice(0, 2).join(':');
  return c;
}

/** Bare product ids: "telnet-1:0.17-65.el7_6.x86_64" (name-epoch:version-release.arch), "curl.src", "curl". */
export function componentFromProductId(id: string): Component {
  const m = /^(.+)-(\d+):([^-:]+)-([^-:]+)\.([a-z0-9_]+)$/.exec(id);
  if (m) return { name: m[1]!, evr: `${m[2]}:${m[3]}-${m[4]}`, arch: m[5]! };
  const s = /^(.+)\.src$/.exec(id);
  if (s) return { name: s[1]!, arch: 'src' };
  return { name: id };
}

/** A RHEL platform CPE → distribution release, or undefined for anything that is not RHEL itself. */
export function rhelReleaseFromCpe(cpe: string): string | undefined {
  const m = /^cpe:\/[aoh]:redhat:([a-z0-9_]+):(\d+)(?:\.(\d+))?/.exec(cpe);
  if (!m) return undefined;
  if (m[1] === 'enterprise_linux') return m[2];
  if (/^rhel_(eus|aus|e4s|tus|els|eus_long_life|extras)$/.test(m[1]!)) return m[3] !== undefined ? `${m[2]}.${m[3]}` : m[2];
  return undefined;
}

export interface CsafOptions {
  /**
   * Also keep layered products built for a RHEL major ("cpe:/a:redhat:openshift:4.16::el9" → release "9").
   * Off by default: see the file comment.
   */
  includeLayered?: boolean;
}

export function parseCsaf(doc: unknown, options: CsafOptions = {}): FeedResult {
  const skipped: Record<string, number> = {};
  if (!looksLikeCsaf(doc) || !isRecord(doc)) return { name: 'rhel-csaf', vulnerabilities: [], skipped };
  const document = doc['document'] as Record<string, unknown>;
  const category = str(document['category']) ?? '';
  const isVex = category === 'csaf_vex';
  const tracking = isRecord(document['tracking']) ? document['tracking'] : {};
  const docId = str(tracking['id']) ?? '';
  const feed = isVex ? 'rhel-vex' : 'rhel-csaf';
  const aggregate = isRecord(document['aggregate_severity']) ? str(document['aggregate_severity']['text']) : undefined;

  // Product tree: product id → purl / cpe / name.
  const products = new Map<string, { purl?: string; cpe?: string }>();
  const walk = (branches: unknown) => {
    for (const b of arr(branches)) {
      if (!isRecord(b)) continue;
      const p = b['product'];
      if (isRecord(p)) {
        const id = str(p['product_id']);
        const helper = isRecord(p['product_identification_helper']) ? p['product_identification_helper'] : {};
        const entry: { purl?: string; cpe?: string } = {};
        const purl = str(helper['purl']);
        const cpe = str(helper['cpe']);
        if (purl) entry.purl = purl;
        if (cpe) entry.cpe = cpe;
        if (id) products.set(id, entry);
      }
      walk(b['branches']);
    }
  };
  const tree = isRecord(doc['product_tree']) ? doc['product_tree'] : {};
  walk(tree['branches']);
  const rels = new Map<string, { component: string; platform: string }>();
  for (const r of arr(tree['relationships'])) {
    if (!isRecord(r) || !isRecord(r['full_product_name'])) continue;
    const id = str(r['full_product_name']['product_id']);
    const component = str(r['product_reference']);
    const platform = str(r['relates_to_product_reference']);
    if (id && component && platform) rels.set(id, { component, platform });
  }

  const resolve = (productId: string) => {
    const rel = rels.get(productId);
    if (!rel) return { why: 'no-relationship' as const };
    const cpe = products.get(rel.platform)?.cpe;
    let release = cpe ? rhelReleaseFromCpe(cpe) : undefined;
    if (!release && cpe && options.includeLayered) release = /^cpe:\/[aoh]:redhat:[^:]+:[^:]*::el(\d+)$/.exec(cpe)?.[1];
    if (!release) return { why: 'layered-product' as const };
    const purl = products.get(rel.component)?.purl;
    const comp = purl ? componentFromPurl(purl) : componentFromProductId(rel.component);
    if (!comp) return { why: 'bad-purl' as const };
    if (comp.type !== undefined && comp.type !== 'rpm') return { why: `purl-type:${comp.type}` };
    if (comp.arch === 'src') return { why: 'src-rpm' as const };
    return { comp, release };
  };

  const allCves = uniq(
    arr(doc['vulnerabilities'])
      .map((v) => (isRecord(v) ? str(v['cve']) : undefined))
      .filter((c): c is string => !!c),
  );
  const byKey = new Map<string, Vulnerability>();
  for (const v of arr(doc['vulnerabilities'])) {
    if (!isRecord(v)) continue;
    const cve = str(v['cve']) ?? '';
    const status = isRecord(v['product_status']) ? v['product_status'] : {};
    const threats = arr(v['threats']).filter((t) => isRecord(t) && t['category'] === 'impact') as Record<
      string,
      unknown
    >[];
    const severityOf = (productId: string): string =>
      str(threats.find((t) => arr(t['product_ids']).includes(productId))?.['details']) ??
      str(threats.find((t) => t['product_ids'] === undefined)?.['details']) ??
      aggregate ??
      '';
    // RHSA ids fixing each product (VEX remediations).
    const fixedBy = new Map<string, string[]>();
    for (const r of arr(v['remediations'])) {
      if (!isRecord(r) || r['category'] !== 'vendor_fix') continue;
      const m = /(RH[SBE]A-\d{4}:\d+)/.exec(str(r['url']) ?? '');
      if (!m) continue;
      for (const pid of arr(r['product_ids'])) {
        const k = str(pid) ?? '';
        fixedBy.set(k, [...(fixedBy.get(k) ?? []), m[1]!]);
      }
    }
    const notes = arr(v['notes']).filter(isRecord);
    const description =
      str(notes.find((n) => n['category'] === 'description')?.['text']) ?? str(v['title']) ?? str(document['title']) ?? '';
    const published = str(v['release_date']) ?? str(tracking['initial_release_date']);

    for (const [statusName, list] of Object.entries(status)) {
      let kind: 'fixed' | 'affected';
      if (statusName === 'fixed' || statusName === 'first_fixed') kind = 'fixed';
      else if (statusName === 'known_affected') kind = 'affected';
      else {
        bump(skipped, `status:${statusName}`, arr(list).length);
        continue;
      }
      for (const pidRaw of arr(list)) {
        const pid = str(pidRaw) ?? '';
        const res = resolve(pid);
        if (!('comp' in res) || !res.comp) {
          bump(skipped, res.why);
          continue;
        }
        const comp = res.comp;
        let range: AffectedRange;
        if (kind === 'fixed') {
          if (!comp.evr) {
            bump(skipped, 'fixed-without-version');
            continue;
          }
          range = { fixed: comp.evr };
        } else range = {};
        const id = isVex ? cve || docId : docId;
        const key = `${id}\u0000${comp.name}\u0000${comp.module ?? ''}\u0000${res.release}`;
        const sev = severityOf(pid);
        const extraAliases = isVex ? (fixedBy.get(pid) ?? []) : allCves;
        const prev = byKey.get(key);
        if (prev) {
          prev.ranges = uniqRanges([...prev.ranges, range]);
          prev.aliases = uniq([...prev.aliases, ...extraAliases]).filter((a) => a !== id);
          if (rank(redHatSeverity(sev)) > rank(prev.severity)) {
            prev.severity = redHatSeverity(sev);
            prev.sourceSeverity = sev;
          }
          continue;
        }
        const vuln: Vulnerability = {
          id,
          aliases: uniq(extraAliases).filter((a) => a !== id),
          feed,
          format: 'rpm',
          distribution: { id: 'rhel', release: res.release },
          package: comp.module
            ? { name: comp.name, kind: 'binary', module: comp.module }
            : { name: comp.name, kind: 'binary' },
          ranges: [range],
          severity: redHatSeverity(sev),
          sourceSeverity: sev,
          link: isVex
            ? `https://access.redhat.com/security/cve/${id}`
            : `https://access.redhat.com/errata/${id}`,
          description,
        };
        if (published) vuln.published = published;
        byKey.set(key, vuln);
      }
    }
  }
  return { name: `${feed}:${docId}`, vulnerabilities: sortVulns([...byKey.values()]), skipped };
}

function rank(s: Severity): number {
  return ['Unknown', 'Negligible', 'Low', 'Medium', 'High', 'Critical'].indexOf(s);
}
