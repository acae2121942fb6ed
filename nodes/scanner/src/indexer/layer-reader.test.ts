import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { createGzip, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { readLayer } from './layer-reader.js';
import { LayerError, safeEntryPath, resolveInLayer } from './limits.js';
import { packTar, readFileLayer, VULN_DATA } from './test-helpers.js';
import { FileNotFoundError, FileTooLargeError } from './types.js';

const all = () => true;
const MINBASE = join(VULN_DATA, 'layers/debian-bookworm-minbase.dpkgdb.layer.tar');

async function expectLayerError(p: Promise<unknown>, reason: LayerError['reason']): Promise<LayerError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof LayerError, `expected LayerError, got ${String(e)}`);
    assert.equal(e.reason, reason, e.message);
    return e;
  }
  assert.fail(`expected LayerError(${reason})`);
}

/** A tar stream with one entry of `size` zero bytes, generated (never stored), respecting backpressure. */
function zeroEntryTar(name: string, size: number): Readable {
  const pack = tar.pack();
  const w = pack.entry({ name, size, type: 'file', mode: 0o644 }, (err) => {
    if (!err) pack.finalize();
  });
  const chunk = Buffer.alloc(1024 * 1024);
  let left = size;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!w.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        w.once('drain', pump);
        return;
      }
    }
    w.end(() => undefined);
  };
  pump();
  return pack as unknown as Readable;
}

async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('path safety helpers', () => {
  it('normalises names and refuses traversal', () => {
    assert.equal(safeEntryPath('./etc/os-release'), 'etc/os-release');
    assert.equal(safeEntryPath('/etc/passwd'), 'etc/passwd');
    assert.equal(safeEntryPath('a/./b//c/../d'), 'a/b/d');
    assert.equal(safeEntryPath('../evil'), undefined);
    assert.equal(safeEntryPath('a/../../evil'), undefined);
    assert.equal(safeEntryPath('a\0b'), undefined);
    assert.equal(safeEntryPath(''), undefined);
  });
  it('resolves symlinks chroot-style with a hop bound', () => {
    const links = new Map([
      ['etc/os-release', '../usr/lib/os-release'],
      ['loop1', 'loop2'],
      ['loop2', 'loop1'],
      ['out', '../../../../host/etc/shadow'],
      ['abs', '/usr/lib/os-release'],
      ['lib', 'usr/lib'],
    ]);
    const rl = (p: string) => links.get(p);
    assert.equal(resolveInLayer('etc/os-release', rl), 'usr/lib/os-release');
    assert.equal(resolveInLayer('loop1', rl), undefined);
    assert.equal(resolveInLayer('out', rl), 'host/etc/shadow');
    assert.equal(resolveInLayer('abs', rl), 'usr/lib/os-release');
    assert.equal(resolveInLayer('lib/os-release', rl), 'usr/lib/os-release');
  });
});

describe('readLayer on real layers', () => {
  it('keeps only wanted files of the minbase layer and resolves its os-release symlink in-layer', async () => {
    const v = await readFileLayer(MINBASE, (p) => p === 'var/lib/dpkg/status' || p.endsWith('os-release'));
    assert.deepEqual([...v.list()], ['etc/os-release', 'usr/lib/os-release', 'var/lib/dpkg/status']);
    assert.equal(v.symlinks.get('etc/os-release'), '../usr/lib/os-release');
    assert.deepEqual(await v.readFile('/etc/os-release', 1 << 16), await v.readFile('usr/lib/os-release', 1 << 16));
    assert.equal(v.stats.compression, 'none');
    await assert.rejects(v.readFile('var/lib/dpkg/status', 10), FileTooLargeError);
    await assert.rejects(v.readFile('etc/passwd', 10), FileNotFoundError);
    assert.deepEqual([...v.list('var/lib/dpkg')], ['var/lib/dpkg/status']);
    assert.deepEqual([...v.list('var/lib/dpk')], []);
  });

  it('reads gzip and zstd (fzstd, streaming) compressed layers to the same view', async (t) => {
    const plain = await readFileLayer(MINBASE, all);
    const { readFileSync } = await import('node:fs');
    const raw = readFileSync(MINBASE);
    const gz = await readLayer(Readable.from([gzipSync(raw)]), { digest: 'gz', wants: all });
    assert.equal(gz.stats.compression, 'gzip');
    assert.deepEqual([...gz.list()], [...plain.list()]);
    const z = spawnSync('zstd', ['-q', '-c'], { input: raw });
    assert.equal(z.status, 0, 'the zstd CLI is needed (apt-get install zstd; .ci/run installs it)');
    const zs = await readLayer(Readable.from([z.stdout]), { digest: 'zst', wants: all });
    assert.equal(zs.stats.compression, 'zstd');
    assert.deepEqual([...zs.list()], [...plain.list()]);
    assert.deepEqual(await zs.readFile('var/lib/dpkg/status', 1 << 20), await plain.readFile('var/lib/dpkg/status', 1 << 20));
  });
});

