/**
 * Event envelopes and payloads (STYLE §7.3). Events are CloudEvents-shaped so outside tooling can read them, the
 * type carries a schema version, and the envelope id is the deterministic JetStream message id: publishing the
 * same fact twice inside the duplicate window is a no-op.
 *
 * Validation is hand-written (no schema dependency). It rejects unknown types and versions, so a node that
 * receives a v2 it cannot read terminates it loudly instead of misreading it. Unknown extra fields are dropped,
 * which lets a producer add an optional field without a version bump.
 */
import { isDigest, isRepoName, isTag, type Digest, type RepoName, type Tag } from '../oci/index.js';
import { isRegion, type EventKind, type EventNames } from './subjects.js';

export const EVENT_TYPES = {
  blobWritten: 'wharf.blob.written.v1',
  blobDeleted: 'wharf.blob.deleted.v1',
  manifestPushed: 'wharf.manifest.pushed.v1',
  manifestDeleted: 'wharf.manifest.deleted.v1',
  replicationDone: 'wharf.replication.done.v1',
  vulnerabilityFound: 'wharf.vulnerability.found.v1',
} as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

/** The part of an OCI descriptor that events carry (references and subject of a manifest). */
export interface EventDescriptor {
  digest: Digest;
  size: number;
  mediaType: string;
}

export interface BlobWrittenData {
  region: string;
  digest: Digest;
  size: number;
  mediaType?: string;
  repository: RepoName;
  storageKey: string;
  uploadId: string;
}

export interface BlobDeletedData {
  region: string;
  digest: Digest;
}

export interface ManifestPushedData {
  region: string;
  repository: RepoName;
  digest: Digest;
  mediaType: string;
  size: number;
  tag?: Tag;
  artifactType?: string;
  subject?: EventDescriptor;
  /** Every blob and child manifest the manifest points at: the replicator copies these (mounted blobs included). */
  references: EventDescriptor[];
  actor: string;
  requestId: string;
}

export interface ManifestDeletedData {
  region: string;
  repository: RepoName;
  digest: Digest;
  tags: Tag[];
}

export interface ReplicationDoneData {
  digest: Digest;
  size: number;
  sourceRegion: string;
  targetRegion: string;
  outcome: 'copied' | 'already-present';
  durationMs: number;
  attempt: number;
}

/** New vulnerability data made an already indexed manifest vulnerable (ids are the records' own ids). */
export interface VulnerabilityFoundData {
  region: string;
  repository: RepoName;
  digest: Digest;
  vulnerabilities: string[];
}

export interface EventEnvelope<T extends EventType, D> {
  specversion: '1.0';
  type: T;
  /** Deterministic message id (see eventId); also the Nats-Msg-Id header. */
  id: string;
  /** wharf://<node>/<region>/<instance> */
  source: string;
  /** RFC 3339 timestamp of the fact, not of the delivery. */
  time: string;
  data: D;
}

export type BlobWrittenEvent = EventEnvelope<'wharf.blob.written.v1', BlobWrittenData>;
export type BlobDeletedEvent = EventEnvelope<'wharf.blob.deleted.v1', BlobDeletedData>;
export type ManifestPushedEvent = EventEnvelope<'wharf.manifest.pushed.v1', ManifestPushedData>;
export type ManifestDeletedEvent = EventEnvelope<'wharf.manifest.deleted.v1', ManifestDeletedData>;
export type ReplicationDoneEvent = EventEnvelope<'wharf.replication.done.v1', ReplicationDoneData>;
export type VulnerabilityFoundEvent = EventEnvelope<'wharf.vulnerability.found.v1', VulnerabilityFoundData>;

/** Discriminated on `type`: `switch (ev.type)` narrows `ev.data`. */
export type WharfEvent =
  | BlobWrittenEvent
  | BlobDeletedEvent
  | ManifestPushedEvent
  | ManifestDeletedEvent
  | ReplicationDoneEvent
  | VulnerabilityFoundEvent;

