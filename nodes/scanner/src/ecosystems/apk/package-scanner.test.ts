import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { readLayer } from '../../indexer/layer-reader.js';
import { dockerSaveLayer, VULN_DATA } from '../../indexer/test-helpers.js';
import { osReleaseScanner } from '../osrelease/distribution-scanner.js';
import { apkScanner, parseApkInstalled } from './package-scanner.js';

/** A plain grep-style parse of P:/V: lines, as the expectation. */
function grepParse(text: string): string[] {
  const out: string[] = [];
  let name = '';
  for (const l of text.split('\n')) {
    if (l.startsWith('P:')) name = l.slice(2);
    if (l.startsWith('V:')) out.push(`${name} ${l.slice(2)}`);
  }
  return out.sort();
}

describe('apk scanner', () => {
  it('finds the 14 packages of alpine:3.10.4 (docker save layer.tar) and its os-release', async () => {
    const layerTar = dockerSaveLayer(join(VULN_DATA, 'layers/alpine-3.10.4.docker-save.tar.gz'));
    const view = await readLayer(Readable.from([layerTar]), {
      digest: 'alpine',
      wants: (p) => apkScanner.wants(p) || osReleaseScanner.wants(p),
    });
    const text = (await view.readFile('lib/apk/db/installed', 1 << 20)).toString();
    const got = await apkScanner.scan(view);
    assert.equal(got.length, 14);
    assert.deepEqual(got.map((p) => `${p.name} ${p.version}`).sort(), grepParse(text));
    const ssl = got.find((p) => p.name === 'libssl1.1')!;
    assert.deepEqual(ssl.source, { name: 'openssl', version: ssl.version });
    assert.equal(ssl.arch, 'x86_64');
    assert.ok(got.some((p) => p.name === 'musl' && p.version === '1.1.22-r3'));
    const [d] = await osReleaseScanner.scan(view);
    assert.equal(d?.id, 'alpine');
    assert.equal(d?.versionId, '3.10.4');
  });

  it('parses the larger trivy fixture', () => {
    const text = readFileSync(join(VULN_DATA, 'pkgdb/apk-installed.trivy-fixture'), 'utf8');
    const got = parseApkInstalled(text);
    assert.deepEqual(got.map((p) => `${p.name} ${p.version}`).sort(), grepParse(text));
    assert.ok(got.every((p) => p.format === 'apk' && p.source?.name));
  });
});
