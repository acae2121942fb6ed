/**
 * Stream, subject and consumer names (STYLE §7.3). Everything that spells a subject goes through an EventNames
 * object, so a prefix other than "wharf" (a test run, a second deployment on one NATS account) changes every
 * name consistently and nothing hard-codes "wharf." elsewhere.
 */

/** The event families; the subject is `<prefix>.<kind>.<region>` and the type `wharf.<kind>.v<N>`. */
export const EVENT_KINDS = [
  'blob.written',
  'blob.deleted',
  'manifest.pushed',
  'manifest.deleted',
  'replication.done',
  'vulnerability.found',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export class EventNameError extends Error {
  override readonly name = 'EventNameError';
}

// Regions are the last subject token, so they must never contain '.', '*', '>' or spaces. Length is capped so a
// durable name built from a region stays short.
const REGION_RE = /^[a-z0-9-]{1,63}$/;
// The prefix becomes both the first subject token and (upper-cased) the stream name, which may not hold '.'.
const PREFIX_RE = /^[a-z][a-z0-9_-]{0,31}$/;
// JetStream durable names: no whitespace, '.', '*', '>', path separators; keep them readable and bounded.
const DURABLE_RE = /^[A-Za-z0-9_-]{1,128}$/;

export function isRegion(s: string): boolean {
  return REGION_RE.test(s);
}

export function assertRegion(region: string): string {
  if (!isRegion(region)) {
    throw new EventNameError(`invalid region "${String(region).slice(0, 70)}": expected [a-z0-9-]{1,63}`);
  }
  return region;
}

export function assertDurableName(name: string): string {
  if (!DURABLE_RE.test(name)) {
    throw new EventNameError(`invalid durable consumer name "${String(name).slice(0, 140)}"`);
  }
  return name;
}

/** Durable consumer of the replicator serving one target region (filters blob.written.* and manifest.pushed.*). */
export function replicatorDurable(targetRegion: string): string {
  return `replicator-${assertRegion(targetRegion)}`;
}

/** Durable consumer of the scanner in one region (filters manifest.pushed.<region>). */
export function scannerDurable(region: string): string {
  return `scanner-${assertRegion(region)}`;
}

export interface EventNames {
  /** First subject token, e.g. "wharf". */
  readonly prefix: string;
  /** JetStream stream name, e.g. "WHARF". */
  readonly stream: string;
  /** Subjects the stream captures, e.g. ["wharf.>"]. */
  readonly streamSubjects: readonly string[];
  /** `<prefix>.<kind>.<region>` for a concrete region. */
  subject(kind: EventKind, region: string): string;
  /** Consumer filter for one kind: a concrete region, or every region with the default '*'. */
  filter(kind: EventKind, region?: string): string;
  blobWrittenSubject(region: string): string;
  blobDeletedSubject(region: string): string;
  manifestPushedSubject(region: string): string;
  manifestDeletedSubject(region: string): string;
  replicationDoneSubject(targetRegion: string): string;
  /** Filters of the replicator: every region's blob.written and manifest.pushed (it copies towards its own region). */
  replicatorFilters(): string[];
  /** Filters of a region's scanner: manifests pushed in that region. */
  scannerFilters(region: string): string[];
  /** True when a subject or filter lies inside this stream (a consumer filter outside it is a config error). */
  ownsSubject(subjectOrFilter: string): boolean;
}

export function eventNames(prefix = 'wharf'): EventNames {
  if (!PREFIX_RE.test(prefix)) {
    throw new EventNameError(`invalid event prefix "${String(prefix).slice(0, 40)}": expected [a-z][a-z0-9_-]{0,31}`);
  }
  const subject = (kind: EventKind, region: string): string => `${prefix}.${kind}.${assertRegion(region)}`;
  const filter = (kind: EventKind, region = '*'): string =>
    `${prefix}.${kind}.${region === '*' ? '*' : assertRegion(region)}`;
  return Object.freeze({
    prefix,
    stream: prefix.toUpperCase(),
    streamSubjects: Object.freeze([`${prefix}.>`]),
    subject,
    filter,
    blobWrittenSubject: (region: string) => subject('blob.written', region),
    blobDeletedSubject: (region: string) => subject('blob.deleted', region),
    manifestPushedSubject: (region: string) => subject('manifest.pushed', region),
    manifestDeletedSubject: (region: string) => subject('manifest.deleted', region),
    replicationDoneSubject: (targetRegion: string) => subject('replication.done', targetRegion),
    replicatorFilters: () => [filter('blob.written'), filter('manifest.pushed')],
    scannerFilters: (region: string) => [filter('manifest.pushed', region)],
    ownsSubject: (s: string) => isValidSubject(s) && s.startsWith(`${prefix}.`),
  });
}

/** A subject or filter: non-empty tokens, '>' only last, wildcards only as whole tokens. */
export function isValidSubject(s: string): boolean {
  if (s.length === 0 || /\s/.test(s)) return false;
  const tokens = s.split('.');
  return tokens.every((t, i) => {
    if (t.length === 0) return false;
    if (t === '>') return i === tokens.length - 1;
    return !t.includes('>') && (t === '*' || !t.includes('*'));
  });
}

/**
 * NATS wildcard semantics: '*' matches exactly one token, '>' one or more trailing tokens. Used by the memory bus,
 * which must route exactly like JetStream does, and by tests.
 */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    const ft = f[i];
    if (ft === '>') return s.length > i;
    if (i >= s.length) return false;
    if (ft !== '*' && ft !== s[i]) return false;
  }
  return f.length === s.length;
}
