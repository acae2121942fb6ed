import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { extractToTemp, readFileLayer, VULN_DATA } from '../../indexer/test-helpers.js';
import { dpkgScanner, packagesFromStatus } from './package-scanner.js';

/** dpkg-query's view of an extracted layer's status database: installed packages as "name version". */
function dpkgQuery(layer: string): string[] {
  const { dir, cleanup } = extractToTemp(layer);
  try {
    const out = execFileSync('dpkg-query', ['--admindir=' + join(dir, 'var/lib/dpkg'), '-W', '-f', '${Package} ${Version} ${Status}\n'], {
      encoding: 'utf8',
    });
    return out
      .split('\n')
      .filter((l) => l.endsWith(' install ok installed'))
      .map((l) => l.split(' ').slice(0, 2).join(' '))
      .sort();
  } finally {
    cleanup();
  }
}

describe('dpkg scanner', () => {
  for (const [file, count] of [
    ['layers/debian-bookworm-minbase.dpkgdb.layer.tar', 88],
    ['layers/debian-bookworm-python.meta.layer.tar.gz', 135],
  ] as const) {
    it(`finds what dpkg-query finds in ${file}`, async () => {
      const layer = join(VULN_DATA, file);
      const want = dpkgQuery(layer);
      assert.equal(want.length, count);
      const view = await readFileLayer(layer, dpkgScanner.wants);
      const got = await dpkgScanner.scan(view);
      assert.deepEqual(got.map((p) => `${p.name} ${p.version}`).sort(), want);
      assert.ok(got.every((p) => p.format === 'dpkg' && p.location === 'var/lib/dpkg/status' && p.arch && p.source?.name));
      const libc = got.find((p) => p.name === 'libc6')!;
      assert.deepEqual(libc.source, { name: 'glibc', version: libc.version });
    });
  }

  it('parses Source: with a version in parentheses and skips non-installed stanzas', () => {
    const text = readFileSync(join(VULN_DATA, 'pkgdb/dpkg/buster-postgresql.status.claircore'), 'utf8');
    const pkgs = packagesFromStatus(text, 'var/lib/dpkg/status', true);
    const withVer = pkgs.find((p) => p.source && p.source.version !== p.version);
    assert.ok(withVer, 'some package has a source version distinct from its own');
    const stanzas = text.split(/\n\s*\n/).filter((s) => /^Package:/m.test(s));
    const installed = stanzas.filter((s) => /^Status: install ok installed$/m.test(s));
    assert.equal(pkgs.length, installed.length);
    const src = /^Source: (\S+) \(([^)]+)\)$/m.exec(text)!;
    assert.ok(pkgs.some((p) => p.source?.name === src[1] && p.source?.version === src[2]));
    const notInstalled = packagesFromStatus('Package: x\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: y\nStatus: install ok installed\nVersion: 2\n', 's', true);
    assert.deepEqual(notInstalled.map((p) => p.name), ['y']);
  });

  it('reads distroless status.d files', () => {
    const text = readFileSync(join(VULN_DATA, 'pkgdb/dpkg/distroless-status.d/libsqlite3-0'), 'utf8');
    const [p] = packagesFromStatus(text, 'var/lib/dpkg/status.d/libsqlite3-0', false);
    assert.deepEqual(p, {
      name: 'libsqlite3-0',
      version: '3.34.1-3',
      format: 'dpkg',
      location: 'var/lib/dpkg/status.d/libsqlite3-0',
      arch: 'arm64',
      source: { name: 'sqlite3', version: '3.34.1-3' },
    });
    assert.equal(dpkgScanner.wants('var/lib/dpkg/status.d/libsqlite3-0'), true);
    assert.equal(dpkgScanner.wants('var/lib/dpkg/status.d/libsqlite3-0.md5sums'), false);
    assert.equal(dpkgScanner.wants('var/lib/dpkg/status-old'), false);
  });
});
