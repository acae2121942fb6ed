import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { pushImage } from '../support/oci-client.js';
import { startScannerNode, type RunningScanner } from '../../nodes/scanner/src/node.js';
import { VULN_DATA } from '../support/vuln-data.js';

/**
 * Hostile layers pushed through a real registry to a real scanner node: each manifest ends failed with a clear,
 * permanent reason, or indexed with bounded content; the node keeps answering; nothing is written outside the test's
 * temp dirs; retries are bounded by WHARF_SCANNER_MAX_ATTEMPTS. A scanner version bump re-indexes by itself.
 */
const VULN = VULN_DATA;
const MAX_LAYER = 50 * 1024 * 1024;
const MAX_ATTEMPTS = 2;
let db: TestDatabase;
let reg: TestRegistry;
let scanner: RunningScanner;
let work: string;
let storage: string;
const digests: Record<string, string> = {};
let cwdBefore: string[];
let passwdBefore: { mtimeMs: number; size: number };

interface IndexRow { state: string; reason: string | null; attempts: number; permanent: boolean; scanner_set: string | null; indexed_at: Date | null }
async function row(digest: string): Promise<IndexRow | undefined> {
  const r = await scanner.indexer.db.query<IndexRow>(
    `SELECT state, reason, attempts, next_attempt_at = 'infinity'::timestamptz AS permanent, scanner_set, indexed_at FROM index_reports WHERE manifest_digest = $1`, [digest],
  );
  return r.rows[0];
}

/** Waits (generous deadline: an event, not a timing claim) until the manifest is indexed, or failed for good. */
async function settled(digest: string): Promise<IndexRow> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const r = await row(digest);
    if (r && (r.state === 'indexed' || r.state === 'unsupported' || (r.state === 'failed' && r.permanent))) return r;
    if (Date.now() > deadline) assert.fail(`manifest ${digest} did not settle: ${JSON.stringify(r)}`);
    await new Promise((x) => setTimeout(x, 250));
  }
}

/** A tar built by Python's tarfile, which writes whatever names and links it is told to. */
function pyTar(out: string, entries: { name: string; data?: string; size?: number; symlink?: string; dir?: boolean; fill?: string }[]): void {
  const script = String.raw`
import io, json, sys, tarfile
entries = json.loads(sys.argv[2])
with tarfile.open(sys.argv[1], 'w', format=tarfile.GNU_FORMAT) as t:
    for e in entries:
        i = tarfile.TarInfo(e['name'])
        if e.get('symlink') is not None:
            i.type = tarfile.SYMTYPE; i.linkname = e['symlink']; t.addfile(i); continue
        if e.get('dir'):
            i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i); continue
        data = e.get('data', '').encode()
        if e.get('fill'):
            data = data + (e['fill'] * (e['size'] - len(data))).encode()
        i.size = len(data); i.mode = 0o644
        t.addfile(i, io.BytesIO(data))
`;
  execFileSync('python3', ['-c', script, out, JSON.stringify(entries)]);
}

