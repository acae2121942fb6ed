import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { readLayer } from './layer-reader.js';
import { applyLayers } from './layer-view.js';
import { packTar, type TarEntrySpec } from './test-helpers.js';

const layer = async (digest: string, entries: TarEntrySpec[]) =>
  readLayer(Readable.from([await packTar(entries)]), { digest, wants: () => true });

describe('applyLayers', () => {
  it('merges bottom-up with whiteouts, opaque dirs, cross-layer symlinks and attribution', async () => {
    const base = await layer('sha256:base', [
      { name: 'usr/lib/os-release', data: 'ID=debian\n' },
      { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
      { name: 'var/lib/dpkg/status', data: 'Package: a\n' },
      { name: 'usr/lib/python3/dist-packages/a.dist-info/METADATA', data: 'Name: a\n' },
      { name: 'app/node_modules/x/package.json', data: '{}' },
    ]);
    const mid = await layer('sha256:mid', [
      { name: 'var/lib/dpkg/status', data: 'Package: b\n' },
      { name: 'usr/lib/python3/dist-packages/.wh..wh..opq', data: '' },
      { name: 'usr/lib/python3/dist-packages/b.dist-info/METADATA', data: 'Name: b\n' },
      { name: 'app/.wh.node_modules', data: '' },
    ]);
    const top = await layer('sha256:top', [{ name: 'usr/lib/os-release', data: 'ID=debian\nVERSION_ID=12\n' }]);
    const img = applyLayers([base, mid, top]);
    assert.deepEqual([...img.list()], [
      'etc/os-release',
      'usr/lib/os-release',
      'usr/lib/python3/dist-packages/b.dist-info/METADATA',
      'var/lib/dpkg/status',
    ]);
    assert.equal((await img.readFile('etc/os-release', 100)).toString(), 'ID=debian\nVERSION_ID=12\n');
    assert.equal(img.layerOf('etc/os-release'), 'sha256:top');
    assert.equal(img.layerOf('var/lib/dpkg/status'), 'sha256:mid');
    assert.equal((await img.readFile('var/lib/dpkg/status', 100)).toString(), 'Package: b\n');
    assert.equal(img.has('app/node_modules/x/package.json'), false);
    assert.equal(img.layerOf('nope'), undefined);
  });

  it('a whiteout in a layer hides only lower layers, and a file can come back later', async () => {
    const a = await layer('a', [{ name: 'etc/alpine-release', data: '3.10.4\n' }]);
    const b = await layer('b', [{ name: 'etc/.wh.alpine-release', data: '' }]);
    const c = await layer('c', [{ name: 'etc/alpine-release', data: '3.11.0\n' }]);
    assert.equal(applyLayers([a, b]).has('etc/alpine-release'), false);
    const abc = applyLayers([a, b, c]);
    assert.equal((await abc.readFile('etc/alpine-release', 100)).toString(), '3.11.0\n');
    assert.equal(abc.layerOf('etc/alpine-release'), 'c');
  });
});
