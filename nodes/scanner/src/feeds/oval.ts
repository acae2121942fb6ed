/**
 * OVAL definitions for rpm distributions: Red Hat (RHEL OVAL v2 patch definitions) and CBL-Mariner / Azure Linux.
 *
 * A definition's criteria tree names tests; an rpminfo test joins an object (the package name) with a state (an EVR
 * with operation `less than` → range {fixed}, `less than or equal` → range {lastAffected}; signature-key and arch-only
 * states are not version constraints and are ignored). Red Hat scopes modular packages with a sibling criterion
 * "Module nodejs:12 is enabled", recorded as `package.module`. When a file carries definitions without the
 * tests/objects/states sections (clair's trimmed fixture), the criterion comments ("softhsm is earlier than
 * 0:2.4.0-2...") are the fallback.
 *
 * Red Hat: one Vulnerability per (advisory, package, module), id = RHSA/RHBA/RHEA, aliases = CVEs.
 * Mariner: one Vulnerability per (definition, package), id = the CVE.
 */
import { XMLParser } from 'fast-xml-parser';
import type { AffectedRange, Vulnerability } from '../model.js';
import {
  type FeedResult,
  CVE_RE,
  bump,
  isRecord,
  plainSeverity,
  redHatSeverity,
  sortVulns,
  str,
  arr,
  uniq,
  uniqRanges,
} from './common.js';

export interface OvalOptions {
  /** File name, used to find a Mariner release ("cbl-mariner-2.0-oval.xml") when the content does not say. */
  fileName?: string;
  /** Force the distribution release. */
  release?: string;
}

const ARRAY_TAGS = new Set([
  'definition',
  'reference',
  'criteria',
  'criterion',
  'extend_definition',
  'cve',
  'cpe',
  'platform',
  'bugzilla',
  'rpminfo_test',
  'rpminfo_object',
  'rpminfo_state',
]);

export function ovalXmlParser(): XMLParser {
  return new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    removeNSPrefix: true,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    isArray: (name) => ARRAY_TAGS.has(name),
  });
}

type Node = Record<string, unknown>;

function text(x: unknown): string | undefined {
  if (typeof x === 'string') return x;
  if (isRecord(x)) return str(x['#text']);
  return undefined;
}

function attr(x: unknown, name: string): string | undefined {
  return isRecord(x) ? str(x[`@_${name}`]) : undefined;
}

interface Leaf {
  testRef: string;
  comment: string;
  module: string | undefined;
}

const MODULE_RE = /^Module (\S+) is enabled$/;
const RHEL_INSTALLED_RE = /^Red Hat Enterprise Linux (\d+) is installed$/;

/** Walks a criteria tree, carrying the module stream named by a sibling criterion down to its subtree. */
function collectCriteria(node: unknown, module: string | undefined, out: Leaf[], releases: Set<string>): void {
  if (!isRecord(node)) return;
  const criteria = arr(node['criterion']);
  let mod = module;
  for (const c of criteria) {
    const comment = attr(c, 'comment') ?? '';
    const m = MODULE_RE.exec(comment);
    if (m) mod = m[1];
    const r = RHEL_INSTALLED_RE.exec(comment);
    if (r) releases.add(r[1]!);
  }
  for (const c of criteria) {
    const comment = attr(c, 'comment') ?? '';
    const ref = attr(c, 'test_ref');
    if (ref && !MODULE_RE.test(comment)) out.push({ testRef: ref, comment, module: mod });
  }
  for (const child of arr(node['criteria'])) collectCriteria(child, mod, out, releases);
}

interface Constraint {
  name: string;
  range: AffectedRange;
}

/** What an rpminfo test constrains: package name and EVR bound, or undefined for non-version tests. */
function fromTest(test: Node, objects: Map<string, Node>, states: Map<string, Node>): Constraint | null | undefined {
  const obj = objects.get(attr(test['object'], 'object_ref') ?? '');
  const name = obj ? text(obj['name']) : undefined;
  const stateRefs = arr(test['state']).map((s) => attr(s, 'state_ref') ?? '');
  if (!name) return undefined;
  for (const ref of stateRefs) {
    const st = states.get(ref);
    if (!st) continue;
    const evr = st['evr'];
    const value = text(evr);
    const op = attr(evr, 'operation');
    if (!value) continue;
    if (op === 'less than') return { name, range: { fixed: value } };
    if (op === 'less than or equal') return { name, range: { lastAffected: value } };
  }
  return null; // a test about signatures, arch or "is installed": not a version constraint
}

