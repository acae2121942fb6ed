import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { startScannerNode, type RunningScanner } from '../../nodes/scanner/src/node.js';
import { createUser } from '../support/tenancy.js';
import { VULN_DATA } from '../support/vuln-data.js';

/**
 * The real `wharf vulndb` CLI as a process against real registry + scanner pairs: import files and folders, list
 * feeds, export a bundle and carry it to a second, empty site (the air gap) whose registry runs token auth.
 */
const VULN = VULN_DATA;
const ADMIN = { user: 'cli-admin', password: 'cli-admin-Pa55word!' };
let work: string;
interface Site { db: TestDatabase; scanner: RunningScanner; reg: TestRegistry }
let a: Site;
let b: Site;

async function site(extra: Record<string, string>): Promise<Site> {
  const db = await createTestDatabase();
  const dir = await mkdtemp(join(work, 'site-'));
  const env = { WHARF_DATABASE_URL: db.url, WHARF_STORAGE_FILESYSTEM_ROOT: join(dir, 'storage'), WHARF_DATA_DIR: dir };
  const config = loadConfig({ ...env, WHARF_SCANNER_PORT: '0', WHARF_SERVER_HOST: '127.0.0.1', WHARF_SCANNER_POLL_SECONDS: '1', WHARF_LOG_LEVEL: 'silent' });
  const scanner = await startScannerNode(config, { log: createLogger({ level: process.env.WHARF_TEST_LOG_LEVEL ?? 'silent', bindings: { node: 'scanner-test' } }) });
  const reg = await startTestRegistry({ ...env, WHARF_SCANNER_URL: scanner.url, ...extra }, { db });
  return { db, scanner, reg };
}

/** Runs the CLI as its own process (async: the nodes it talks to live in this process). */
function wharf(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(process.execPath, ['--import', 'tsx', 'deploy/cli/main.ts', ...args], {
      cwd: process.cwd(), env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, maxBuffer: 64 * 1024 * 1024,
    }, (err, stdout, stderr) => res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'wharf-cli-'));
  a = await site({ WHARF_AUTH_MODE: 'open' });
  b = await site({ WHARF_ADMIN_USER: ADMIN.user, WHARF_ADMIN_PASSWORD: ADMIN.password });
});

after(async () => {
  for (const s of [a, b]) {
    await s?.reg.stop();
    await s?.scanner.close();
    await s?.db.drop();
  }
  if (work) await rm(work, { recursive: true, force: true });
});

interface FeedsJson { feeds: { feed: string; fingerprint: string; vulnerabilities: number; stale: boolean }[] }

test('vulndb import takes files and folders; vulndb feeds lists them, in text and as JSON', async () => {
  const one = await wharf(['vulndb', 'import', join(VULN, 'debian/tracker-json/subset.vunnel-fixture.json'), '--url', a.reg.url]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /debian-tracker: imported \d+ records/);
  // A folder: v3.10's main.yaml and community.yaml, two feeds.
  const folder = await wharf(['vulndb', 'import', join(VULN, 'secdb/alpine/v3.10'), '--url', a.reg.url, '--json']);
  assert.equal(folder.code, 0, folder.stderr);
  const imported = JSON.parse(folder.stdout) as { files: string[]; imported: { feed: string; status: string; vulnerabilities: number }[] };
  assert.deepEqual(imported.files.map((f) => f.split('/').pop()), ['community.yaml', 'main.yaml']);
  assert.deepEqual(imported.imported.map((x) => x.feed).sort(), ['alpine-secdb:v3.10/community', 'alpine-secdb:v3.10/main']);
  // Importing the same data again is a no-op.
  const again = await wharf(['vulndb', 'import', join(VULN, 'secdb/alpine/v3.10/main.yaml'), '--url', a.reg.url]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /alpine-secdb:v3\.10\/main: unchanged/);

  const feeds = await wharf(['vulndb', 'feeds', '--url', a.reg.url]);
  assert.equal(feeds.code, 0, feeds.stderr);
  assert.match(feeds.stdout, /^alpine-secdb:v3\.10\/main\t\d+ records\t[\d.]+ h old$/m);
  const json = JSON.parse((await wharf(['vulndb', 'feeds', '--url', a.reg.url, '--json'])).stdout) as FeedsJson;
  assert.deepEqual(json.feeds.map((f) => f.feed), ['alpine-secdb:v3.10/community', 'alpine-secdb:v3.10/main', 'debian-tracker']);
  assert.ok(json.feeds.every((f) => f.vulnerabilities > 0 && !f.stale && f.fingerprint.startsWith('sha256:')));
});

