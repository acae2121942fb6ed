import assert from 'node:assert/strict';
import { test } from 'node:test';
import YAML from 'yaml';
import { alpineRelease, looksLikeAlpineSecdb, parseAlpineSecdb, splitSecfixEntry } from './alpine-secdb.js';
import { readData, readJson } from './test-data.js';

const yaml = (rel: string) => YAML.parse(readData(rel).toString('utf8'), { schema: 'failsafe' }) as unknown;

test('v3.10 main YAML: openssl CVE-2019-1547 fixed in 1.1.1d-r0, release normalised to 3.10', () => {
  const r = parseAlpineSecdb(yaml('secdb/alpine/v3.10/main.yaml'));
  assert.equal(r.name, 'alpine-secdb:v3.10/main');
  assert.equal(r.vulnerabilities.length, 1159);
  const v = r.vulnerabilities.find((x) => x.id === 'CVE-2019-1547' && x.package.name === 'openssl')!;
  assert.deepEqual(v.ranges, [{ fixed: '1.1.1d-r0' }]);
  assert.deepEqual(v.distribution, { id: 'alpine', release: '3.10' });
  assert.equal(v.package.kind, 'source');
  assert.equal(v.format, 'apk');
  assert.equal(v.feed, 'alpine-secdb');
  assert.equal(r.vulnerabilities.filter((x) => x.package.name === 'openssl').length, 6);
});

test('ids with extra text: second ids become aliases, parenthesised notes the description', () => {
  const r = parseAlpineSecdb(yaml('secdb/alpine/v3.10/main.yaml'));
  const sdl = r.vulnerabilities.find((x) => x.id === 'CVE-2019-5060' && x.package.name === 'sdl2_image')!;
  assert.deepEqual(sdl.aliases, ['TALOS-2019-0844']);
  assert.deepEqual(sdl.ranges, [{ fixed: '2.0.5-r0' }]);
  const tcpdump = r.vulnerabilities.find((x) => x.id === 'CVE-2018-14468' && x.package.name === 'tcpdump')!;
  assert.equal(tcpdump.description, 'FrameRelay');
  assert.ok(r.vulnerabilities.every((x) => /^[A-Z]+-[\w.-]+$/.test(x.id)));
  // xen lists Xen advisories on their own too ("XSA-295"); rsync has "CVE-2017-17434-1" as written upstream.
  assert.ok(r.vulnerabilities.some((x) => x.id === 'XSA-295' && x.package.name === 'xen'));
  assert.ok(r.vulnerabilities.some((x) => x.id === 'CVE-2017-17434-1' && x.package.name === 'rsync'));
  assert.deepEqual(splitSecfixEntry('CVE-2019-1234 XSA-1'), { id: 'CVE-2019-1234', aliases: ['XSA-1'], note: '' });
  assert.equal(splitSecfixEntry('(no id)'), undefined);
});

test('the other YAML files and the release spelling', () => {
  assert.equal(parseAlpineSecdb(yaml('secdb/alpine/v3.10/community.yaml')).vulnerabilities.length, 711);
  const m311 = parseAlpineSecdb(yaml('secdb/alpine/v3.11/main.yaml'));
  assert.equal(m311.vulnerabilities.length, 1180);
  assert.ok(m311.vulnerabilities.every((v) => v.distribution?.release === '3.11'));
  assert.equal(parseAlpineSecdb(yaml('secdb/alpine/v3.11/community.yaml')).vulnerabilities.length, 885);
  assert.equal(alpineRelease('v3.10'), '3.10');
  assert.equal(alpineRelease('3.9'), '3.9');
  assert.equal(alpineRelease('edge'), 'edge');
});

test('secdb JSON: version "0" means never affected', () => {
  const r = parseAlpineSecdb(readJson('secdb/alpine/json-format/v3.15-main.truncated.claircore-fixture.json'));
  assert.equal(r.name, 'alpine-secdb:v3.15/main');
  assert.deepEqual(
    r.vulnerabilities.map((v) => `${v.package.name} ${v.id} ${v.ranges[0]!.fixed}`),
    [
      'bash CVE-2016-0634 4.4.12-r1',
      'busybox CVE-2017-15873 1.27.2-r4',
      'busybox CVE-2017-15874 1.27.2-r4',
      'busybox CVE-2017-16544 1.27.2-r4',
    ],
  );
  assert.equal(r.skipped['not-affected'], 3);
  assert.equal(parseAlpineSecdb(readJson('secdb/alpine/json-format/v3.10-community.claircore-fixture.json')).vulnerabilities.length, 9);
});

test('vuln-list one-package form (final v3.10 openssl)', () => {
  const doc = readJson('secdb/alpine/v3.10-final.vuln-list/main/openssl.json');
  assert.equal(looksLikeAlpineSecdb(doc), true);
  const r = parseAlpineSecdb(doc);
  assert.equal(r.name, 'alpine-secdb:v3.10/main');
  assert.equal(r.vulnerabilities.length, 14);
  const v = r.vulnerabilities.find((x) => x.id === 'CVE-2021-3450')!;
  assert.deepEqual(v.ranges, [{ fixed: '1.1.1k-r0' }]);
  assert.equal(v.package.name, 'openssl');
  assert.equal(parseAlpineSecdb(readJson('secdb/alpine/v3.10-final.vuln-list/main/musl.json')).vulnerabilities.length, 3);
});