describe('readLayer on hostile input', () => {
  it('skips traversal entries, keeps absolute names inside the layer, never writes to disk', async () => {
    const before = readdirSync(process.cwd());
    const buf = await packTar([
      { name: '../evil', data: 'x' },
      { name: 'a/../../evil2', data: 'x' },
      { name: '/etc/passwd', data: 'root:x:0:0::/root:/bin/sh\n' },
      { name: 'ok/file', data: 'fine' },
    ]);
    const v = await readLayer(Readable.from([buf]), { digest: 'evil', wants: all });
    assert.deepEqual([...v.list()], ['etc/passwd', 'ok/file']);
    assert.equal(v.warnings.filter((w) => w.includes('unsafe name')).length, 2);
    assert.deepEqual(readdirSync(process.cwd()), before);
    assert.ok(!existsSync(join(process.cwd(), '..', 'evil')));
  });

  it('resolves symlinks only inside the layer: loops, links pointing outside, hard links out of the layer', async () => {
    const buf = await packTar([
      { name: 'etc/os-release', type: 'symlink', linkname: '../../../../../etc/os-release-host' },
      { name: 'usr/lib/os-release', type: 'symlink', linkname: 'loop' },
      { name: 'usr/lib/loop', type: 'symlink', linkname: 'os-release' },
      { name: 'etc/hard', type: 'link', linkname: '../../etc/shadow' },
      { name: 'etc/abs', type: 'symlink', linkname: '/etc/real' },
      { name: 'etc/real', data: 'ID=debian\n' },
      { name: 'etc/hard2', type: 'link', linkname: 'etc/real' },
    ]);
    const v = await readLayer(Readable.from([buf]), { digest: 'links', wants: all });
    assert.equal(v.has('etc/os-release'), false); // → etc/os-release-host inside the layer: absent
    assert.equal(v.resolve('etc/os-release'), 'etc/os-release-host');
    assert.equal(v.has('usr/lib/os-release'), false); // loop
    assert.equal(v.has('etc/hard'), false);
    assert.ok(v.warnings.some((w) => w.includes('etc/hard: skipped hard link')));
    assert.equal((await v.readFile('etc/abs', 100)).toString(), 'ID=debian\n');
    assert.equal((await v.readFile('etc/hard2', 100)).toString(), 'ID=debian\n');
    assert.deepEqual([...v.list('etc')], ['etc/abs', 'etc/hard2', 'etc/real']);
  });

  it('keeps a symlinked target that comes later in the archive', async () => {
    const buf = await packTar([
      { name: 'etc/os-release', type: 'symlink', linkname: '../opt/rel' },
      { name: 'opt/rel', data: 'ID=alpine\n' },
    ]);
    const v = await readLayer(Readable.from([buf]), { digest: 'late', wants: (p) => p === 'etc/os-release' });
    assert.equal((await v.readFile('etc/os-release', 100)).toString(), 'ID=alpine\n');
  });

  it('reads only the per-file bound of a 1 GiB entry (generated as a stream, never stored)', async () => {
    const v = await readLayer(zeroEntryTar('var/lib/dpkg/status', 1024 ** 3), {
      digest: 'big',
      wants: all,
      limits: { maxFileBytes: 1024 * 1024 },
    });
    assert.equal(v.size('var/lib/dpkg/status'), 1024 ** 3);
    assert.equal(v.truncated('var/lib/dpkg/status'), true);
    assert.equal(v.stats.keptBytes, 1024 * 1024);
    await assert.rejects(v.readFile('var/lib/dpkg/status', 2 * 1024 ** 3), FileTooLargeError);
  });

  it('bounds the total kept bytes across files', async () => {
    const files = Array.from({ length: 10 }, (_, i) => ({ name: `f${i}`, data: Buffer.alloc(1000, 1) }));
    const v = await readLayer(Readable.from([await packTar(files)]), { digest: 'k', wants: all, limits: { maxKeptBytes: 3500 } });
    assert.equal(v.stats.keptBytes, 3500);
    assert.equal([...v.list()].filter((p) => !v.truncated(p)).length, 3);
  });

  it('stops a gzip bomb at the decompressed-bytes cap', async () => {
    const bomb = await collect(zeroEntryTar('zeros', 256 * 1024 ** 2).pipe(createGzip({ level: 9 })));
    assert.ok(bomb.length < 1024 * 1024, `bomb is ${bomb.length} bytes`);
    await expectLayerError(
      readLayer(Readable.from([bomb]), { digest: 'bomb', wants: all, limits: { maxDecompressedBytes: 32 * 1024 ** 2 } }),
      'too-large',
    );
  });

  it('stops a zstd bomb at the decompressed-bytes cap', async (t) => {
    const probe = spawnSync('zstd', ['--version']);
    assert.equal(probe.status, 0, 'the zstd CLI is needed (apt-get install zstd; .ci/run installs it)');
    const z = spawn('zstd', ['-q', '-19', '-c']);
    const out = collect(z.stdout);
    zeroEntryTar('zeros', 256 * 1024 ** 2).pipe(z.stdin);
    const bomb = await out;
    await expectLayerError(
      readLayer(Readable.from([bomb]), { digest: 'zbomb', wants: all, limits: { maxDecompressedBytes: 32 * 1024 ** 2 } }),
      'too-large',
    );
  });

  it('caps the number of tar entries', async () => {
    const buf = await packTar(Array.from({ length: 50 }, (_, i) => ({ name: `d/${i}`, data: '' })));
    await expectLayerError(readLayer(Readable.from([buf]), { digest: 'n', wants: all, limits: { maxEntries: 10 } }), 'too-many-entries');
  });

  it('gives typed errors for truncated gzip, truncated tar, garbage, corrupt gzip and xz', async () => {
    const { readFileSync } = await import('node:fs');
    const raw = readFileSync(MINBASE);
    const gz = gzipSync(raw);
    await expectLayerError(readLayer(Readable.from([gz.subarray(0, gz.length >> 1)]), { digest: 't', wants: all }), 'truncated');
    await expectLayerError(readLayer(Readable.from([raw.subarray(0, 5000)]), { digest: 't2', wants: all }), 'truncated');
    await expectLayerError(readLayer(Readable.from([randomBytes(10_000)]), { digest: 'g', wants: all }), 'corrupt');
    const bad = Buffer.from(gz);
    bad.fill(0x55, 100, 400);
    await expectLayerError(readLayer(Readable.from([bad]), { digest: 'c', wants: all }), 'corrupt');
    await expectLayerError(
      readLayer(Readable.from([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2])]), { digest: 'xz', wants: all }),
      'unsupported-compression',
    );
  });

  it('honours an abort signal and a timeout on a stalled stream', async () => {
    const stalled = () =>
      new Readable({
        read() {
          /* never produces data after the first header */
        },
      });
    const ac = new AbortController();
    const s1 = stalled();
    s1.push(Buffer.alloc(512));
    const p = readLayer(s1, { digest: 'a', wants: all, signal: ac.signal });
    setImmediate(() => ac.abort());
    await expectLayerError(p, 'aborted');
    const s2 = stalled();
    s2.push(Buffer.alloc(512));
    await expectLayerError(readLayer(s2, { digest: 'tm', wants: all, limits: { timeoutMs: 20 } }), 'timeout');
    await expectLayerError(readLayer(Readable.from([Buffer.alloc(10)]), { digest: 'pre', wants: all, signal: AbortSignal.abort() }), 'aborted');
  });

  it('records whiteouts and opaque directories', async () => {
    const buf = await packTar([
      { name: 'var/lib/dpkg/.wh.status', data: '' },
      { name: 'usr/lib/python3/.wh..wh..opq', data: '' },
      { name: '.wh.top', data: '' },
    ]);
    const v = await readLayer(Readable.from([buf]), { digest: 'wh', wants: all });
    assert.deepEqual([...v.whiteouts].sort(), ['top', 'var/lib/dpkg/status']);
    assert.deepEqual([...v.opaqueDirs], ['usr/lib/python3']);
    assert.deepEqual([...v.list()], []);
  });
});
