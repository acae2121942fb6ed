import assert from 'node:assert/strict';
import { test } from 'node:test';
import { looksLikeDebianAdvisoryList, parseDebianAdvisoryList } from './debian-dsa.js';
import { readData } from './test-data.js';

const text = (rel: string) => readData(rel).toString('utf8');

test('vunnel DSA sample: per (advisory, release, package), entries without CVE or packages', () => {
  const r = parseDebianAdvisoryList(text('debian/security-tracker-data/DSA-list.vunnel-sample'));
  assert.equal(r.name, 'debian-dsa');
  assert.equal(r.vulnerabilities.length, 9);
  // DSA-2819-1 (no lines), DSA-3281-1 (key notice), DSA-4205-1 (NOTE only)
  assert.deepEqual(r.skipped, { 'advisory-without-packages': 3 });
  const libpng = r.vulnerabilities.filter((v) => v.id === 'DSA-140');
  assert.deepEqual(libpng.map((v) => v.package.name).sort(), ['libpng', 'libpng3']);
  for (const v of libpng) {
    assert.deepEqual(v.aliases, ['CVE-2002-0660', 'CVE-2002-0728']);
    assert.equal(v.distribution?.release, 'woody');
    assert.equal(v.published, '2002-08-05');
    assert.equal(v.description, 'buffer overflow');
  }
  assert.deepEqual(libpng.find((v) => v.package.name === 'libpng3')!.ranges, [{ fixed: '1.2.1-1.1.woody.2' }]);
  const sope = r.vulnerabilities.find((v) => v.id === 'DSA-5970-1')!;
  assert.deepEqual(sope.distribution, { id: 'debian', release: 'bookworm' });
  assert.deepEqual(sope.ranges, [{ fixed: '5.8.0-1+deb12u1' }]);
  assert.deepEqual(sope.aliases, ['CVE-2025-53603']);
  const openjpeg = r.vulnerabilities.filter((v) => v.id === 'DSA-2808-2');
  assert.deepEqual(openjpeg.map((v) => v.distribution?.release).sort(), ['squeeze', 'wheezy']);
  assert.deepEqual(openjpeg[0]!.aliases, []);
  assert.equal(r.vulnerabilities.find((v) => v.id === 'DSA-4323-1')!.package.name, 'drupal7');
});

test('full DSA list: counts, urgencies in notes, <not-affected> dropped, <unfixed>/<end-of-life> open', () => {
  const r = parseDebianAdvisoryList(text('debian/security-tracker-data/DSA-list'));
  assert.equal(r.vulnerabilities.length, 6933);
  assert.equal(r.skipped['not-affected'], 55);
  assert.equal(r.skipped['unparsed-line'], undefined);
  const xorg = r.vulnerabilities.find((v) => v.id === 'DSA-5380-1')!;
  assert.deepEqual(xorg.ranges, [{ fixed: '2:1.20.11-1+deb11u6' }]);
  assert.deepEqual(xorg.aliases, ['CVE-2023-1393']);
  assert.equal(xorg.distribution?.release, 'bullseye');
  const affix = r.vulnerabilities.find((v) => v.id === 'DSA-762-1' && v.package.name === 'affix')!;
  assert.equal(affix.severity, 'Medium');
  assert.equal(affix.sourceSeverity, 'medium');
  assert.ok(!r.vulnerabilities.some((v) => v.package.name === 'spamassassin' && v.ranges.length === 0));
  const eol = r.vulnerabilities.find((v) => v.id === 'DSA-3389-1' && v.package.name === 'elasticsearch')!;
  assert.deepEqual(eol.ranges, [{}]);
  // openssl DSA-136: three source packages in one advisory
  assert.deepEqual(
    r.vulnerabilities.filter((v) => v.id === 'DSA-136').map((v) => v.package.name).sort(),
    ['openssl', 'openssl094', 'openssl095'],
  );
  assert.ok(r.vulnerabilities.every((v) => v.feed === 'debian-dsa' && v.format === 'dpkg'));
});

test('full DLA list', () => {
  const r = parseDebianAdvisoryList(text('debian/security-tracker-data/DLA-list'));
  assert.equal(r.name, 'debian-dla');
  assert.equal(r.vulnerabilities.length, 3535);
  const sd = r.vulnerabilities.find((v) => v.id === 'DLA-3377-1')!;
  assert.deepEqual(sd.ranges, [{ fixed: '241-7~deb10u9' }]);
  assert.deepEqual(sd.distribution, { id: 'debian', release: 'buster' });
  assert.equal(sd.feed, 'debian-dla');
  assert.equal(r.vulnerabilities.find((v) => v.id === 'DLA-0003-1')!.aliases.length, 5);
});

test('DSA/DLA list shape test', () => {
  assert.equal(looksLikeDebianAdvisoryList(text('debian/security-tracker-data/DLA-list')), true);
  assert.equal(looksLikeDebianAdvisoryList('[{"a": 1}]'), false);
  assert.equal(looksLikeDebianAdvisoryList(text('rhel/ubi8.os-release')), false);
});
