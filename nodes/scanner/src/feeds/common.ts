/**
 * Shared pieces of the feed parsers: typed errors, the per-feed result (ParsedFeed plus what was skipped and why),
 * severity helpers (Red Hat / Debian / GitHub ratings and the CVSS v3 base score) and small collection helpers.
 * Parsers are pure: bytes or parsed documents in, normalised `Vulnerability` records out; no I/O here.
 */
import type { AffectedRange, ParsedFeed, Severity, Vulnerability } from '../model.js';

/** Base class of every error the feed parsers throw on purpose; `file` names the input when known. */
export class FeedError extends Error {
  readonly file: string;
  constructor(message: string, file: string, options?: { cause?: unknown }) {
    super(`feeds: ${file}: ${message}`, options);
    this.name = 'FeedError';
    this.file = file;
  }
}

/** The content matched no known feed format. */
export class UnknownFeedFormatError extends FeedError {
  constructor(file: string, detail = 'not a known vulnerability feed format') {
    super(detail, file);
    this.name = 'UnknownFeedFormatError';
  }
}

/** The content looked like a known format but could not be read (truncated gzip, broken XML/JSON/YAML, bad tar). */
export class MalformedFeedError extends FeedError {
  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super(detail, file, options);
    this.name = 'MalformedFeedError';
  }
}

/** A single (decompressed) input or archive entry is over the configured bound. */
export class FeedTooLargeError extends FeedError {
  readonly limit: number;
  constructor(file: string, limit: number) {
    super(`larger than the ${limit}-byte limit for one feed document`, file);
    this.name = 'FeedTooLargeError';
    this.limit = limit;
  }
}

/** A parser's answer: the feed plus counts of what it deliberately left out ("ecosystem:NuGet": 1, ...). */
export interface FeedResult extends ParsedFeed {
  skipped: Record<string, number>;
}

export function bump(counts: Record<string, number>, key: string, n = 1): void {
  counts[key] = (counts[key] ?? 0) + n;
}

export function mergeCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) bump(into, k, v);
}

/** Plain-object test for parsed JSON/YAML (not null, not an array). */
export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function str(x: unknown): string | undefined {
  return typeof x === 'string' ? x : typeof x === 'number' ? String(x) : undefined;
}

export function arr(x: unknown): unknown[] {
  return Array.isArray(x) ? x : x === undefined || x === null || x === '' ? [] : [x];
}

export function uniq<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}

/** Ranges without duplicates (same introduced/fixed/lastAffected), first occurrence order kept. */
export function uniqRanges(ranges: AffectedRange[]): AffectedRange[] {
  const seen = new Set<string>();
  const out: AffectedRange[] = [];
  for (const r of ranges) {
    const k = `${r.introduced ?? ''}\u0000${r.fixed ?? ''}\u0000${r.lastAffected ?? ''}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(r);
  }
  return out;
}

/** Drops undefined optional fields so records compare and serialise cleanly. */
export function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

export const CVE_RE = /^CVE-\d{4}-\d{4,}$/;

/** Red Hat's four-level impact rating (OVAL <severity>, CSAF threats/aggregate_severity). */
export function redHatSeverity(s: string | undefined): Severity {
  switch ((s ?? '').trim().toLowerCase()) {
    case 'low':
      return 'Low';
    case 'moderate':
      return 'Medium';
    case 'important':
      return 'High';
    case 'critical':
      return 'Critical';
    default:
      return 'Unknown';
  }
}

/** A rating spelled like one of ours (Mariner OVAL: Critical/High/Medium/Low; GitHub: MODERATE ...). */
export function plainSeverity(s: string | undefined): Severity {
  switch ((s ?? '').trim().toLowerCase()) {
    case 'negligible':
    case 'unimportant':
      return 'Negligible';
    case 'low':
      return 'Low';
    case 'medium':
    case 'moderate':
      return 'Medium';
    case 'high':
    case 'important':
      return 'High';
    case 'critical':
      return 'Critical';
    default:
      return 'Unknown';
  }
}

export function severityFromScore(score: number): Severity {
  if (score >= 9) return 'Critical';
  if (score >= 7) return 'High';
  if (score >= 4) return 'Medium';
  if (score > 0) return 'Low';
  return 'Unknown';
}

/** CVSS v3 "Roundup": smallest number with one decimal >= x, robust to floating point (spec appendix A). */
function roundUp(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

const CVSS3_WEIGHTS = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  CIA: { H: 0.56, L: 0.22, N: 0 },
} as const;

/**
 * The CVSS v3.0/3.1 base score of a vector string ("CVSS:3.1/AV:N/AC:L/..."), or undefined when the vector is not
 * a complete v3 base vector. Follows the 3.1 specification's formulas (3.0 differs only in the rounding helper,
 * which gives the same one-decimal results for base scores).
 */
export function cvss3BaseScore(vector: string): number | undefined {
  const parts = vector.trim().split('/');
  if (!/^CVSS:3\.[01]$/.test(parts[0] ?? '')) return undefined;
  const m = new Map<string, string>();
  for (const p of parts.slice(1)) {
    const [k, v] = p.split(':');
    if (k && v) m.set(k, v);
  }
  const av = CVSS3_WEIGHTS.AV[m.get('AV') as keyof typeof CVSS3_WEIGHTS.AV];
  const ac = CVSS3_WEIGHTS.AC[m.get('AC') as keyof typeof CVSS3_WEIGHTS.AC];
  const ui = CVSS3_WEIGHTS.UI[m.get('UI') as keyof typeof CVSS3_WEIGHTS.UI];
  const scope = m.get('S');
  const prKey = m.get('PR');
  const c = CVSS3_WEIGHTS.CIA[m.get('C') as keyof typeof CVSS3_WEIGHTS.CIA];
  const i = CVSS3_WEIGHTS.CIA[m.get('I') as keyof typeof CVSS3_WEIGHTS.CIA];
  const a = CVSS3_WEIGHTS.CIA[m.get('A') as keyof typeof CVSS3_WEIGHTS.CIA];
  if (av === undefined || ac === undefined || ui === undefined || c === undefined || i === undefined || a === undefined)
    return undefined;
  if (scope !== 'U' && scope !== 'C') return undefined;
  const changed = scope === 'C';
  const pr =
    prKey === 'N' ? 0.85 : prKey === 'L' ? (changed ? 0.68 : 0.62) : prKey === 'H' ? (changed ? 0.5 : 0.27) : undefined;
  if (pr === undefined) return undefined;
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
  const exploitability = 8.22 * av * ac * pr * ui;
  if (impact <= 0) return 0;
  return changed
    ? roundUp(Math.min(1.08 * (impact + exploitability), 10))
    : roundUp(Math.min(impact + exploitability, 10));
}

/** Sort key so parsers return records in a stable order regardless of input order. */
export function sortVulns(vs: Vulnerability[]): Vulnerability[] {
  const key = (v: Vulnerability) =>
    `${v.distribution?.id ?? ''}\u0000${v.distribution?.release ?? ''}\u0000${v.package.name}\u0000${v.id}`;
  return vs.sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
}