/** The same from a criterion comment, for files without the tests section. */
function fromComment(comment: string): Constraint | undefined {
  let m = /^(?:Package )?(\S+) is earlier than (\S+?)(?:,.*)?$/.exec(comment);
  if (m) return { name: m[1]!, range: { fixed: m[2]! } };
  m = /^(?:Package )?(\S+) is installed with version (\S+) or earlier$/.exec(comment);
  if (m) return { name: m[1]!, range: { lastAffected: m[2]! } };
  return undefined;
}

type Vendor = 'rhel' | 'mariner' | 'azurelinux';

function vendorOf(defs: Node[], generator: unknown): Vendor | undefined {
  const id = attr(defs[0], 'id') ?? '';
  if (id.startsWith('oval:com.redhat')) return 'rhel';
  if (id.startsWith('oval:com.microsoft.cbl-mariner')) return 'mariner';
  if (id.startsWith('oval:com.microsoft.azurelinux')) return 'azurelinux';
  const product = isRecord(generator) ? (text(generator['product_name']) ?? '') : '';
  if (/red hat/i.test(product)) return 'rhel';
  if (/mariner/i.test(product)) return 'mariner';
  if (/azure linux/i.test(product)) return 'azurelinux';
  return undefined;
}

export function looksLikeOval(xmlHead: string): boolean {
  return /<(?:\w+:)?oval_definitions[\s>]/.test(xmlHead);
}

