import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { readLayer } from '../../indexer/layer-reader.js';
import { packTar, readFileLayer, VULN_DATA, type TarEntrySpec } from '../../indexer/test-helpers.js';
import { osReleaseScanner } from './distribution-scanner.js';

const scan = async (entries: TarEntrySpec[]) =>
  osReleaseScanner.scan(await readLayer(Readable.from([await packTar(entries)]), { digest: 'd', wants: osReleaseScanner.wants }));

describe('os-release scanner', () => {
  it('reads bookworm through the etc/os-release symlink', async () => {
    const view = await readFileLayer(join(VULN_DATA, 'layers/debian-bookworm-minbase.dpkgdb.layer.tar'), osReleaseScanner.wants);
    assert.deepEqual(await osReleaseScanner.scan(view), [
      { id: 'debian', versionId: '12', versionCodename: 'bookworm', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
    ]);
  });

  it('reads UBI 8 and Mariner os-release, and falls back to release files', async () => {
    const [ubi] = await scan([{ name: 'etc/os-release', data: readFileSync(join(VULN_DATA, 'rhel/ubi8.os-release')) }]);
    assert.equal(ubi?.id, 'rhel');
    assert.match(ubi!.versionId, /^8\./);
    assert.match(ubi!.cpe ?? '', /^cpe:\/o:redhat:enterprise_linux:8/);
    const [mar] = await scan([{ name: 'usr/lib/os-release', data: readFileSync(join(VULN_DATA, 'mariner/os-release')) }]);
    assert.equal(mar?.id, 'mariner');
    const [rh] = await scan([{ name: 'etc/redhat-release', data: readFileSync(join(VULN_DATA, 'rhel/ubi8.redhat-release')) }]);
    assert.equal(rh?.id, 'rhel');
    assert.deepEqual(await scan([{ name: 'etc/debian_version', data: '12.5\n' }]), [{ id: 'debian', versionId: '12' }]);
    assert.equal((await scan([{ name: 'etc/alpine-release', data: '3.10.4\n' }]))[0]?.versionId, '3.10.4');
    assert.deepEqual(await scan([{ name: 'etc/os-release', type: 'symlink', linkname: '../../../../etc/os-release' }]), []);
    assert.deepEqual(await scan([{ name: 'etc/hostname', data: 'x' }]), []);
  });
});
