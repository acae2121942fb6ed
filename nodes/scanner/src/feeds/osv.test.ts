import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { looksLikeOsv, parseOsvDocument, parseOsvDocuments, rangesFromEvents } from './osv.js';
import { dataPath, readData, readJson } from './test-data.js';

const one = (rel: string) => {
  const skipped: Record<string, number> = {};
  const byEco = parseOsvDocument(readJson(rel), skipped);
  return { vs: [...byEco.values()].flat(), skipped };
};

test('GHSA qs: nine affected entries for one package → one record with nine ranges', () => {
  const { vs } = one('osv/npm/GHSA-hrpp-h998-j3pp.json');
  assert.equal(vs.length, 1);
  const v = vs[0]!;
  assert.equal(v.id, 'GHSA-hrpp-h998-j3pp');
  assert.deepEqual(v.aliases, ['CVE-2022-24999']);
  assert.deepEqual(v.package, { name: 'qs', kind: 'binary' });
  assert.equal(v.format, 'npm');
  assert.equal(v.ranges.length, 9);
  assert.deepEqual(v.ranges[0], { introduced: '6.10.0', fixed: '6.10.3' });
  assert.deepEqual(v.ranges[5], { introduced: '6.5.0', fixed: '6.5.3' });
  assert.deepEqual(v.ranges[8], { fixed: '6.2.4' });
  assert.equal(v.severity, 'High');
  assert.equal(v.sourceSeverity, 'HIGH');
  assert.equal(v.link, 'https://nvd.nist.gov/vuln/detail/CVE-2022-24999'); // its ADVISORY reference
  assert.equal(v.published, '2022-11-27T00:30:50Z');
  assert.equal(v.distribution, undefined);
  // without an ADVISORY reference the link is osv.dev's page
  assert.equal(one('osv/go/GO-2024-2887.json').vs[0]!.link, 'https://osv.dev/vulnerability/GO-2024-2887');
});

test('GHSA node-fetch keeps the non-semver introduced "1.0"; moment skips its NuGet entry', () => {
  const nf = one('osv/npm/GHSA-r683-j2x4-v87g.json').vs[0]!;
  assert.deepEqual(nf.ranges, [{ introduced: '1.0', fixed: '3.1.1' }, { fixed: '2.6.7' }]);
  const moment = one('osv/npm/GHSA-8hfj-j24r-96c4.json');
  assert.deepEqual(moment.vs.map((v) => v.package.name), ['moment']);
  assert.deepEqual(moment.skipped, { 'ecosystem:NuGet': 1 });
  const lodash = one('osv/npm/GHSA-p6mc-m468-83gw.json').vs;
  assert.deepEqual(lodash.map((v) => v.package.name), ['lodash', 'lodash-es']);
  const ws = one('osv/npm/GHSA-6fc8-4gx4-v693.json').vs[0]!;
  assert.equal(ws.severity, 'Medium'); // database_specific MODERATE
});

test('Go vulndb: SEMVER ranges with several introduced/fixed pairs, no severity', () => {
  const { vs } = one('osv/go/GO-2022-1144.json');
  assert.deepEqual(vs.map((v) => v.package.name), ['stdlib', 'golang.org/x/net']);
  assert.deepEqual(vs[0]!.ranges, [{ fixed: '1.18.9' }, { introduced: '1.19.0-0', fixed: '1.19.4' }]);
  assert.equal(vs[0]!.format, 'go');
  assert.equal(vs[0]!.severity, 'Unknown');
  assert.deepEqual(vs[0]!.aliases, ['CVE-2022-41717', 'GHSA-xrjj-mj9h-534m']);
  const gogo = one('osv/go/GO-2021-0053.json').vs[0]!;
  assert.deepEqual(gogo.ranges, [{ fixed: '1.3.2' }]);
});