before(async () => {
  cwdBefore = (await readdir(process.cwd())).sort();
  const p = await stat('/etc/passwd');
  passwdBefore = { mtimeMs: p.mtimeMs, size: p.size };
  work = await mkdtemp(join(tmpdir(), 'wharf-hostile-'));
  db = await createTestDatabase();
  storage = join(work, 'storage');
  const env = { WHARF_DATABASE_URL: db.url, WHARF_STORAGE_FILESYSTEM_ROOT: storage, WHARF_DATA_DIR: work };
  const config = loadConfig({
    ...env, WHARF_SCANNER_PORT: '0', WHARF_SERVER_HOST: '127.0.0.1', WHARF_SCANNER_POLL_SECONDS: '1', WHARF_LOG_LEVEL: 'silent',
    WHARF_SCANNER_MAX_LAYER_BYTES: String(MAX_LAYER), WHARF_SCANNER_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
  });
  assert.equal(config.scanner.maxLayerBytes, MAX_LAYER);
  assert.equal(config.scanner.maxAttempts, MAX_ATTEMPTS);
  scanner = await startScannerNode(config, { log: createLogger({ level: process.env.WHARF_TEST_LOG_LEVEL ?? 'silent', bindings: { node: 'scanner-test' } }) });
  reg = await startTestRegistry({ ...env, WHARF_AUTH_MODE: 'open', WHARF_SCANNER_URL: scanner.url }, { db });

  // A gzip bomb: a tar holding one 200 MB file of zeros, gzipped to a few hundred KB; it inflates past 50 MB.
  const bombDir = join(work, 'bomb');
  await mkdir(bombDir);
  execFileSync('dd', ['if=/dev/zero', `of=${join(bombDir, 'zeros')}`, 'bs=1M', 'count=200', 'status=none']);
  execFileSync('tar', ['-cf', join(work, 'bomb.tar'), '-C', bombDir, 'zeros']);
  await unlink(join(bombDir, 'zeros'));
  const bomb = gzipSync(await readFile(join(work, 'bomb.tar')), { level: 9 });
  await unlink(join(work, 'bomb.tar'));
  assert.ok(bomb.length < 2 * 1024 * 1024);
  digests.bomb = (await pushImage(reg.url, 'hostile/bomb', 'v1', { layers: [bomb] })).digest;

  // Corrupt gzip: the magic bytes, then noise.
  const corrupt = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03]), Buffer.from('this is not deflate data at all '.repeat(100))]);
  digests.corrupt = (await pushImage(reg.url, 'hostile/corrupt', 'v1', { layers: [corrupt] })).digest;

  // Truncated tar: the real minbase layer cut in the middle of an entry.
  const minbase = await readFile(join(VULN, 'layers/debian-bookworm-minbase.dpkgdb.layer.tar'));
  digests.truncated = (await pushImage(reg.url, 'hostile/truncated', 'v1', { layers: [gzipSync(minbase.subarray(0, Math.floor(minbase.length / 2) + 100))] })).digest;

  // Traversal, absolute paths, a symlink out of the layer, and a lying dpkg status with a 40 MB Description (under the 50 MB layer cap, so it is read).
  const status = [
    'Package: evil\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: amd64\nSource: evil-src (9:9.9)\nX-Garbage: \u0000\u0001\u00ff\nDescription: ',
  ].join('');
  pyTar(join(work, 'odd.tar'), [
    { name: '../../etc/passwd', data: 'pwned:x:0:0::/root:/bin/sh\n' },
    { name: '/etc/shadow-wharf-test', data: 'absolute\n' },
    { name: `../../${process.cwd().replace(/^\//, '')}/wharf-escaped`, data: 'escaped\n' },
    { name: 'etc', dir: true },
    { name: 'etc/os-release', symlink: '/etc/os-release' },
    { name: 'var/lib/dpkg/status', data: `${status}x\n `, size: 40 * 1024 * 1024, fill: 'y' },
  ]);
  const odd = await readFile(join(work, 'odd.tar'));
  // A second layer replaces that status with garbage stanzas around one well-formed package.
  pyTar(join(work, 'odd2.tar'), [
    { name: 'var/lib/dpkg/status', data: 'Package: ok-pkg\nStatus: install ok installed\nVersion: 2.0-1\nArchitecture: all\n\nPackage:\nVersion: \n\n: : :\n\nnot a field at all\n\nPackage: no-version\nStatus: install ok installed\n\n' },
  ]);
  digests.odd = (await pushImage(reg.url, 'hostile/odd', 'v1', { layers: [gzipSync(odd), await readFile(join(work, 'odd2.tar'))] })).digest;
  digests.oddOneLayer = (await pushImage(reg.url, 'hostile/odd', 'big-status', { layers: [gzipSync(odd)] })).digest;

  // A good image, for the retry and version-bump cases.
  digests.good = (await pushImage(reg.url, 'hostile/good', 'v1', { layers: [minbase] })).digest;
});

