import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { readLayer } from '../../indexer/layer-reader.js';
import { extractToTemp, packTar, readFileLayer, VULN_DATA } from '../../indexer/test-helpers.js';
import { installDirOf, npmScanner } from './package-scanner.js';

const LAYER = join(VULN_DATA, 'layers/npm-app.meta.layer.tar.gz');

/** npm's own view: `npm ls --all --parseable --long` gives one line per installed package dir: path:name@version:... */
function npmLs(): string[] {
  const { dir, cleanup } = extractToTemp(LAYER);
  try {
    let out: string;
    try {
      out = execFileSync('npm', ['ls', '--all', '--parseable', '--long', '--offline'], { cwd: join(dir, 'app'), encoding: 'utf8' });
    } catch (e) {
      out = (e as { stdout: string }).stdout; // npm ls exits 1 on peer/extraneous problems but still prints the tree
    }
    return out
      .trim()
      .split('\n')
      .map((l) => {
        const [path, spec] = l.split(':');
        return `${path!.slice(dir.length + 1)} ${spec}`;
      })
      .filter((l) => l.includes('node_modules/'))
      .sort();
  } finally {
    cleanup();
  }
}

describe('npm scanner', () => {
  it('finds what npm ls finds in the app layer (nested duplicates distinct)', async () => {
    const want = npmLs();
    assert.equal(want.length, 76);
    const view = await readFileLayer(LAYER, npmScanner.wants);
    const got = await npmScanner.scan(view);
    assert.deepEqual(got.map((p) => `${p.location.slice(0, -'/package.json'.length)} ${p.name}@${p.version}`).sort(), want);
    assert.equal(got.filter((p) => p.name === 'qs').length, 3);
    assert.ok(got.every((p) => p.format === 'npm' && p.location.includes('node_modules/')));
  });

  it('falls back to package-lock.json v2/v3 when node_modules is absent', async () => {
    const lock = {
      name: 'app',
      lockfileVersion: 3,
      packages: {
        '': { name: 'app', version: '1.0.0' },
        'node_modules/lodash': { version: '4.17.15' },
        'node_modules/@scope/x': { version: '1.0.0' },
        'node_modules/a/node_modules/lodash': { version: '3.0.0' },
        'node_modules/devonly': { version: '1.0.0', dev: true },
        'node_modules/linked': { resolved: '../linked', link: true },
      },
    };
    const buf = await packTar([
      { name: 'srv/package.json', data: '{"name":"app","version":"1.0.0"}' },
      { name: 'srv/package-lock.json', data: JSON.stringify(lock) },
    ]);
    const view = await readLayer(Readable.from([buf]), { digest: 'l', wants: npmScanner.wants });
    const got = await npmScanner.scan(view);
    assert.deepEqual(got.map((p) => `${p.name}@${p.version}`), ['@scope/x@1.0.0', 'lodash@3.0.0', 'lodash@4.17.15']);
    assert.ok(got.every((p) => p.location === 'srv/package-lock.json'));
  });

  it('only takes package root manifests under node_modules', () => {
    assert.equal(installDirOf('app/node_modules/a/package.json'), 'app/node_modules/a');
    assert.equal(installDirOf('app/node_modules/@s/a/package.json'), 'app/node_modules/@s/a');
    assert.equal(installDirOf('app/node_modules/a/node_modules/b/package.json'), 'app/node_modules/a/node_modules/b');
    assert.equal(installDirOf('app/node_modules/a/lib/package.json'), undefined);
    assert.equal(installDirOf('app/package.json'), undefined);
    assert.equal(installDirOf('app/node_modules/.bin/package.json'), undefined);
  });
});