export type EventOf<T extends EventType> = Extract<WharfEvent, { type: T }>;
export type EventDataOf<T extends EventType> = EventOf<T>['data'];

/** What a producer hands to EventBus.publish: the bus fills in id, source, time and specversion. */
export type EventInput = { [T in EventType]: { type: T; data: EventDataOf<T>; time?: Date } }[EventType];

export class EventValidationError extends Error {
  override readonly name = 'EventValidationError';
  constructor(
    message: string,
    /** Dotted path of the offending field, e.g. "data.references[2].digest". */
    readonly path: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Identity and routing

/** The message id scheme of §7.3; ids only need to be equal for the same fact, never parsed back. */
export function eventId(input: Pick<EventInput, 'type' | 'data'>): string {
  const e = input as EventInput;
  switch (e.type) {
    case 'wharf.blob.written.v1':
      // The upload id is part of the fact: a retried publish of one upload is dropped, while a re-announcement
      // (read-repair, reconcile: their own uploadId) is a new message even inside the duplicate window.
      return `blob:${e.data.region}:${e.data.digest}:${e.data.uploadId}`;
    case 'wharf.blob.deleted.v1':
      return `blob-del:${e.data.region}:${e.data.digest}`;
    case 'wharf.manifest.pushed.v1':
      return `manifest:${e.data.region}:${e.data.repository}@${e.data.digest}:${e.data.tag ?? '-'}`;
    case 'wharf.manifest.deleted.v1':
      return `manifest-del:${e.data.region}:${e.data.repository}@${e.data.digest}`;
    case 'wharf.replication.done.v1':
      return `repl:${e.data.digest}:${e.data.targetRegion}`;
    case 'wharf.vulnerability.found.v1':
      return `vuln:${e.data.region}:${e.data.repository}@${e.data.digest}:${e.data.vulnerabilities.join(',').slice(0, 200)}`;
  }
}

const KIND_OF: Record<EventType, EventKind> = {
  'wharf.blob.written.v1': 'blob.written',
  'wharf.blob.deleted.v1': 'blob.deleted',
  'wharf.manifest.pushed.v1': 'manifest.pushed',
  'wharf.manifest.deleted.v1': 'manifest.deleted',
  'wharf.replication.done.v1': 'replication.done',
  'wharf.vulnerability.found.v1': 'vulnerability.found',
};

export function eventKind(type: EventType): EventKind {
  return KIND_OF[type];
}

/** The region that ends the subject: where the fact happened, or for replication the region that gained a copy. */
export function routingRegion(input: Pick<EventInput, 'type' | 'data'>): string {
  const e = input as EventInput;
  return e.type === 'wharf.replication.done.v1' ? e.data.targetRegion : e.data.region;
}

export function eventSubject(names: EventNames, input: Pick<EventInput, 'type' | 'data'>): string {
  return names.subject(eventKind(input.type), routingRegion(input));
}

/** CloudEvents source of a node instance: wharf://<node>/<region>/<instance>. */
export function eventSource(parts: { node: string; region: string; instance: string }): string {
  return `wharf://${encodeURIComponent(parts.node)}/${encodeURIComponent(parts.region)}/${encodeURIComponent(parts.instance)}`;
}

/** Build and validate a full envelope. Throws EventValidationError on bad data, so bugs surface at the producer. */
export function createEvent(input: EventInput, source: string, now: Date = new Date()): WharfEvent {
  return validateEvent({
    specversion: '1.0',
    type: input.type,
    id: eventId(input),
    source,
    time: (input.time ?? now).toISOString(),
    data: input.data,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Wire format

export function encodeEvent(ev: WharfEvent): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(ev));
}

/** Bytes off the wire → validated event. Throws EventValidationError (also for bad UTF-8 or JSON). */
export function decodeEvent(bytes: Uint8Array): WharfEvent {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new EventValidationError(`event is not UTF-8 JSON: ${(err as Error).message}`, '');
  }
  return validateEvent(doc);
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

type Obj = Record<string, unknown>;

class Reader {
  constructor(private readonly label: string) {}

  fail(path: string, expected: string, got: unknown): never {
    throw new EventValidationError(`invalid ${this.label}: ${path} must be ${expected} (got ${show(got)})`, path);
  }

  object(v: unknown, path: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'an object', v);
    return v as Obj;
  }

  string(v: unknown, path: string, opts: { empty?: boolean; max?: number } = {}): string {
    if (typeof v !== 'string') this.fail(path, 'a string', v);
    if (!opts.empty && v.length === 0) this.fail(path, 'a non-empty string', v);
    if (v.length > (opts.max ?? 1024)) this.fail(path, `at most ${opts.max ?? 1024} characters`, v);
    return v;
  }

  optionalString(v: unknown, path: string): string | undefined {
    return v === undefined ? undefined : this.string(v, path);
  }

  count(v: unknown, path: string, min = 0): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
      this.fail(path, min === 0 ? 'a non-negative integer' : `an integer >= ${min}`, v);
    }
    return v;
  }

