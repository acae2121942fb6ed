import assert from 'node:assert/strict';
import { test } from 'node:test';
import { componentFromProductId, componentFromPurl, looksLikeCsaf, parseCsaf, rhelReleaseFromCpe } from './csaf-vex.js';
import { readJson } from './test-data.js';

test('VEX CVE-2023-38545 (curl): fixed EVRs per RHEL release, EUS streams apart, layered products skipped', () => {
  const r = parseCsaf(readJson('rhel/csaf-vex/cve-2023-38545.json'));
  assert.equal(r.name, 'rhel-vex:CVE-2023-38545');
  assert.equal(r.vulnerabilities.length, 20);
  assert.deepEqual(r.skipped, {
    'layered-product': 30,
    'src-rpm': 6,
    'no-relationship': 1,
    'status:known_not_affected': 247,
  });
  const curl9 = r.vulnerabilities.find((v) => v.package.name === 'curl' && v.distribution?.release === '9')!;
  assert.deepEqual(curl9.ranges, [{ fixed: '0:7.76.1-23.el9_2.4' }, { fixed: '0:7.76.1-26.el9_3.2' }]);
  assert.deepEqual(curl9.aliases, ['RHSA-2023:5763', 'RHSA-2023:6745']);
  assert.equal(curl9.severity, 'High');
  assert.equal(curl9.sourceSeverity, 'Important');
  assert.equal(curl9.feed, 'rhel-vex');
  assert.equal(curl9.link, 'https://access.redhat.com/security/cve/CVE-2023-38545');
  assert.match(curl9.description, /SOCKS5/);
  const curl90 = r.vulnerabilities.find((v) => v.package.name === 'curl' && v.distribution?.release === '9.0')!;
  assert.deepEqual(curl90.ranges, [{ fixed: '0:7.76.1-14.el9_0.9' }]);
  assert.deepEqual(curl90.aliases, ['RHSA-2023:5700']);
  assert.ok(r.vulnerabilities.some((v) => v.package.name === 'libcurl-minimal'));
  // RHEL 6/7/8 curl are known_not_affected: no records
  assert.ok(!r.vulnerabilities.some((v) => ['6', '7', '8'].includes(v.distribution!.release)));
});

test('VEX documents with nothing affected, and layered products on request', () => {
  const samba = parseCsaf(readJson('rhel/csaf-vex/cve-2023-4154.json'));
  assert.equal(samba.vulnerabilities.length, 0);
  assert.equal(samba.skipped['status:known_not_affected'], 165);
  const proto = readJson('rhel/csaf-vex/cve-2024-24786-simple.json');
  assert.equal(parseCsaf(proto).vulnerabilities.length, 0);
  const layered = parseCsaf(proto, { includeLayered: true });
  assert.equal(layered.vulnerabilities.length, 1);
  const v = layered.vulnerabilities[0]!;
  assert.equal(v.package.name, 'cri-tools');
  assert.deepEqual(v.ranges, [{ fixed: '0:1.29.0-3.1.el9' }]);
  assert.deepEqual(v.distribution, { id: 'rhel', release: '9' });
  assert.equal(v.severity, 'Medium');
});

test('CSAF advisory RHSA-2022:0011: bare NEVRA product ids, AUS/E4S/TUS 7.6', () => {
  const doc = readJson('rhel/csaf-vex/rhsa-2022-0011.csaf.json');
  assert.equal(looksLikeCsaf(doc), true);
  const r = parseCsaf(doc);
  assert.equal(r.name, 'rhel-csaf:RHSA-2022:0011');
  assert.deepEqual(
    r.vulnerabilities.map((v) => v.package.name),
    ['telnet', 'telnet-debuginfo', 'telnet-server'],
  );
  for (const v of r.vulnerabilities) {
    assert.equal(v.id, 'RHSA-2022:0011');
    assert.deepEqual(v.aliases, ['CVE-2020-10188']);
    assert.deepEqual(v.ranges, [{ fixed: '1:0.17-65.el7_6' }]);
    assert.deepEqual(v.distribution, { id: 'rhel', release: '7.6' });
    assert.equal(v.severity, 'High');
    assert.equal(v.feed, 'rhel-csaf');
    assert.equal(v.link, 'https://access.redhat.com/errata/RHSA-2022:0011');
  }
});

test('CSAF helpers', () => {
  assert.deepEqual(componentFromPurl('pkg:rpm/redhat/curl@7.76.1-26.el9_3.2?arch=x86_64'), {
    name: 'curl',
    type: 'rpm',
    evr: '0:7.76.1-26.el9_3.2',
    arch: 'x86_64',
  });
  assert.equal(
    componentFromPurl('pkg:rpm/redhat/nodejs@18.14.2-2.module%2Bel8.7.0?arch=x86_64&epoch=1&rpmmod=nodejs:18:8070020230306170042:ad008a3a')
      ?.module,
    'nodejs:18',
  );
  assert.deepEqual(componentFromProductId('telnet-server-1:0.17-65.el7_6.x86_64'), {
    name: 'telnet-server',
    evr: '1:0.17-65.el7_6',
    arch: 'x86_64',
  });
  assert.equal(rhelReleaseFromCpe('cpe:/a:redhat:enterprise_linux:9::appstream'), '9');
  assert.equal(rhelReleaseFromCpe('cpe:/a:redhat:rhel_eus:9.0::appstream'), '9.0');
  assert.equal(rhelReleaseFromCpe('cpe:/a:redhat:rhel_satellite_client:6::el8'), undefined);
  assert.equal(looksLikeCsaf(readJson('osv/npm/GHSA-hrpp-h998-j3pp.json')), false);
});