after(async () => {
  await reg?.stop();
  await scanner?.close();
  await db?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function quay(repo: string, digest: string): Promise<{ status: string; reason?: string }> {
  const r = await fetch(`${reg.url}/api/v1/repository/${repo}/manifest/${digest}/security`);
  assert.equal(r.status, 200);
  return (await r.json()) as { status: string; reason?: string };
}
async function clair(digest: string): Promise<{ state: string; err: string; packages: Record<string, { name: string; version: string; format: string }>; distributions: Record<string, unknown> }> {
  const r = await fetch(`${scanner.url}/indexer/api/v1/index_report/${digest}`);
  assert.equal(r.status, 200);
  return (await r.json()) as never;
}

for (const [name, repo, why] of [
  ['bomb', 'hostile/bomb', /too-large/],
  ['corrupt', 'hostile/corrupt', /corrupt/],
  ['truncated', 'hostile/truncated', /truncated|corrupt/],
] as const) {
  test(`a ${name} layer: the manifest fails for good with a clear reason, after at most ${MAX_ATTEMPTS} attempts`, async () => {
    const r = await settled(digests[name]!);
    assert.equal(r.state, 'failed');
    assert.match(r.reason ?? '', why);
    assert.ok(r.permanent, 'not retried');
    assert.ok(r.attempts >= 1 && r.attempts <= MAX_ATTEMPTS, `attempts ${r.attempts}`);
    const c = await clair(digests[name]!);
    assert.equal(c.state, 'IndexError');
    assert.match(c.err, why);
    const q = await quay(repo, digests[name]!);
    assert.equal(q.status, 'failed');
    assert.match(q.reason ?? '', why);
  });
}

test('odd layers (traversal, absolute paths, a symlink out of the layer, a lying dpkg status): indexed with bounded content', async () => {
  const r = await settled(digests.odd!);
  assert.equal(r.state, 'indexed', r.reason ?? '');
  const c = await clair(digests.odd!);
  // /etc/os-release -> /etc/os-release resolves inside the layer, where there is none: no distribution from the host.
  assert.deepEqual(c.distributions, {});
  const pkgs = Object.values(c.packages).map((p) => `${p.format} ${p.name} ${p.version}`).sort();
  // The upper layer's status replaces the base's: only its well-formed stanza is a package.
  assert.deepEqual(pkgs, ['dpkg ok-pkg 2.0-1']);
  const one = await settled(digests.oddOneLayer!);
  assert.equal(one.state, 'indexed', one.reason ?? '');
  const big = await clair(digests.oddOneLayer!);
  assert.ok(Object.keys(big.packages).length <= 1, JSON.stringify(Object.keys(big.packages)));
  // Nothing of the 40 MB Description reaches the stored report.
  const size = await scanner.indexer.db.query<{ n: number }>('SELECT max(octet_length(report::text))::int AS n FROM index_reports');
  assert.ok(size.rows[0]!.n < 1024 * 1024, `largest stored report: ${size.rows[0]!.n} bytes`);
  const q = await quay('hostile/odd', digests.odd!);
  assert.equal(q.status, 'scanned');
});

test('nothing was written outside the test\'s temp dirs, and the node still answers', async () => {
  for (const d of [digests.bomb!, digests.corrupt!, digests.truncated!, digests.odd!]) await settled(d);
  const p = await stat('/etc/passwd');
  assert.deepEqual({ mtimeMs: p.mtimeMs, size: p.size }, passwdBefore);
  assert.ok(!(await readFile('/etc/passwd', 'utf8')).includes('pwned'));
  await assert.rejects(stat('/etc/shadow-wharf-test'));
  assert.deepEqual((await readdir(process.cwd())).sort(), cwdBefore);
  assert.equal((await fetch(`${scanner.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${scanner.url}/readyz`)).status, 200);
  assert.equal((await fetch(`${scanner.url}/indexer/api/v1/index_state`)).status, 200);
});

/** Finds the blob file of a digest in the filesystem store. */
async function blobFiles(dir: string, hex: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await blobFiles(p, hex)));
    else if (p.includes(hex)) out.push(p);
  }
  return out;
}

test(`an unreadable layer is retried with backoff, at most ${MAX_ATTEMPTS} times, then failed for good`, async () => {
  const r0 = await settled(digests.good!);
  assert.equal(r0.state, 'indexed');
  const layer = (await scanner.indexer.db.query<{ d: string }>(
    `SELECT ref_digest AS d FROM manifest_references WHERE manifest_digest = $1 AND ref_kind = 'blob' AND ref_media_type LIKE '%layer%'`, [digests.good],
  )).rows[0]!.d;
  const files = await blobFiles(storage, layer.slice('sha256:'.length));
  assert.ok(files.length >= 1, 'the layer blob is on disk');
  for (const f of files) await unlink(f);
  // Forget what was read of it and ask again: the bytes are gone now.
  await scanner.indexer.db.query('DELETE FROM scan_layer_results WHERE layer_digest = $1', [layer]);
  await scanner.indexer.db.query(`UPDATE index_reports SET state = 'queued', attempts = 0, reason = NULL, next_attempt_at = now() WHERE manifest_digest = $1`, [digests.good]);
  const r = await settled(digests.good!);
  assert.equal(r.state, 'failed');
  assert.equal(r.attempts, MAX_ATTEMPTS);
  assert.match(r.reason ?? '', new RegExp(`gave up after ${MAX_ATTEMPTS} attempts`));
  assert.ok(r.permanent);
  await new Promise((x) => setTimeout(x, 3000)); // a few sweeps: still not retried
  assert.equal((await row(digests.good!))!.attempts, MAX_ATTEMPTS);
});

test('a scanner version bump re-indexes: the sweep redoes a manifest indexed by another scanner set', async () => {
  const d = digests.odd!;
  const before = (await settled(d));
  assert.equal(before.state, 'indexed');
  await scanner.indexer.db.query(`UPDATE index_reports SET scanner_set = 'dpkg@0-old' WHERE manifest_digest = $1`, [d]);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = (await row(d))!;
    if (r.state === 'indexed' && r.scanner_set !== 'dpkg@0-old') {
      assert.ok(r.indexed_at! > before.indexed_at!, 'indexed again');
      assert.equal(r.scanner_set, before.scanner_set);
      break;
    }
    if (Date.now() > deadline) assert.fail(`not re-indexed: ${JSON.stringify(r)}`);
    await new Promise((x) => setTimeout(x, 250));
  }
});
