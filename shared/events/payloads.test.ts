import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { digestOf, type RepoName, type Tag } from '../oci/index.js';
import {
  EventValidationError,
  createEvent,
  decodeEvent,
  encodeEvent,
  eventId,
  eventNames,
  eventSource,
  eventSubject,
  validateEvent,
  type EventInput,
  type WharfEvent,
} from './index.js';

const D1 = digestOf('one');
const D2 = digestOf('two');
const SOURCE = eventSource({ node: 'registry', region: 'eu-west', instance: 'pod-1' });
const NOW = new Date('2026-08-01T12:00:00.000Z');
const repo = 'library/alpine' as RepoName;

const inputs: Record<WharfEvent['type'], EventInput> = {
  'wharf.blob.written.v1': {
    type: 'wharf.blob.written.v1',
    data: { region: 'eu-west', digest: D1, size: 10, mediaType: 'application/octet-stream', repository: repo, storageKey: 'blobs/x', uploadId: 'u1' },
  },
  'wharf.blob.deleted.v1': { type: 'wharf.blob.deleted.v1', data: { region: 'eu-west', digest: D1 } },
  'wharf.manifest.pushed.v1': {
    type: 'wharf.manifest.pushed.v1',
    data: {
      region: 'eu-west',
      repository: repo,
      digest: D2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 700,
      tag: '3.20' as Tag,
      artifactType: 'application/vnd.example+type',
      subject: { digest: D1, size: 5, mediaType: 'application/vnd.oci.image.manifest.v1+json' },
      references: [{ digest: D1, size: 10, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }],
      actor: 'alice',
      requestId: 'req-1',
    },
  },
  'wharf.manifest.deleted.v1': {
    type: 'wharf.manifest.deleted.v1',
    data: { region: 'eu-west', repository: repo, digest: D2, tags: ['latest' as Tag, '3.20' as Tag] },
  },
  'wharf.replication.done.v1': {
    type: 'wharf.replication.done.v1',
    data: { digest: D1, size: 10, sourceRegion: 'eu-west', targetRegion: 'us-east', outcome: 'copied', durationMs: 1234, attempt: 1 },
  },
  'wharf.vulnerability.found.v1': {
    type: 'wharf.vulnerability.found.v1',
    data: { region: 'eu-west', repository: repo, digest: D2, vulnerabilities: ['CVE-2023-38545', 'DSA-5000-1'] },
  },
};

describe('event ids and subjects', () => {
  const names = eventNames();
  const cases: Array<[EventInput, string, string]> = [
    [inputs['wharf.blob.written.v1'], `blob:eu-west:${D1}:u1`, 'wharf.blob.written.eu-west'],
    [inputs['wharf.blob.deleted.v1'], `blob-del:eu-west:${D1}`, 'wharf.blob.deleted.eu-west'],
    [inputs['wharf.vulnerability.found.v1'], `vuln:eu-west:${repo}@${D2}:CVE-2023-38545,DSA-5000-1`, 'wharf.vulnerability.found.eu-west'],
    [inputs['wharf.manifest.pushed.v1'], `manifest:eu-west:library/alpine@${D2}:3.20`, 'wharf.manifest.pushed.eu-west'],
    [inputs['wharf.manifest.deleted.v1'], `manifest-del:eu-west:library/alpine@${D2}`, 'wharf.manifest.deleted.eu-west'],
    [inputs['wharf.replication.done.v1'], `repl:${D1}:us-east`, 'wharf.replication.done.us-east'],
  ];
  for (const [input, id, subject] of cases) {
    it(`${input.type}: id ${id.split(':')[0]} and subject ${subject}`, () => {
      assert.equal(eventId(input), id);
      assert.equal(eventSubject(names, input), subject);
    });
  }

  it('uses "-" for an untagged manifest push', () => {
    const pushed = inputs['wharf.manifest.pushed.v1'];
    assert.ok(pushed.type === 'wharf.manifest.pushed.v1');
    const { tag: _tag, ...untagged } = pushed.data;
    assert.equal(eventId({ type: pushed.type, data: untagged }), `manifest:eu-west:library/alpine@${D2}:-`);
  });

  it('builds a wharf:// source', () => {
    assert.equal(SOURCE, 'wharf://registry/eu-west/pod-1');
  });
});

describe('createEvent / encode / decode', () => {
  for (const input of Object.values(inputs)) {
    it(`round-trips ${input.type}`, () => {
      const ev = createEvent(input, SOURCE, NOW);
      assert.deepEqual(ev, { specversion: '1.0', type: input.type, id: eventId(input), source: SOURCE, time: NOW.toISOString(), data: input.data });
      assert.deepEqual(decodeEvent(encodeEvent(ev)), ev);
    });
  }

  it('takes the fact time from the input when given', () => {
    const t = new Date('2026-01-02T03:04:05.000Z');
    assert.equal(createEvent({ ...inputs['wharf.blob.deleted.v1'], time: t } as EventInput, SOURCE, NOW).time, t.toISOString());
  });

  it('drops unknown fields but keeps optional ones only when present', () => {
    const ev = createEvent(inputs['wharf.blob.written.v1'], SOURCE, NOW);
    const doc = JSON.parse(JSON.stringify(ev));
    doc.extra = 1;
    doc.data.futureField = 'x';
    delete doc.data.mediaType;
    const back = validateEvent(doc);
    assert.equal('extra' in back, false);
    assert.equal('futureField' in back.data, false);
    assert.equal('mediaType' in back.data, false);
  });
});

