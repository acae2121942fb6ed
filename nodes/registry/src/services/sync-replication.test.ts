import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/db.js';
import { startTestRegistry, type TestRegistry } from '../../../../test/support/registry.js';
import { writeClusterConfig } from '../../../../test/support/cluster-config.js';
import { pushBlob, sha256 } from '../../../../test/support/oci-client.js';
import { blobKey } from '../../../../shared/storage/paths.js';
import type { Digest } from '../../../../shared/oci/digest.js';

describe('synchronous replication (syncRegions)', () => {
  let db: TestDatabase;
  let us: TestRegistry;
  const regionsOf = async (digest: string) =>
    (await us.node.deps.db.query<{ region: string }>('SELECT region FROM blob_placements WHERE digest = $1 ORDER BY region', [digest])).rows.map((r) => r.region);

  before(async () => {
    db = await createTestDatabase();
    const cluster = await writeClusterConfig({
      regions: ['us-east', 'eu-west', 'ap-south'],
      nearest: { 'us-east': ['eu-west', 'ap-south'] },
      replication: {
        namespaces: {
          prod: { regions: 'all', syncRegions: 2 },
          critical: { regions: ['us-east', 'ap-south'], syncRegions: 2 },
        },
      },
    });
    // ap-south's store is an S3 endpoint nothing listens on: that region is down.
    const cfg = JSON.parse(await readFile(cluster.file, 'utf8'));
    cfg.cluster.regions['ap-south'].storage = {
      driver: 's3', s3: { endpoint: 'http://127.0.0.1:1', bucket: 'down', accessKeyId: 'x', secretAccessKey: 'y' },
    };
    await writeFile(cluster.file, JSON.stringify(cfg));
    us = await startTestRegistry({ WHARF_CONFIG: cluster.file, WHARF_NODE_REGION: 'us-east' }, { db });
  });
  after(async () => {
    await us?.stop();
    await db.drop();
  });

  it('acknowledges a push only once the blob is verified in two regions (the nearest live one)', async () => {
    const data = new TextEncoder().encode(`sync-${Math.random()}`);
    const digest = await pushBlob(us.url, 'prod/app', data);
    assert.deepEqual(await regionsOf(digest), ['eu-west', 'us-east']);
    const copy = await us.node.deps.stores.get('eu-west');
    assert.equal(sha256(await copy.readSmall(blobKey(digest as Digest))), digest);
  });

  it('refuses to acknowledge (503) when too few regions can take the blob, and keeps what it stored', async () => {
    const data = new TextEncoder().encode(`critical-${Math.random()}`);
    const digest = sha256(data);
    const r = await fetch(`${us.url}/v2/critical/app/blobs/uploads/?digest=${digest}`, { method: 'POST', body: data });
    assert.equal(r.status, 503);
    const body = (await r.json()) as { errors: { code: string; message: string; detail: { placed: string[] } }[] };
    assert.equal(body.errors[0]!.code, 'UNAVAILABLE');
    assert.match(body.errors[0]!.message, /requires 2/);
    assert.deepEqual(body.errors[0]!.detail.placed, ['us-east']);
    assert.deepEqual(await regionsOf(digest), ['us-east']);
  });

  it('a pull whose only holder is a dead region answers 503, and bytes missing everywhere 404', async () => {
    const digest = await pushBlob(us.url, 'dev/gone', new TextEncoder().encode(`gone-${Math.random()}`));
    await us.node.deps.db.query(`UPDATE blob_placements SET region = 'ap-south' WHERE digest = $1`, [digest]);
    const dead = await fetch(`${us.url}/v2/dev/gone/blobs/${digest}`);
    assert.equal(dead.status, 503);
    assert.equal(((await dead.json()) as { errors: { code: string }[] }).errors[0]!.code, 'UNAVAILABLE');
    await us.node.deps.db.query(`UPDATE blob_placements SET region = 'us-east' WHERE digest = $1`, [digest]);
    await us.node.deps.store.delete(blobKey(digest as Digest));
    const missing = await fetch(`${us.url}/v2/dev/gone/blobs/${digest}`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { errors: { code: string }[] }).errors[0]!.code, 'BLOB_UNKNOWN');
  });

  it('leaves namespaces without a sync policy asynchronous', async () => {
    const digest = await pushBlob(us.url, 'dev/app', new TextEncoder().encode(`async-${Math.random()}`));
    assert.deepEqual(await regionsOf(digest), ['us-east']);
  });
});
