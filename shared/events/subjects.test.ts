import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  EventNameError,
  assertRegion,
  eventNames,
  isValidSubject,
  replicatorDurable,
  scannerDurable,
  subjectMatches,
} from './index.js';

describe('eventNames', () => {
  it('builds the default stream and subjects', () => {
    const n = eventNames();
    assert.equal(n.stream, 'WHARF');
    assert.deepEqual(n.streamSubjects, ['wharf.>']);
    assert.equal(n.blobWrittenSubject('eu-west'), 'wharf.blob.written.eu-west');
    assert.equal(n.blobDeletedSubject('eu-west'), 'wharf.blob.deleted.eu-west');
    assert.equal(n.manifestPushedSubject('us-east-1'), 'wharf.manifest.pushed.us-east-1');
    assert.equal(n.manifestDeletedSubject('ap'), 'wharf.manifest.deleted.ap');
    assert.equal(n.replicationDoneSubject('eu-west'), 'wharf.replication.done.eu-west');
    assert.equal(n.filter('blob.written'), 'wharf.blob.written.*');
    assert.equal(n.filter('blob.written', 'eu'), 'wharf.blob.written.eu');
    assert.deepEqual(n.replicatorFilters(), ['wharf.blob.written.*', 'wharf.manifest.pushed.*']);
    assert.deepEqual(n.scannerFilters('eu'), ['wharf.manifest.pushed.eu']);
  });

  it('applies a custom prefix to stream and subjects', () => {
    const n = eventNames('wharftest1a2b');
    assert.equal(n.stream, 'WHARFTEST1A2B');
    assert.deepEqual(n.streamSubjects, ['wharftest1a2b.>']);
    assert.equal(n.blobWrittenSubject('eu'), 'wharftest1a2b.blob.written.eu');
    assert.equal(n.ownsSubject('wharftest1a2b.blob.written.*'), true);
    assert.equal(n.ownsSubject('wharf.blob.written.*'), false);
    assert.equal(n.ownsSubject('wharftest1a2b'), false);
  });

  it('rejects prefixes that cannot be a subject token and stream name', () => {
    for (const p of ['', 'Wharf', 'a.b', 'a*', '1abc', 'x'.repeat(40), 'a b']) {
      assert.throws(() => eventNames(p), EventNameError, p);
    }
  });

  it('returns frozen objects', () => {
    assert.ok(Object.isFrozen(eventNames()));
  });
});

describe('regions and durable names', () => {
  it('accepts [a-z0-9-] region tokens only', () => {
    for (const r of ['eu', 'eu-west-1', '0', 'a-']) assert.equal(assertRegion(r), r);
    for (const r of ['', 'EU', 'eu.west', 'eu*', '>', 'eu west', 'eu_west', 'é', 'x'.repeat(64)]) {
      assert.throws(() => assertRegion(r), EventNameError, r);
      assert.throws(() => eventNames().blobWrittenSubject(r), EventNameError, r);
    }
  });

  it('builds consumer durable names', () => {
    assert.equal(replicatorDurable('eu-west'), 'replicator-eu-west');
    assert.equal(scannerDurable('us'), 'scanner-us');
    assert.throws(() => replicatorDurable('eu.west'), EventNameError);
  });
});

describe('subject matching', () => {
  const cases: Array<[string, string, boolean]> = [
    ['wharf.blob.written.eu', 'wharf.blob.written.eu', true],
    ['wharf.blob.written.eu', 'wharf.blob.written.us', false],
    ['wharf.blob.written.*', 'wharf.blob.written.eu', true],
    ['wharf.blob.written.*', 'wharf.blob.written', false],
    ['wharf.blob.written.*', 'wharf.blob.written.eu.x', false],
    ['wharf.*.written.eu', 'wharf.blob.written.eu', true],
    ['wharf.>', 'wharf.blob.written.eu', true],
    ['wharf.>', 'wharf', false],
    ['wharf.blob.>', 'wharf.blob.deleted.eu', true],
    ['wharf.blob.>', 'wharf.manifest.pushed.eu', false],
    ['>', 'anything.at.all', true],
    ['*', 'one', true],
    ['*', 'one.two', false],
    ['wharf.blob.written.eu', 'wharf.blob.written', false],
  ];
  for (const [filter, subject, want] of cases) {
    it(`${filter} ${want ? 'matches' : 'does not match'} ${subject}`, () => {
      assert.equal(subjectMatches(filter, subject), want);
    });
  }

  it('validates subjects and filters', () => {
    for (const s of ['a', 'a.b', 'a.*', 'a.>', '*.b', '>']) assert.equal(isValidSubject(s), true, s);
    for (const s of ['', 'a..b', '.a', 'a.', 'a.>.b', 'a.b*', 'a.b>', 'a b']) assert.equal(isValidSubject(s), false, s);
  });
});