describe('validateEvent rejects', () => {
  const good = (): Record<string, any> => JSON.parse(JSON.stringify(createEvent(inputs['wharf.manifest.pushed.v1'], SOURCE, NOW)));
  const cases: Array<[string, (d: Record<string, any>) => unknown, RegExp]> = [
    ['a non-object', () => 'nope', /must be an object/],
    ['null', () => null, /must be an object/],
    ['an array', () => [], /must be an object/],
    ['a wrong specversion', (d) => ({ ...d, specversion: '0.3' }), /specversion/],
    ['an unknown type', (d) => ({ ...d, type: 'wharf.blob.exploded.v1' }), /unknown event type "wharf\.blob\.exploded\.v1"/],
    ['a foreign type', (d) => ({ ...d, type: 'com.example.thing' }), /unknown event type/],
    ['an unknown version', (d) => ({ ...d, type: 'wharf.manifest.pushed.v2' }), /unsupported event version: "wharf\.manifest\.pushed\.v2" \(this node understands wharf\.manifest\.pushed\.v1\)/],
    ['a missing id', (d) => ({ ...d, id: undefined }), /id must be a string/],
    ['an empty source', (d) => ({ ...d, source: '' }), /source must be a non-empty string/],
    ['a non-RFC 3339 time', (d) => ({ ...d, time: 'March 1' }), /time must be an RFC 3339 timestamp/],
    ['a time without zone', (d) => ({ ...d, time: '2026-08-01T12:00:00' }), /time/],
    ['missing data', (d) => ({ ...d, data: undefined }), /data must be an object/],
    ['a bad region', (d) => ({ ...d, data: { ...d.data, region: 'EU.West' } }), /data\.region must be a region/],
    ['a bad digest', (d) => ({ ...d, data: { ...d.data, digest: 'md5:abc' } }), /data\.digest must be a sha256\/sha512 digest/],
    ['a bad repository', (d) => ({ ...d, data: { ...d.data, repository: 'Library/Alpine' } }), /data\.repository/],
    ['a negative size', (d) => ({ ...d, data: { ...d.data, size: -1 } }), /data\.size must be a non-negative integer \(got -1\)/],
    ['a fractional size', (d) => ({ ...d, data: { ...d.data, size: 1.5 } }), /data\.size/],
    ['a string size', (d) => ({ ...d, data: { ...d.data, size: '10' } }), /data\.size/],
    ['a bad tag', (d) => ({ ...d, data: { ...d.data, tag: '-bad' } }), /data\.tag must be a tag/],
    ['references not an array', (d) => ({ ...d, data: { ...d.data, references: {} } }), /data\.references must be an array/],
    ['a bad reference', (d) => ({ ...d, data: { ...d.data, references: [{ digest: D1, size: 1 }] } }), /data\.references\[0\]\.mediaType/],
    ['a bad subject', (d) => ({ ...d, data: { ...d.data, subject: 'sha256:x' } }), /data\.subject must be an object/],
    ['a missing actor', (d) => ({ ...d, data: { ...d.data, actor: undefined } }), /data\.actor must be a string/],
  ];
  for (const [what, mutate, msg] of cases) {
    it(what, () => {
      assert.throws(() => validateEvent(mutate(good())), (err: unknown) => {
        assert.ok(err instanceof EventValidationError);
        assert.match(err.message, msg);
        return true;
      });
    });
  }

  it('names the offending path', () => {
    const d = good();
    d.data.references[0].size = -5;
    assert.throws(() => validateEvent(d), (err: unknown) => err instanceof EventValidationError && err.path === 'data.references[0].size');
  });

  it('checks replication outcome, attempt and regions', () => {
    const r = JSON.parse(JSON.stringify(createEvent(inputs['wharf.replication.done.v1'], SOURCE, NOW)));
    assert.throws(() => validateEvent({ ...r, data: { ...r.data, outcome: 'maybe' } }), /data\.outcome must be "copied" or "already-present"/);
    assert.throws(() => validateEvent({ ...r, data: { ...r.data, attempt: 0 } }), /data\.attempt must be an integer >= 1/);
    assert.throws(() => validateEvent({ ...r, data: { ...r.data, targetRegion: 'a.b' } }), /data\.targetRegion/);
    assert.equal(validateEvent({ ...r, data: { ...r.data, outcome: 'already-present' } }).type, 'wharf.replication.done.v1');
  });

  it('checks manifest.deleted tags', () => {
    const m = JSON.parse(JSON.stringify(createEvent(inputs['wharf.manifest.deleted.v1'], SOURCE, NOW)));
    assert.throws(() => validateEvent({ ...m, data: { ...m.data, tags: ['ok', ''] } }), /data\.tags\[1\]/);
    assert.deepEqual(validateEvent({ ...m, data: { ...m.data, tags: [] } }).data, { ...m.data, tags: [] });
  });

  it('rejects bytes that are not UTF-8 JSON', () => {
    assert.throws(() => decodeEvent(new TextEncoder().encode('{oops')), /not UTF-8 JSON/);
    assert.throws(() => decodeEvent(new Uint8Array([0xff, 0xfe])), /not UTF-8 JSON/);
  });

  it('createEvent validates before anything is published', () => {
    const bad = { type: 'wharf.blob.deleted.v1', data: { region: 'eu', digest: 'sha256:zz' } } as unknown as EventInput;
    assert.throws(() => createEvent(bad, SOURCE), EventValidationError);
  });

  it('narrows data by type (compile-time check)', () => {
    const ev = decodeEvent(encodeEvent(createEvent(inputs['wharf.replication.done.v1'], SOURCE, NOW)));
    if (ev.type === 'wharf.replication.done.v1') assert.equal(ev.data.targetRegion, 'us-east');
    else assert.fail('wrong type');
  });
});