test('PYSEC urllib3 (selected/): ECOSYSTEM ranges + explicit versions, GIT skipped, CVSS-derived severity', () => {
  const doc = YAML.parse(readData('osv/pypi/selected/urllib3/PYSEC-2023-192.yaml').toString('utf8'), {
    schema: 'failsafe',
  }) as unknown;
  assert.equal(looksLikeOsv(doc), true);
  const skipped: Record<string, number> = {};
  const v = [...parseOsvDocument(doc, skipped).values()].flat()[0]!;
  assert.deepEqual(skipped, { 'range:GIT': 1 });
  assert.equal(v.id, 'PYSEC-2023-192');
  assert.equal(v.format, 'pypi');
  assert.deepEqual(v.ranges.slice(0, 2), [{ introduced: '2.0.0', fixed: '2.0.6' }, { fixed: '1.26.17' }]);
  const listed = ((doc as { affected: { versions: string[] }[] }).affected[0]!.versions).length;
  assert.equal(listed, 85);
  assert.equal(v.ranges.length, 2 + listed);
  assert.ok(v.ranges.some((r) => r.introduced === '1.10' && r.lastAffected === '1.10')); // "1.10", not 1.1
  assert.equal(v.sourceSeverity, 'CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N'); // 8.1
  assert.equal(v.severity, 'High');
  assert.equal(v.link, 'https://github.com/urllib3/urllib3/security/advisories/GHSA-v845-jxx5-vc9f');
  assert.deepEqual(v.aliases, ['CVE-2023-43804', 'GHSA-v845-jxx5-vc9f']);
});

test('every selected/ PYSEC file parses to exactly one PyPI record named after its folder', () => {
  const root = dataPath('osv/pypi/selected');
  const docs: unknown[] = [];
  const expect: string[] = [];
  for (const pkg of readdirSync(root))
    for (const f of readdirSync(join(root, pkg))) {
      docs.push(YAML.parse(readData(`osv/pypi/selected/${pkg}/${f}`).toString('utf8'), { schema: 'failsafe' }));
      expect.push(`${pkg}/${f.replace(/\.yaml$/, '')}`);
    }
  const [feed, ...rest] = parseOsvDocuments(docs);
  assert.equal(rest.length, 0);
  assert.equal(feed!.name, 'osv:PyPI');
  assert.equal(feed!.vulnerabilities.length, 48);
  assert.deepEqual(
    feed!.vulnerabilities.map((v) => `${v.package.name.toLowerCase()}/${v.id}`).sort(),
    expect.sort(),
  );
  assert.ok(feed!.vulnerabilities.every((v) => v.ranges.length > 0));
});

test('event lists', () => {
  assert.deepEqual(rangesFromEvents([{ introduced: '0' }]), [{}]);
  assert.deepEqual(rangesFromEvents([{ introduced: '1.0' }, { last_affected: '1.4' }]), [
    { introduced: '1.0', lastAffected: '1.4' },
  ]);
  assert.deepEqual(rangesFromEvents([{ introduced: '0' }, { fixed: '1' }, { introduced: '2' }]), [
    { fixed: '1' },
    { introduced: '2' },
  ]);
});

test('GHSA nokogiri (RubyGems): ecosystem RubyGems → format gem, one ECOSYSTEM range', () => {
  // testdata/GHSA-pxvg-2qj5-37jq.json is github/advisory-database
  // advisories/github-reviewed/2023/04/GHSA-pxvg-2qj5-37jq/GHSA-pxvg-2qj5-37jq.json (commit
  // 978594ecb8a1f8354656879ba772495f8a215760), verbatim: GitHub advisory data, licensed CC-BY-4.0.
  const doc = JSON.parse(readFileSync(new URL('./testdata/GHSA-pxvg-2qj5-37jq.json', import.meta.url), 'utf8')) as unknown;
  assert.equal(looksLikeOsv(doc), true);
  const skipped: Record<string, number> = {};
  const byEco = parseOsvDocument(doc, skipped);
  assert.deepEqual([...byEco.keys()], ['RubyGems']);
  assert.deepEqual(skipped, {});
  const vs = byEco.get('RubyGems')!;
  assert.equal(vs.length, 1);
  const v = vs[0]!;
  assert.equal(v.id, 'GHSA-pxvg-2qj5-37jq');
  assert.equal(v.format, 'gem');
  assert.equal(v.feed, 'osv');
  assert.deepEqual(v.package, { name: 'nokogiri', kind: 'binary' });
  assert.deepEqual(v.ranges, [{ fixed: '1.14.3' }]);
  assert.deepEqual(v.aliases, []);
  assert.equal(v.severity, 'Medium'); // database_specific MODERATE
  assert.equal(v.sourceSeverity, 'MODERATE');
  assert.equal(v.link, 'https://osv.dev/vulnerability/GHSA-pxvg-2qj5-37jq'); // only WEB/PACKAGE references
  assert.equal(v.published, '2023-04-11T21:48:01Z');
  assert.equal(v.distribution, undefined);
  const [feed, ...rest] = parseOsvDocuments([doc]);
  assert.equal(rest.length, 0);
  assert.equal(feed!.name, 'osv:RubyGems');
  assert.equal(feed!.vulnerabilities.length, 1);
});
