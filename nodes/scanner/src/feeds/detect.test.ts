import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  FeedError,
  FeedTooLargeError,
  MalformedFeedError,
  UnknownFeedFormatError,
  parseFeedFile,
} from './detect.js';
import { dataPath } from './test-data.js';

const summary = async (rel: string) =>
  (await parseFeedFile(dataPath(rel))).map((f) => `${f.name}=${f.vulnerabilities.length}`);

test('every feed file in the corpus is recognised from its content', async () => {
  const expected: Record<string, string[]> = {
    'debian/tracker-json/subset.vunnel-fixture.json': ['debian-tracker=21'],
    'debian/security-tracker-data/DSA-list': ['debian-dsa=6933'],
    'debian/security-tracker-data/DLA-list': ['debian-dla=3535'],
    'debian/security-tracker-data/DSA-list.vunnel-sample': ['debian-dsa=9'],
    'secdb/alpine/v3.10/main.yaml': ['alpine-secdb:v3.10/main=1159'],
    'secdb/alpine/v3.10/community.yaml': ['alpine-secdb:v3.10/community=711'],
    'secdb/alpine/v3.11/main.yaml': ['alpine-secdb:v3.11/main=1180'],
    'secdb/alpine/v3.11/community.yaml': ['alpine-secdb:v3.11/community=885'],
    'secdb/alpine/json-format/v3.10-community.claircore-fixture.json': ['alpine-secdb:v3.10/community=9'],
    'secdb/alpine/json-format/v3.15-main.truncated.claircore-fixture.json': ['alpine-secdb:v3.15/main=4'],
    'secdb/alpine/v3.10-final.vuln-list/main/openssl.json': ['alpine-secdb:v3.10/main=14'],
    'secdb/alpine/v3.10-final.vuln-list/main/musl.json': ['alpine-secdb:v3.10/main=3'],
    'secdb/alpine/v3.10-final.vuln-list/main/busybox.json': ['alpine-secdb:v3.10/main=7'],
    'secdb/alpine/v3.10-final.vuln-list/main/apk-tools.json': ['alpine-secdb:v3.10/main=4'],
    'rhel/oval/rhel-8.oval_abbreviated.xml': ['rhel-oval:8=39'],
    'rhel/oval/rhel-8.oval.subset-2020-03-19.xml.gz': ['rhel-oval:8=2835'],
    'mariner/cbl-mariner-2.0-oval.2023-12-31.xml.gz': ['mariner-oval:2.0=2379'],
    'rhel/csaf-vex/cve-2023-38545.json': ['rhel-vex:CVE-2023-38545=20'],
    'rhel/csaf-vex/cve-2023-4154.json': ['rhel-vex:CVE-2023-4154=0'],
    'rhel/csaf-vex/cve-2024-24786-simple.json': ['rhel-vex:CVE-2024-24786=0'],
    'rhel/csaf-vex/rhsa-2022-0011.csaf.json': ['rhel-csaf:RHSA-2022:0011=3'],
    'osv/npm/GHSA-hrpp-h998-j3pp.json': ['osv:npm=1'],
    'osv/npm/GHSA-p6mc-m468-83gw.json': ['osv:npm=2'],
    'osv/npm/GHSA-8hfj-j24r-96c4.json': ['osv:npm=1'],
    'osv/npm/GHSA-r683-j2x4-v87g.json': ['osv:npm=1'],
    'osv/npm/GHSA-vh95-rmgr-6w4m.json': ['osv:npm=1'],
    'osv/npm/GHSA-6fc8-4gx4-v693.json': ['osv:npm=1'],
    'osv/go/GO-2021-0053.json': ['osv:Go=1'],
    'osv/go/GO-2022-1144.json': ['osv:Go=2'],
    'osv/go/GO-2023-1558.json': ['osv:Go=1'],
    'osv/go/GO-2024-2887.json': ['osv:Go=1'],
    'osv/go/GO-2024-2937.json': ['osv:Go=1'],
    'osv/pypi/selected/flask/PYSEC-2023-62.yaml': ['osv:PyPI=1'],
    'osv/pypi/selected/requests/PYSEC-2023-74.yaml': ['osv:PyPI=1'],
  };
  for (const [rel, want] of Object.entries(expected)) assert.deepEqual(await summary(rel), want, rel);
});

