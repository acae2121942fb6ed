import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cvss3BaseScore } from './common.js';
import { looksLikeOval, parseOval } from './oval.js';
import { readData } from './test-data.js';

const rhelFull = readData('rhel/oval/rhel-8.oval.subset-2020-03-19.xml.gz').toString('utf8');
const mariner = readData('mariner/cbl-mariner-2.0-oval.2023-12-31.xml.gz').toString('utf8');

test('RHEL 8 abbreviated OVAL (definitions only): packages from criterion comments, module streams kept', () => {
  const r = parseOval(readData('rhel/oval/rhel-8.oval_abbreviated.xml').toString('utf8'));
  assert.equal(r.name, 'rhel-oval:8');
  assert.equal(r.vulnerabilities.length, 39);
  const softhsm = r.vulnerabilities.find((v) => v.id === 'RHBA-2019:4268' && v.package.name === 'softhsm')!;
  assert.deepEqual(softhsm.ranges, [{ fixed: '0:2.4.0-2.module+el8.1.0+4098+f286395e' }]);
  assert.equal(softhsm.package.module, 'idm:DL1');
  assert.deepEqual(softhsm.distribution, { id: 'rhel', release: '8' });
  assert.deepEqual(softhsm.aliases, ['CVE-2019-10195', 'CVE-2019-14867']);
  assert.equal(softhsm.sourceSeverity, 'None');
  assert.equal(softhsm.severity, 'Unknown');
  assert.equal(softhsm.link, 'https://access.redhat.com/errata/RHBA-2019:4268');
  const ipa = r.vulnerabilities.find((v) => v.id === 'RHBA-2019:4268' && v.package.name === 'ipa-server')!;
  assert.deepEqual(ipa.ranges, [{ fixed: '0:4.8.0-13.module+el8.1.0+4923+c6efe041' }]);
  const nodejs = r.vulnerabilities.filter((v) => v.id === 'RHEA-2020:0330');
  assert.ok(nodejs.length > 0);
  assert.ok(nodejs.every((v) => v.package.module === 'nodejs:12'));
  // the "Red Hat Enterprise Linux must be installed" / "is signed with" criteria are not packages
  assert.ok(!r.vulnerabilities.some((v) => / /.test(v.package.name)));
});

test('RHEL 8 OVAL subset: RHSA with its package EVRs resolved through tests, objects and states', () => {
  const r = parseOval(rhelFull);
  assert.equal(r.name, 'rhel-oval:8');
  assert.equal(r.vulnerabilities.length, 2835);
  assert.equal(new Set(r.vulnerabilities.map((v) => v.id)).size, 181);
  assert.deepEqual(r.skipped, {});
  const ibm = r.vulnerabilities.filter((v) => v.id === 'RHSA-2020:0046');
  assert.deepEqual(
    ibm.map((v) => v.package.name),
    [
      'java-1.8.0-ibm',
      'java-1.8.0-ibm-demo',
      'java-1.8.0-ibm-devel',
      'java-1.8.0-ibm-headless',
      'java-1.8.0-ibm-jdbc',
      'java-1.8.0-ibm-plugin',
      'java-1.8.0-ibm-src',
      'java-1.8.0-ibm-webstart',
    ],
  );
  for (const v of ibm) {
    assert.deepEqual(v.ranges, [{ fixed: '1:1.8.0.6.0-3.el8_1' }]);
    assert.equal(v.severity, 'Medium');
    assert.equal(v.sourceSeverity, 'Moderate');
    assert.equal(v.aliases.length, 14);
    assert.ok(v.aliases.includes('CVE-2019-17631'));
    assert.equal(v.published, '2020-01-07');
    assert.equal(v.package.module, undefined);
    assert.equal(v.format, 'rpm');
    assert.equal(v.package.kind, 'binary');
  }
  const ds = r.vulnerabilities.find((v) => v.id === 'RHSA-2019:3401' && v.package.name === '389-ds-base')!;
  assert.equal(ds.package.module, '389-ds:1.4');
  assert.deepEqual(ds.ranges, [{ fixed: '0:1.4.1.3-7.module+el8.1.0+4150+5b8c2c1f' }]);
  const sev = new Set(r.vulnerabilities.map((v) => v.sourceSeverity));
  assert.deepEqual([...sev].sort(), ['Critical', 'Important', 'Low', 'Moderate', 'None']);
});

test('Mariner 2.0 OVAL: less than → fixed, less than or equal → lastAffected', () => {
  const r = parseOval(mariner, { fileName: 'cbl-mariner-2.0-oval.xml' });
  assert.equal(r.name, 'mariner-oval:2.0');
  assert.equal(r.vulnerabilities.length, 2379);
  assert.equal(r.vulnerabilities.filter((v) => v.ranges.some((x) => x.lastAffected)).length, 254);
  const strongswan = r.vulnerabilities.find((v) => v.id === 'CVE-2023-41913')!;
  assert.deepEqual(strongswan.package, { name: 'strongswan', kind: 'binary' });
  assert.deepEqual(strongswan.ranges, [{ fixed: '0:5.9.10-3.cm2' }]);
  assert.equal(strongswan.severity, 'Critical');
  assert.deepEqual(strongswan.distribution, { id: 'mariner', release: '2.0' });
  assert.equal(strongswan.link, 'https://nvd.nist.gov/vuln/detail/CVE-2023-41913');
  const syslinux = r.vulnerabilities.find((v) => v.id === 'CVE-2022-3857' && v.package.name === 'syslinux')!;
  assert.deepEqual(syslinux.ranges, [{ lastAffected: '0:6.04-10.cm2' }]);
  assert.equal(syslinux.feed, 'mariner-oval');
  // without a file name the ".cm2" dist tag still says 2.0
  assert.equal(parseOval(mariner).name, 'mariner-oval:2.0');
});

test('OVAL root detection', () => {
  assert.equal(looksLikeOval(rhelFull.slice(0, 2000)), true);
  assert.equal(looksLikeOval(mariner.slice(0, 2000)), true);
  assert.equal(looksLikeOval('<?xml version="1.0"?><rss></rss>'), false);
});

test('CVSS v3 base score matches every score/vector pair Red Hat publishes in the OVAL subset', () => {
  const pairs = [...rhelFull.matchAll(/cvss3="([\d.]+)\/(CVSS:3\.[01]\/[^"]+)"/g)];
  assert.ok(pairs.length > 300);
  for (const [, score, vector] of pairs) assert.equal(cvss3BaseScore(vector!), Number(score), vector);
  assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H'), 10);
  assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N'), 0);
  assert.equal(cvss3BaseScore('CVSS:2.0/AV:N'), undefined);
  assert.equal(cvss3BaseScore('CVSS:3.1/AV:N/AC:L'), undefined);
});