/** Parses an OVAL document (already decompressed). Throws on XML it cannot read; unknown vendors give skips. */
export function parseOval(xml: string, options: OvalOptions = {}): FeedResult {
  const doc: unknown = ovalXmlParser().parse(xml);
  const root = isRecord(doc) ? doc['oval_definitions'] : undefined;
  const skipped: Record<string, number> = {};
  if (!isRecord(root)) return { name: 'oval', vulnerabilities: [], skipped: { 'no-oval_definitions': 1 } };
  const defs = arr(isRecord(root['definitions']) ? root['definitions']['definition'] : undefined).filter(isRecord);
  const vendor = vendorOf(defs, root['generator']);
  if (!vendor) return { name: 'oval', vulnerabilities: [], skipped: { 'unknown-vendor': defs.length } };

  const index = (section: unknown, tag: string) => {
    const m = new Map<string, Node>();
    if (isRecord(section)) for (const n of arr(section[tag])) if (isRecord(n)) m.set(attr(n, 'id') ?? '', n);
    return m;
  };
  const tests = index(root['tests'], 'rpminfo_test');
  const objects = index(root['objects'], 'rpminfo_object');
  const states = index(root['states'], 'rpminfo_state');
  const haveTests = isRecord(root['tests']);
  const allTestIds = new Set<string>();
  if (isRecord(root['tests']))
    for (const v of Object.values(root['tests'])) for (const t of arr(v)) allTestIds.add(attr(t, 'id') ?? '');

  let fileRelease = options.release;
  if (!fileRelease && vendor !== 'rhel') {
    const m = /(?:mariner|azurelinux)-(\d+\.\d+)/i.exec(options.fileName ?? '');
    if (m) fileRelease = m[1];
  }

  const out: Vulnerability[] = [];
  const feed = vendor === 'rhel' ? 'rhel-oval' : `${vendor}-oval`;
  const releasesSeen = new Map<string, number>();
  for (const def of defs) {
    const meta = isRecord(def['metadata']) ? def['metadata'] : {};
    const refs = arr(meta['reference']);
    const leaves: Leaf[] = [];
    const rels = new Set<string>();
    for (const c of arr(def['criteria'])) collectCriteria(c, undefined, leaves, rels);

    // Constraints per (package, module).
    const perPkg = new Map<string, { name: string; module: string | undefined; ranges: AffectedRange[] }>();
    for (const leaf of leaves) {
      let c: Constraint | null | undefined;
      const test = tests.get(leaf.testRef);
      if (test) c = fromTest(test, objects, states);
      else if (!haveTests) c = fromComment(leaf.comment);
      else if (!allTestIds.has(leaf.testRef)) {
        bump(skipped, 'missing-test');
        continue;
      }
      if (!c) continue;
      const key = `${c.name}\u0000${leaf.module ?? ''}`;
      const prev = perPkg.get(key);
      if (prev) prev.ranges = uniqRanges([...prev.ranges, c.range]);
      else perPkg.set(key, { name: c.name, module: leaf.module, ranges: [c.range] });
    }
    if (perPkg.size === 0) {
      bump(skipped, 'definition-without-packages');
      continue;
    }

    const title = text(meta['title']) ?? '';
    const description = text(meta['description']) ?? '';
    let id: string;
    let aliases: string[];
    let severity: string;
    let link: string;
    let published: string | undefined;
    let release: string;
    if (vendor === 'rhel') {
      const advisoryRef = refs.find((r) => attr(r, 'source') === 'RHSA');
      id = attr(advisoryRef, 'ref_id') ?? /^(\S+?):?\s/.exec(title)?.[1] ?? attr(def, 'id') ?? '';
      const advisory = isRecord(meta['advisory']) ? meta['advisory'] : {};
      aliases = uniq([
        ...refs.filter((r) => attr(r, 'source') === 'CVE').map((r) => attr(r, 'ref_id') ?? ''),
        ...arr(advisory['cve']).map((c) => text(c) ?? ''),
      ]).filter((a) => a !== '' && a !== id);
      severity = text(advisory['severity']) ?? '';
      link = attr(advisoryRef, 'ref_url') ?? `https://access.redhat.com/errata/${id}`;
      published = attr(advisory['issued'], 'date');
      const fromPlatform = arr(isRecord(meta['affected']) ? meta['affected']['platform'] : undefined)
        .map((p) => /^Red Hat Enterprise Linux (\d+)$/.exec(text(p) ?? '')?.[1])
        .find((x) => x !== undefined);
      const cpes = arr(isRecord(advisory['affected_cpe_list']) ? advisory['affected_cpe_list']['cpe'] : undefined);
      const fromCpe = cpes
        .map((c) => /^cpe:\/[ao]:redhat:enterprise_linux:(\d+)/.exec(text(c) ?? '')?.[1])
        .find((x) => x !== undefined);
      release = fileRelease ?? [...rels][0] ?? fromPlatform ?? fromCpe ?? '';
    } else {
      const cveRef = refs.find((r) => CVE_RE.test(attr(r, 'ref_id') ?? '')) ?? refs[0];
      id = attr(cveRef, 'ref_id') ?? /^(\S+)/.exec(title)?.[1] ?? attr(def, 'id') ?? '';
      aliases = uniq(refs.map((r) => attr(r, 'ref_id') ?? '')).filter((a) => a !== '' && a !== id);
      severity = text(meta['severity']) ?? '';
      link = attr(cveRef, 'ref_url') ?? `https://nvd.nist.gov/vuln/detail/${id}`;
      published = text(meta['advisory_date']);
      release = fileRelease ?? '';
      if (!release) {
        // The dist tag on the EVRs: ".cm2" → CBL-Mariner 2.0, ".azl3" → Azure Linux 3.0.
        for (const p of perPkg.values())
          for (const r of p.ranges) {
            const m = /\.(?:cm|azl)(\d+)$/.exec(r.fixed ?? r.lastAffected ?? '');
            if (m) release = `${m[1]}.0`;
          }
      }
    }
    if (!release) bump(skipped, 'release-unknown');
    releasesSeen.set(release, (releasesSeen.get(release) ?? 0) + 1);
    for (const p of perPkg.values()) {
      const v: Vulnerability = {
        id,
        aliases,
        feed,
        format: 'rpm',
        distribution: { id: vendor, release },
        package: p.module ? { name: p.name, kind: 'binary', module: p.module } : { name: p.name, kind: 'binary' },
        ranges: p.ranges,
        severity: vendor === 'rhel' ? redHatSeverity(severity) : plainSeverity(severity),
        sourceSeverity: severity,
        link,
        description: description || title,
      };
      if (published) v.published = published;
      out.push(v);
    }
  }
  const mainRelease = [...releasesSeen.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  return { name: `${feed}:${mainRelease}`, vulnerabilities: sortVulns(out), skipped };
}