test('the full PyPI advisory database tarball (gzip → tar → YAML entries) merges into one feed', async () => {
  const feeds = await parseFeedFile(dataPath('osv/pypi/pypa-advisory-database-vulns.tar.gz'));
  assert.equal(feeds.length, 1);
  const [pypi] = feeds;
  assert.equal(pypi!.name, 'osv:PyPI');
  assert.equal(pypi!.vulnerabilities.length, 2651);
  assert.equal(pypi!.skipped['withdrawn'], 10);
  assert.equal(pypi!.skipped['archive-entry:unknown-format'], 1); // vulns/.id-allocator
  assert.equal(new Set(pypi!.vulnerabilities.map((v) => v.package.name.toLowerCase())).size > 600, true);
  // the same record as the verbatim copy in selected/
  const [single] = await parseFeedFile(dataPath('osv/pypi/selected/urllib3/PYSEC-2023-192.yaml'));
  assert.deepEqual(
    pypi!.vulnerabilities.find((v) => v.id === 'PYSEC-2023-192'),
    single!.vulnerabilities[0],
  );
  const jinja = pypi!.vulnerabilities.find((v) => v.id === 'PYSEC-2019-217')!;
  assert.equal(jinja.package.name, 'jinja2');
});

test('bytes input, and gzip of a feed is transparent', async () => {
  const bytes = readFileSync(dataPath('osv/npm/GHSA-r683-j2x4-v87g.json'));
  const plain = await parseFeedFile({ name: 'x', bytes });
  const gz = await parseFeedFile({ name: 'x.gz', bytes: gzipSync(bytes) });
  assert.deepEqual(gz, plain);
});

test('bad input gives typed errors naming the file', async () => {
  const gz = readFileSync(dataPath('mariner/cbl-mariner-2.0-oval.2023-12-31.xml.gz'));
  await assert.rejects(parseFeedFile({ name: 'truncated.xml.gz', bytes: gz.subarray(0, gz.length >> 1) }), (e) => {
    assert.ok(e instanceof MalformedFeedError);
    assert.match((e as Error).message, /truncated\.xml\.gz/);
    return true;
  });
  await assert.rejects(parseFeedFile({ name: 'random.bin', bytes: randomBytes(4096) }), UnknownFeedFormatError);
  // real files that are not feeds
  for (const rel of [
    'rhel/ubi8.os-release',
    'mariner/os-release',
    'pkgdb/rpm/rhel8-libuuid.Packages',
    'layers/alpine-3.10.4.docker-save.tar.gz', // manifest.json, config JSON, layer.tar: no feed inside
    'versions/semver-versions.osv-scalibr.txt',
  ])
    await assert.rejects(parseFeedFile(dataPath(rel)), (e) => {
      assert.ok(e instanceof UnknownFeedFormatError, `${rel}: ${String(e)}`);
      assert.equal((e as UnknownFeedFormatError).file.endsWith(rel), true);
      return true;
    });
  await assert.rejects(
    parseFeedFile({ name: 'pkg.json', bytes: readFileSync(new URL('../../../../package.json', import.meta.url)) }),
    UnknownFeedFormatError,
  );
  const json = readFileSync(dataPath('rhel/csaf-vex/cve-2023-4154.json'));
  await assert.rejects(parseFeedFile({ name: 'cut.json', bytes: json.subarray(0, 5000) }), MalformedFeedError);
  const layer = readFileSync(dataPath('layers/debian-bookworm-minbase.dpkgdb.layer.tar'));
  await assert.rejects(parseFeedFile({ name: 'cut.tar', bytes: layer.subarray(0, 3000) }), FeedError);
  await assert.rejects(parseFeedFile({ name: 'empty', bytes: new Uint8Array(0) }), UnknownFeedFormatError);
});

test('a decompressed document over the bound is refused', async () => {
  const rel = 'rhel/oval/rhel-8.oval.subset-2020-03-19.xml.gz';
  await assert.rejects(parseFeedFile(dataPath(rel), { maxBytes: 1024 * 1024 }), (e) => {
    assert.ok(e instanceof FeedTooLargeError);
    assert.equal((e as FeedTooLargeError).limit, 1024 * 1024);
    return true;
  });
  await assert.rejects(
    parseFeedFile(dataPath('osv/pypi/pypa-advisory-database-vulns.tar.gz'), { maxBytes: 64 * 1024 }),
    FeedTooLargeError,
  );
});