  region(v: unknown, path: string): string {
    const s = this.string(v, path);
    if (!isRegion(s)) this.fail(path, 'a region ([a-z0-9-]+)', v);
    return s;
  }

  digest(v: unknown, path: string): Digest {
    const s = this.string(v, path);
    if (!isDigest(s)) this.fail(path, 'a sha256/sha512 digest', v);
    return s;
  }

  repository(v: unknown, path: string): RepoName {
    const s = this.string(v, path);
    if (!isRepoName(s)) this.fail(path, 'a repository name', v);
    return s;
  }

  tag(v: unknown, path: string): Tag {
    const s = this.string(v, path);
    if (!isTag(s)) this.fail(path, 'a tag', v);
    return s;
  }

  descriptor(v: unknown, path: string): EventDescriptor {
    const o = this.object(v, path);
    return {
      digest: this.digest(o.digest, `${path}.digest`),
      size: this.count(o.size, `${path}.size`),
      mediaType: this.string(o.mediaType, `${path}.mediaType`),
    };
  }

  array<T>(v: unknown, path: string, item: (x: unknown, p: string) => T, max = 10_000): T[] {
    if (!Array.isArray(v)) this.fail(path, 'an array', v);
    if (v.length > max) this.fail(path, `an array of at most ${max} items`, `${v.length} items`);
    return v.map((x, i) => item(x, `${path}[${i}]`));
  }
}

/** Assign optional fields only when present, so validated objects have no `key: undefined` entries. */
function withOptional<T extends object>(base: T, extra: Partial<T>): T {
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) (base as Obj)[k] = v;
  return base;
}

