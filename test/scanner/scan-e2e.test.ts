import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { pushImage } from '../support/oci-client.js';
import { startScannerNode, type RunningScanner } from '../../nodes/scanner/src/node.js';
import { VULN_DATA } from '../support/vuln-data.js';

/**
 * The scanner end to end on the real corpus (../shared/data/vuln): images built from real layers are pushed to a
 * registry, indexed by a scanner node from the registry's store, matched against real feeds imported through the
 * registry's API, reported in Clair's and Quay's shapes; a feed update that makes an indexed image vulnerable
 * delivers a signed vulnerability_found webhook.
 */
const VULN = VULN_DATA;
let db: TestDatabase;
let reg: TestRegistry;
let scanner: RunningScanner;
let work: string;
const images: Record<string, string> = {};
let receiver: Server;
let receiverUrl: string;
const received: { body: string; signature: string | undefined }[] = [];

async function importFile(path: string): Promise<{ imported: { feed: string; status: string; vulnerabilities: number }[] }> {
  const r = await fetch(`${reg.url}/api/v1/vulndb/import?name=${encodeURIComponent(path)}`, { method: 'POST', body: await readFile(path) });
  assert.equal(r.status, 200, await r.clone().text());
  return (await r.json()) as { imported: { feed: string; status: string; vulnerabilities: number }[] };
}

async function waitIndexed(digest: string): Promise<Record<string, unknown>> {
  // Generous: the suite shares two cores with other test files; this is a wait for an event, not a timing claim.
  const deadline = Date.now() + 180_000;
  for (;;) {
    const r = await fetch(`${scanner.url}/indexer/api/v1/index_report/${digest}`);
    if (r.status === 200) {
      const body = (await r.json()) as { state: string; err: string };
      if (body.state === 'IndexFinished') return body;
      if (body.state === 'IndexError' && body.err.includes('gave up')) assert.fail(`indexing failed: ${body.err}`);
    }
    if (Date.now() > deadline) assert.fail(`manifest ${digest} was not indexed in time`);
    await new Promise((r2) => setTimeout(r2, 250));
  }
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'wharf-scan-'));
  db = await createTestDatabase();
  const storage = join(work, 'storage');
  const env = { WHARF_DATABASE_URL: db.url, WHARF_STORAGE_FILESYSTEM_ROOT: storage, WHARF_DATA_DIR: work };
  const config = loadConfig({ ...env, WHARF_SCANNER_PORT: '0', WHARF_SERVER_HOST: '127.0.0.1', WHARF_SCANNER_POLL_SECONDS: '1', WHARF_LOG_LEVEL: 'silent' });
  scanner = await startScannerNode(config, { log: createLogger({ level: process.env.WHARF_TEST_LOG_LEVEL ?? 'silent', bindings: { node: 'scanner-test' } }) });
  reg = await startTestRegistry({ ...env, WHARF_AUTH_MODE: 'open', WHARF_SCANNER_URL: scanner.url, WHARF_NOTIFICATIONS_POLL_SECONDS: '1' }, { db });

  const layer = (p: string) => readFile(join(VULN, 'layers', p));
  execFileSync('tar', ['-xzf', join(VULN, 'layers/alpine-3.10.4.docker-save.tar.gz'), '-C', work]);
  const alpineDir = (await readdir(work, { withFileTypes: true })).find((d) => d.isDirectory() && /^[0-9a-f]{64}$/.test(d.name))!;
  const minbase = await layer('debian-bookworm-minbase.dpkgdb.layer.tar');
  images.debianPython = (await pushImage(reg.url, 'corpus/debian-python', 'v1', { layers: [minbase, await layer('debian-bookworm-python.meta.layer.tar.gz')] })).digest;
  images.alpine = (await pushImage(reg.url, 'corpus/alpine', '3.10.4', { layers: [await readFile(join(work, alpineDir.name, 'layer.tar'))] })).digest;
  images.npm = (await pushImage(reg.url, 'corpus/npm-app', 'v1', { layers: [minbase, await layer('npm-app.meta.layer.tar.gz')] })).digest;

  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['x-wharf-signature-256'] as string | undefined });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
});

