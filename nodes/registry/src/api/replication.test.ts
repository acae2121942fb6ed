import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/db.js';
import { startTestRegistry, type TestRegistry } from '../../../../test/support/registry.js';
import { writeClusterConfig } from '../../../../test/support/cluster-config.js';
import { pushImage, sha256 } from '../../../../test/support/oci-client.js';
import { copyVerified } from '../../../../shared/storage/copy-verified.js';
import { blobKey } from '../../../../shared/storage/paths.js';
import { recordReplicatedPlacement } from '../../../../shared/db/replication.js';
import type { Digest } from '../../../../shared/oci/digest.js';

/** Two regions, one registry node in each, no replicator: what the API and the read path say while behind. */
describe('geo read path and replication status API', () => {
  let db: TestDatabase;
  let us: TestRegistry;
  let eu: TestRegistry;
  let img: Awaited<ReturnType<typeof pushImage>>;

  before(async () => {
    db = await createTestDatabase();
    const cluster = await writeClusterConfig({
      regions: ['us-east', 'eu-west'],
      replication: { namespaces: { local: { regions: ['us-east'] } } },
    });
    us = await startTestRegistry({ WHARF_CONFIG: cluster.file, WHARF_NODE_REGION: 'us-east' }, { db });
    eu = await startTestRegistry({ WHARF_CONFIG: cluster.file, WHARF_NODE_REGION: 'eu-west' }, { db });
    img = await pushImage(us.url, 'team/app', 'v1', { layers: [new Uint8Array(200_000).fill(7), new Uint8Array(1000).fill(9)] });
  });
  after(async () => {
    await us?.stop();
    await eu?.stop();
    await db.drop();
  });

  it('a pull in a region the blob has not reached yet is served from the region that has it', async () => {
    const r = await fetch(`${eu.url}/v2/team/app/blobs/${img.layers[0]}`);
    assert.equal(r.status, 200);
    assert.equal(sha256(new Uint8Array(await r.arrayBuffer())), img.layers[0]);
    const ranged = await fetch(`${eu.url}/v2/team/app/blobs/${img.layers[0]}`, { headers: { Range: 'bytes=10-19' } });
    assert.equal(ranged.status, 206);
    assert.deepEqual(new Uint8Array(await ranged.arrayBuffer()), new Uint8Array(10).fill(7));
  });

  it('reports the blob placed in us-east and pending in eu-west', async () => {
    const s = (await (await fetch(`${us.url}/api/v1/replication/blobs/${img.layers[0]}`)).json()) as any;
    assert.equal(s.digest, img.layers[0]);
    assert.equal(s.regions['us-east'].state, 'placed');
    assert.equal(s.regions['eu-west'].state, 'pending');
    assert.deepEqual(s.repositories, ['team/app']);
  });

  it('reports each region of an image as complete or with its missing digests, and the cluster backlog', async () => {
    const m = (await (await fetch(`${eu.url}/api/v1/replication/repositories/team/app/manifests/v1`)).json()) as any;
    assert.equal(m.digest, img.digest);
    assert.equal(m.blobs, 3);
    assert.equal(m.regions['us-east'].complete, true);
    assert.equal(m.regions['eu-west'].complete, false);
    assert.deepEqual([...m.regions['eu-west'].missing].sort(), [img.config, ...img.layers].sort());
    const status = (await (await fetch(`${eu.url}/api/v1/replication/status`)).json()) as any;
    const euRegion = status.regions.find((r: any) => r.region === 'eu-west');
    assert.equal(euRegion.backlog.blobs, 3);
    const metrics = await (await fetch(`${eu.url}/metrics`)).text();
    assert.match(metrics, /wharf_replication_backlog_blobs\{region="eu-west"\} 3\b/);
    assert.match(metrics, /wharf_replication_backlog_blobs\{region="us-east"\} 0\b/);
    assert.ok(euRegion.backlog.bytes >= 201_000);
    assert.equal(status.inSync, false);
  });

  it('after a verified copy the region is complete, with the lag recorded, and pulls come from home', async () => {
    for (const d of [img.config, ...img.layers]) {
      const size = Number((await fetch(`${us.url}/v2/team/app/blobs/${d}`, { method: 'HEAD' })).headers.get('content-length'));
      await copyVerified(us.node.deps.store, blobKey(d as Digest), eu.node.deps.store, blobKey(d as Digest), { digest: d as Digest, size });
      await recordReplicatedPlacement(us.node.deps.db, { digest: d, region: 'eu-west', storageKey: blobKey(d as Digest), copiedFrom: 'us-east' });
    }
    const s = (await (await fetch(`${eu.url}/api/v1/replication/blobs/${img.layers[1]}`)).json()) as any;
    assert.equal(s.regions['eu-west'].state, 'placed');
    assert.equal(s.regions['eu-west'].copiedFrom, 'us-east');
    assert.ok(s.regions['eu-west'].lagMs >= 0);
    const m = (await (await fetch(`${us.url}/api/v1/replication/repositories/team/app/manifests/${img.digest}`)).json()) as any;
    assert.equal(m.regions['eu-west'].complete, true);
    const status = (await (await fetch(`${us.url}/api/v1/replication/status`)).json()) as any;
    assert.equal(status.inSync, true);
    assert.ok(status.regions.find((r: any) => r.region === 'eu-west').lag.p50Ms >= 0);
    const r = await fetch(`${eu.url}/v2/team/app/blobs/${img.layers[0]}`);
    assert.equal(sha256(new Uint8Array(await r.arrayBuffer())), img.layers[0]);
  });

  it('honours a namespace that only us-east must hold', async () => {
    const local = await pushImage(us.url, 'local/tool', 'v1');
    const s = (await (await fetch(`${us.url}/api/v1/replication/blobs/${local.layers[0]}`)).json()) as any;
    assert.equal(s.regions['eu-west'].state, 'not-required');
    const repo = (await (await fetch(`${us.url}/api/v1/replication/repositories/local/tool`)).json()) as any;
    assert.deepEqual(Object.keys(repo.regions), ['us-east']);
    assert.equal(repo.regions['us-east'].blobs, 0);
  });

  it('a chunked upload begun in us-east and continued on an eu-west node completes in us-east', async () => {
    const data = new Uint8Array(300_000).map((_, i) => i % 251);
    const start = await fetch(`${us.url}/v2/team/cross/blobs/uploads/`, { method: 'POST' });
    let location = start.headers.get('location')!;
    const first = await fetch(`${eu.url}${location}`, {
      method: 'PATCH', body: data.subarray(0, 100_000), headers: { 'Content-Range': '0-99999', 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(first.status, 202);
    location = first.headers.get('location')!;
    const done = await fetch(`${eu.url}${location}?digest=${sha256(data)}`, {
      method: 'PUT', body: data.subarray(100_000), headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(done.status, 201, await done.text());
    const { rows } = await us.node.deps.db.query('SELECT region FROM blob_placements WHERE digest = $1', [sha256(data)]);
    assert.deepEqual(rows.map((r) => r.region), ['us-east']);
    const pulled = await fetch(`${eu.url}/v2/team/cross/blobs/${sha256(data)}`);
    assert.equal(sha256(new Uint8Array(await pulled.arrayBuffer())), sha256(data));
  });

  it('answers bad input in the OCI error envelope', async () => {
    const bad = await fetch(`${us.url}/api/v1/replication/blobs/sha256:nope`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as any).errors[0].code, 'DIGEST_INVALID');
    const unknown = await fetch(`${us.url}/api/v1/replication/blobs/sha256:${'0'.repeat(64)}`);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as any).errors[0].code, 'BLOB_UNKNOWN');
    const repo = await fetch(`${us.url}/api/v1/replication/repositories/Nope`);
    assert.equal(((await repo.json()) as any).errors[0].code, 'NAME_INVALID');
  });
});
