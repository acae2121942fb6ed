import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPool, type Pool } from '../../shared/db/pool.js';
import { migrate } from '../../shared/db/migrate.js';
import { createLogger } from '../../shared/logging/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { exportBundle, importFeedBytes } from '../../nodes/scanner/src/vulndb.js';
import { VULN_DATA } from '../support/vuln-data.js';

/** Air-gap bundles: signed with an Ed25519 key on the connected side, verified against trusted keys on the other. */
const log = createLogger({ level: 'silent', bindings: { node: 'test' } });
let source: { db: TestDatabase; pool: Pool };
let target: { db: TestDatabase; pool: Pool };
const open = async () => {
  const db = await createTestDatabase();
  const pool = createPool({ connectionString: db.url, max: 4 });
  await migrate(pool, log);
  return { db, pool };
};
const exporter = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');

before(async () => {
  source = await open();
  target = await open();
  const feed = await readFile(join(VULN_DATA, 'secdb/alpine/v3.10/main.yaml'));
  const r = await importFeedBytes(source.pool, 'main.yaml', feed);
  assert.equal(r[0]!.status, 'imported');
});
after(async () => {
  for (const s of [source, target]) {
    await s?.pool.end();
    await s?.db.drop();
  }
});

test('a signed bundle imports as verified where its key is trusted, and again as a no-op', async () => {
  const bundle = Buffer.from(await exportBundle(source.pool, exporter.privateKey));
  const first = await importFeedBytes(target.pool, 'b', bundle, { trusted: [exporter.publicKey] });
  assert.deepEqual(first.map((x) => [x.status, x.signature]), [['imported', 'verified']]);
  const second = await importFeedBytes(target.pool, 'b', bundle, { trusted: [exporter.publicKey] });
  assert.deepEqual(second.map((x) => x.status), ['unchanged']);
});

test('bundles signed by an untrusted key, unsigned, or with a forged signature are refused where keys are trusted', async () => {
  const byStranger = Buffer.from(await exportBundle(source.pool, stranger.privateKey));
  await assert.rejects(importFeedBytes(target.pool, 'b', byStranger, { trusted: [exporter.publicKey] }), /does not trust/);
  const unsigned = Buffer.from(await exportBundle(source.pool));
  await assert.rejects(importFeedBytes(target.pool, 'b', unsigned, { trusted: [exporter.publicKey] }), /not signed/);
  const doc = JSON.parse((await exportBundle(source.pool, exporter.privateKey))) as { signature: { value: string } };
  doc.signature.value = Buffer.alloc(64, 1).toString('base64');
  await assert.rejects(importFeedBytes(target.pool, 'b', Buffer.from(JSON.stringify(doc)), { trusted: [exporter.publicKey] }), /does not verify/);
});

test('without trusted keys a signature cannot be checked, and the import says so', async () => {
  const signed = Buffer.from(await exportBundle(source.pool, exporter.privateKey));
  const r = await importFeedBytes(target.pool, 'b', signed);
  assert.ok(r.every((x) => x.signature === 'unverified'));
});
