import assert from 'node:assert/strict';
import { test } from 'node:test';
import { debianUrgency, looksLikeDebianTracker, parseDebianTracker } from './debian-tracker.js';
import { readJson } from './test-data.js';

const doc = readJson('debian/tracker-json/subset.vunnel-fixture.json');

test('tracker subset: one record per (CVE, source package, release), "0" fixes and empty releases dropped', () => {
  const r = parseDebianTracker(doc);
  assert.equal(r.name, 'debian-tracker');
  // 7 CVE entries: prototypejs 4 + 0 (all fixed_version "0"), txt2man 4, backupninja 4, chromium 5, sope 4,
  // chromium-browser 0 (releases: []).
  assert.equal(r.vulnerabilities.length, 21);
  assert.deepEqual(r.skipped, { 'not-affected': 4, 'no-releases': 1 });
  assert.ok(!r.vulnerabilities.some((v) => v.id === 'CVE-2007-2383'));
  for (const v of r.vulnerabilities) {
    assert.equal(v.format, 'dpkg');
    assert.equal(v.feed, 'debian-tracker');
    assert.equal(v.package.kind, 'source');
    assert.equal(v.distribution?.id, 'debian');
    assert.equal(v.link, `https://security-tracker.debian.org/tracker/${v.id}`);
  }
});

test('tracker subset: bookworm fix for sope, open end-of-life entries for chromium', () => {
  const r = parseDebianTracker(doc);
  const sope = r.vulnerabilities.find(
    (v) => v.id === 'CVE-2025-53603' && v.package.name === 'sope' && v.distribution?.release === 'bookworm',
  );
  assert.ok(sope);
  assert.deepEqual(sope.ranges, [{ fixed: '5.8.0-1+deb12u1' }]);
  assert.equal(sope.severity, 'Unknown');
  assert.equal(sope.sourceSeverity, 'not yet assigned');
  assert.match(sope.description, /NULL pointer dereference/);

  const chromium = r.vulnerabilities.filter((v) => v.id === 'CVE-2022-0456');
  assert.deepEqual(chromium.map((v) => v.distribution?.release).sort(), ['bookworm', 'bullseye', 'buster', 'sid', 'stretch']);
  const buster = chromium.find((v) => v.distribution?.release === 'buster')!;
  assert.deepEqual(buster.ranges, [{}]);
  assert.equal(buster.sourceSeverity, 'end-of-life');
  assert.equal(buster.severity, 'Unknown');
  assert.deepEqual(chromium.find((v) => v.distribution?.release === 'bullseye')!.ranges, [
    { fixed: '98.0.4758.80-1~deb11u1' },
  ]);
});

test('tracker urgencies, "**" (unconfirmed) rated like the plain value', () => {
  const r = parseDebianTracker(doc);
  const txt2man = r.vulnerabilities.find((v) => v.id === 'CVE-2013-1444' && v.distribution?.release === 'sid')!;
  assert.equal(txt2man.severity, 'Low');
  assert.equal(txt2man.sourceSeverity, 'low**');
  const proto = r.vulnerabilities.find((v) => v.id === 'CVE-2008-7220')!;
  assert.equal(proto.severity, 'High');
  assert.equal(r.vulnerabilities.find((v) => v.id === 'CVE-2005-3111')!.severity, 'Medium');
  assert.equal(debianUrgency('unimportant'), 'Negligible');
  assert.equal(debianUrgency('not yet assigned'), 'Unknown');
  assert.equal(debianUrgency(undefined), 'Unknown');
});

test('tracker shape test', () => {
  assert.equal(looksLikeDebianTracker(doc), true);
  assert.equal(looksLikeDebianTracker(readJson('osv/npm/GHSA-hrpp-h998-j3pp.json')), false);
  assert.equal(looksLikeDebianTracker(readJson('secdb/alpine/json-format/v3.10-community.claircore-fixture.json')), false);
  assert.deepEqual(parseDebianTracker([1, 2]).vulnerabilities, []);
});