const DATA_READERS: { [T in EventType]: (r: Reader, d: Obj) => EventDataOf<T> } = {
  'wharf.blob.written.v1': (r, d) =>
    withOptional<BlobWrittenData>(
      {
        region: r.region(d.region, 'data.region'),
        digest: r.digest(d.digest, 'data.digest'),
        size: r.count(d.size, 'data.size'),
        repository: r.repository(d.repository, 'data.repository'),
        storageKey: r.string(d.storageKey, 'data.storageKey'),
        uploadId: r.string(d.uploadId, 'data.uploadId'),
      },
      { mediaType: r.optionalString(d.mediaType, 'data.mediaType') },
    ),
  'wharf.blob.deleted.v1': (r, d) => ({
    region: r.region(d.region, 'data.region'),
    digest: r.digest(d.digest, 'data.digest'),
  }),
  'wharf.manifest.pushed.v1': (r, d) =>
    withOptional<ManifestPushedData>(
      {
        region: r.region(d.region, 'data.region'),
        repository: r.repository(d.repository, 'data.repository'),
        digest: r.digest(d.digest, 'data.digest'),
        mediaType: r.string(d.mediaType, 'data.mediaType'),
        size: r.count(d.size, 'data.size'),
        references: r.array(d.references, 'data.references', (x, p) => r.descriptor(x, p)),
        // Anonymous pushes have no actor; an empty string keeps the field mandatory and still honest.
        actor: r.string(d.actor, 'data.actor', { empty: true }),
        requestId: r.string(d.requestId, 'data.requestId', { empty: true }),
      },
      {
        tag: d.tag === undefined ? undefined : r.tag(d.tag, 'data.tag'),
        artifactType: r.optionalString(d.artifactType, 'data.artifactType'),
        subject: d.subject === undefined ? undefined : r.descriptor(d.subject, 'data.subject'),
      },
    ),
  'wharf.manifest.deleted.v1': (r, d) => ({
    region: r.region(d.region, 'data.region'),
    repository: r.repository(d.repository, 'data.repository'),
    digest: r.digest(d.digest, 'data.digest'),
    tags: r.array(d.tags, 'data.tags', (x, p) => r.tag(x, p)),
  }),
  'wharf.replication.done.v1': (r, d) => {
    const outcome = d.outcome === 'copied' || d.outcome === 'already-present'
      ? d.outcome
      : r.fail('data.outcome', '"copied" or "already-present"', d.outcome);
    return {
      digest: r.digest(d.digest, 'data.digest'),
      size: r.count(d.size, 'data.size'),
      sourceRegion: r.region(d.sourceRegion, 'data.sourceRegion'),
      targetRegion: r.region(d.targetRegion, 'data.targetRegion'),
      outcome,
      durationMs: r.count(d.durationMs, 'data.durationMs'),
      attempt: r.count(d.attempt, 'data.attempt', 1),
    };
  },
  'wharf.vulnerability.found.v1': (r, d) => ({
    region: r.region(d.region, 'data.region'),
    repository: r.repository(d.repository, 'data.repository'),
    digest: r.digest(d.digest, 'data.digest'),
    vulnerabilities: r.array(d.vulnerabilities, 'data.vulnerabilities', (x, p) => r.string(x, p)),
  }),
};

const TYPE_RE = /^(wharf\.[a-z]+\.[a-z]+)\.v(\d+)$/;
// RFC 3339 with a mandatory zone; Date.parse alone would accept "March 1".
const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

function isEventType(s: string): s is EventType {
  return Object.hasOwn(DATA_READERS, s);
}

/** Validate a parsed JSON document as a WharfEvent; returns a fresh object holding only the known fields. */
export function validateEvent(value: unknown): WharfEvent {
  const r0 = new Reader('event');
  const o = r0.object(value, '(event)');
  if (o.specversion !== '1.0') r0.fail('specversion', '"1.0"', o.specversion);
  const type = r0.string(o.type, 'type', { max: 128 });
  if (!isEventType(type)) {
    const m = TYPE_RE.exec(type);
    const known = m && Object.keys(DATA_READERS).find((t) => t.startsWith(`${m[1]}.v`));
    throw new EventValidationError(
      known
        ? `unsupported event version: "${type}" (this node understands ${known})`
        : `unknown event type "${type.slice(0, 128)}"`,
      'type',
    );
  }
  const r = new Reader(`${type} event`);
  const id = r.string(o.id, 'id');
  const source = r.string(o.source, 'source');
  const time = r.string(o.time, 'time', { max: 64 });
  if (!TIME_RE.test(time) || Number.isNaN(Date.parse(time))) r.fail('time', 'an RFC 3339 timestamp', time);
  const data = (DATA_READERS[type] as (r: Reader, d: Obj) => WharfEvent['data'])(r, r.object(o.data, 'data'));
  return { specversion: '1.0', type, id, source, time, data } as WharfEvent;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? 'array' : 'object';
}