after(async () => {
  await reg?.stop();
  await scanner?.close();
  receiver?.close();
  await db?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

test('pushed images are indexed from the registry\'s store, with layers coalesced and packages as the package managers see them', async () => {
  for (const d of Object.values(images)) await waitIndexed(d);
  const report = async (d: string) => (await (await fetch(`${scanner.url}/indexer/api/v1/index_report/${d}`)).json()) as {
    packages: Record<string, { name: string; version: string; format: string; source?: { name: string } }>; distributions: Record<string, { did: string; version_id: string; version_code_name: string }>;
  };
  const deb = await report(images.debianPython!);
  const debPkgs = Object.values(deb.packages);
  // The python layer rewrote dpkg's status: its 135 packages replace the base layer's 88, they do not add up.
  assert.equal(debPkgs.filter((p) => p.format === 'dpkg').length, 135);
  assert.ok(debPkgs.some((p) => p.format === 'pypi' && p.name.toLowerCase() === 'requests'));
  assert.deepEqual(Object.values(deb.distributions).map((d) => [d.did, d.version_id, d.version_code_name]), [['debian', '12', 'bookworm']]);

  const alp = await report(images.alpine!);
  const apk = Object.values(alp.packages).filter((p) => p.format === 'apk');
  assert.equal(apk.length, 14);
  assert.equal(apk.find((p) => p.name === 'libssl1.1')?.source?.name, 'openssl');
  assert.deepEqual(Object.values(alp.distributions).map((d) => [d.did, d.version_id]), [['alpine', '3.10.4']]);

  const npm = await report(images.npm!);
  assert.equal(Object.values(npm.packages).filter((p) => p.format === 'npm').length, 76);
  assert.equal(Object.values(npm.packages).filter((p) => p.format === 'dpkg').length, 88);

  // The shared base layer was read once: one result row per scanner for it, however many images use it.
  const rows = await scanner.indexer.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM scan_layer_results WHERE layer_digest = (SELECT ref_digest FROM manifest_references WHERE manifest_digest = $1 AND ref_kind = 'blob' AND ref_media_type LIKE '%layer%' LIMIT 1) AND scanner = 'dpkg'`,
    [images.npm],
  );
  assert.equal(rows.rows[0]!.n, 1);
});

test('feeds import through the registry; importing the same data again is a no-op', async () => {
  const first = await importFile(join(VULN, 'secdb/alpine/v3.10-final.vuln-list/main/openssl.json'));
  assert.equal(first.imported[0]!.status, 'imported');
  const again = await importFile(join(VULN, 'secdb/alpine/v3.10-final.vuln-list/main/openssl.json'));
  assert.deepEqual(again.imported.map((i) => i.status), ['unchanged']);
  const feeds = (await (await fetch(`${reg.url}/api/v1/vulndb/feeds`)).json()) as { feeds: { feed: string; stale: boolean }[] };
  assert.ok(feeds.feeds.length >= 1);
  assert.ok(feeds.feeds.every((f) => !f.stale));
  const bad = await fetch(`${reg.url}/api/v1/vulndb/import?name=x.json`, { method: 'POST', body: '{"not":"a feed"}' });
  assert.equal(bad.status, 400);
});

test('the Alpine image matches exactly the openssl fixes newer than its 1.1.1d-r2, through Quay\'s security endpoint', async () => {
  const r = await fetch(`${reg.url}/api/v1/repository/corpus/alpine/manifest/${images.alpine}/security?vulnerabilities=true`);
  assert.equal(r.status, 200);
  const body = (await r.json()) as { status: string; data: { Layer: { Features: { Name: string; Version: string; Vulnerabilities: { Name: string; FixedBy: string; Severity: string; Link: string }[] }[] } } };
  assert.equal(body.status, 'scanned');
  const ssl = body.data.Layer.Features.find((f) => f.Name === 'libssl1.1')!;
  assert.equal(ssl.Version, '1.1.1d-r2');
  const ids = ssl.Vulnerabilities.map((v) => v.Name).sort();
  assert.deepEqual(ids, ['CVE-2020-1967', 'CVE-2020-1971', 'CVE-2021-23839', 'CVE-2021-23840', 'CVE-2021-23841', 'CVE-2021-3449', 'CVE-2021-3450']);
  assert.equal(ssl.Vulnerabilities.find((v) => v.Name === 'CVE-2020-1967')?.FixedBy, '1.1.1g-r0');
  const musl = body.data.Layer.Features.find((f) => f.Name === 'musl')!;
  assert.deepEqual(musl.Vulnerabilities, [], 'openssl records do not touch other packages');
  const unknown = await fetch(`${reg.url}/api/v1/repository/corpus/alpine/manifest/sha256:${'0'.repeat(64)}/security`);
  assert.equal(unknown.status, 404);
});

test('a feed update that makes an indexed image vulnerable delivers a signed vulnerability_found webhook', async () => {
  const created = await fetch(`${reg.url}/api/v1/repository/corpus/npm-app/notification/`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ event: 'vulnerability_found', method: 'webhook', config: { url: receiverUrl, secret: 'scan-secret' }, title: 'vulns' }),
  });
  assert.equal(created.status, 201, await created.clone().text());
  // Baseline: the image was matched (nothing known yet for lodash), so only what the update adds is news.
  const before = await (await fetch(`${scanner.url}/matcher/api/v1/vulnerability_report/${images.npm}`)).json() as { vulnerabilities: object };
  assert.equal(Object.keys(before.vulnerabilities).length, 0);
  const out = await importFile(join(VULN, 'osv/npm/GHSA-p6mc-m468-83gw.json'));
  assert.equal(out.imported[0]!.status, 'imported');
  const deadline = Date.now() + 60_000;
  while (!received.some((x) => x.body.includes('GHSA-p6mc-m468-83gw')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const hit = received.find((x) => x.body.includes('GHSA-p6mc-m468-83gw'));
  assert.ok(hit, 'the webhook arrived');
  const expected = `sha256=${createHmac('sha256', 'scan-secret').update(hit.body).digest('hex')}`;
  assert.ok(hit.signature && timingSafeEqual(Buffer.from(hit.signature), Buffer.from(expected)), 'signature verifies');
  const event = JSON.parse(hit.body) as { type: string; data: { repository: string; digest: string; vulnerabilities: { id: string; package: string; version: string; fixedBy: string }[] } };
  assert.equal(event.data.repository, 'corpus/npm-app');
  assert.equal(event.data.digest, images.npm);
  assert.deepEqual(event.data.vulnerabilities.map((v) => [v.id, v.package, v.version, v.fixedBy]), [['GHSA-p6mc-m468-83gw', 'lodash', '4.17.15', '4.17.20']]);
  // The report changed without re-indexing: the index report's time is the same as before the import.
  const affected = (await (await fetch(`${reg.url}/api/v1/vulnerabilities/CVE-2020-8203/manifests`)).json()) as { manifests: { repository: string }[] };
  assert.deepEqual(affected.manifests.map((m) => m.repository), ['corpus/npm-app']);
});

test('export and import move the whole database as one checksummed bundle; a damaged bundle is refused', async () => {
  const bundle = await (await fetch(`${reg.url}/api/v1/vulndb/export`)).text();
  const doc = JSON.parse(bundle) as { checksum: string; feeds: { feed: string; records: unknown[] }[] };
  assert.ok(doc.feeds.length >= 2);
  const path = join(work, 'db.bundle');
  await import('node:fs/promises').then((fs) => fs.writeFile(path, bundle));
  const again = await importFile(path);
  assert.ok(again.imported.every((i) => i.status === 'unchanged'));
  const damaged = bundle.replace('CVE-2020-1967', 'CVE-2020-1968');
  const r = await fetch(`${reg.url}/api/v1/vulndb/import?name=damaged.bundle`, { method: 'POST', body: damaged });
  assert.equal(r.status, 400);
});