test('a folder of one-advisory OSV files keeps every advisory (one command is one upload, so one feed update)', async () => {
  const r = await wharf(['vulndb', 'import', join(VULN, 'osv/npm'), '--url', a.reg.url, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const json = JSON.parse((await wharf(['vulndb', 'feeds', '--url', a.reg.url, '--json'])).stdout) as FeedsJson;
  // lodash, lodash-es, minimist, node-fetch, qs, ws, moment: one record per (advisory, npm package), 7 in all.
  assert.equal(json.feeds.find((f) => f.feed === 'osv:npm')?.vulnerabilities, 7);
});

test('air gap: export FILE on one site, import it on an empty token-auth site with --user/--password; the feeds are equal', async () => {
  const bundle = join(work, 'wharf.bundle');
  const exp = await wharf(['vulndb', 'export', bundle, '--url', a.reg.url, '--json']);
  assert.equal(exp.code, 0, exp.stderr);
  const summary = JSON.parse(exp.stdout) as { file: string; checksum: string; feeds: { feed: string; records: number }[] };
  assert.equal(summary.file, bundle);
  assert.match(summary.checksum, /^sha256:[0-9a-f]{64}$/);
  assert.ok((await readFile(bundle, 'utf8')).includes(summary.checksum));

  const empty = JSON.parse((await wharf(['vulndb', 'feeds', '--url', b.reg.url, '--json', '--user', ADMIN.user, '--password', ADMIN.password])).stdout) as FeedsJson;
  assert.deepEqual(empty.feeds, []);
  const imp = await wharf(['vulndb', 'import', bundle, '--url', b.reg.url], { WHARF_USER: ADMIN.user, WHARF_PASSWORD: ADMIN.password });
  assert.equal(imp.code, 0, imp.stderr);
  const side = async (s: Site, creds: string[]) => (JSON.parse((await wharf(['vulndb', 'feeds', '--url', s.reg.url, '--json', ...creds])).stdout) as FeedsJson)
    .feeds.map((f) => ({ feed: f.feed, fingerprint: f.fingerprint, vulnerabilities: f.vulnerabilities }));
  const fa = await side(a, []);
  assert.ok(fa.length >= 3);
  assert.deepEqual(await side(b, ['--user', ADMIN.user, '--password', ADMIN.password]), fa);
  assert.deepEqual(summary.feeds.map((f) => [f.feed, f.records]), fa.map((f) => [f.feed, f.vulnerabilities]));
});

test('token auth: no credentials, a wrong password and a non-superuser are refused with a non-zero exit', async () => {
  const user = await createUser(b.scanner.indexer.db, 'cli-plain');
  const path = join(VULN, 'secdb/alpine/v3.11/main.yaml');
  for (const creds of [[], ['--user', ADMIN.user, '--password', 'wrong'], ['--user', user.username, '--password', user.password]]) {
    const r = await wharf(['vulndb', 'import', path, '--url', b.reg.url, ...creds]);
    assert.equal(r.code, 1, `${creds.join(' ')}: ${r.stdout}`);
    assert.match(r.stderr, /HTTP (401|403)/, creds.join(' '));
    const f = await wharf(['vulndb', 'feeds', '--url', b.reg.url, ...creds]);
    assert.equal(f.code, 1);
    assert.match(f.stderr, /feeds: HTTP (401|403)/);
  }
  const feeds = JSON.parse((await wharf(['vulndb', 'feeds', '--url', b.reg.url, '--json', '--user', ADMIN.user, '--password', ADMIN.password])).stdout) as FeedsJson;
  assert.ok(!feeds.feeds.some((f) => f.feed === 'alpine-secdb:v3.11/main'), 'nothing was imported by the refused calls');
});

test('a bad path, an unreachable URL, a damaged bundle and bad usage exit non-zero with a clear message', async () => {
  const missing = await wharf(['vulndb', 'import', join(work, 'no-such-file.json'), '--url', a.reg.url]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no-such-file\.json/);
  assert.match(missing.stderr, /ENOENT|no such file/);

  const down = await wharf(['vulndb', 'feeds', '--url', 'http://127.0.0.1:1']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^wharf vulndb: .+/);

  const notFeed = join(work, 'not-a-feed.json');
  await import('node:fs/promises').then((fs) => fs.writeFile(notFeed, '{"not":"a feed"}'));
  const bad = await wharf(['vulndb', 'import', notFeed, '--url', a.reg.url]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /not-a-feed\.json: HTTP 400: /);

  const bundle = join(work, 'wharf.bundle');
  const damaged = join(work, 'damaged.bundle');
  await import('node:fs/promises').then(async (fs) => fs.writeFile(damaged, (await fs.readFile(bundle, 'utf8')).replace(/CVE-(\d{4})-(\d+)/, 'CVE-$1-9$2')));
  const dmg = await wharf(['vulndb', 'import', damaged, '--url', a.reg.url]);
  assert.equal(dmg.code, 1);
  assert.match(dmg.stderr, /HTTP 400: .*(checksum|fingerprint)/);

  const usage = await wharf(['vulndb', 'frobnicate', '--url', a.reg.url]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage: wharf vulndb/);
});
