import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../../../../test/support/registry.js';
import { pushBlob, pushImage, sha256 } from '../../../../test/support/oci-client.js';
import { mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectGarbage } from './gc.js';
import { blobKey } from '../../../../shared/storage/paths.js';
import { NotFoundError } from '../../../../shared/storage/driver.js';
import type { Digest } from '../../../../shared/oci/digest.js';

describe('garbage collection', () => {
  let reg: TestRegistry;
  const age = (digest: string, seconds = 3600) =>
    reg.node.deps.db.query(`UPDATE blobs SET last_seen_at = now() - make_interval(secs => $2) WHERE digest = $1`, [digest, seconds]);
  const bytesExist = async (digest: string) => {
    try {
      await reg.node.deps.store.stat(blobKey(digest as Digest));
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  };
  const gc = () => collectGarbage(reg.node.deps, { graceSeconds: 300, uploadExpirySeconds: 60, uploadMaxAgeSeconds: 3600 });

  before(async () => {
    reg = await startTestRegistry();
  });
  after(async () => {
    await reg.stop();
  });

  it('removes unreferenced blobs past the grace period and keeps referenced and recent ones', async () => {
    const img = await pushImage(reg.url, 'gc/app', 'v1');
    const orphan = await pushBlob(reg.url, 'gc/app', new TextEncoder().encode(`orphan-${Math.random()}`));
    const recent = await pushBlob(reg.url, 'gc/app', new TextEncoder().encode(`recent-${Math.random()}`));
    for (const d of [img.config, ...img.layers, orphan]) await age(d);
    const report = await gc();
    assert.ok(report.blobsDeleted >= 1);
    assert.equal(await bytesExist(orphan), false);
    assert.equal((await fetch(`${reg.url}/v2/gc/app/blobs/${orphan}`, { method: 'HEAD' })).status, 404);
    for (const d of [img.config, ...img.layers, recent]) {
      assert.equal(await bytesExist(d), true, `${d} must survive`);
      assert.equal((await fetch(`${reg.url}/v2/gc/app/blobs/${d}`, { method: 'HEAD' })).status, 200);
    }
  });

  it('collects the layers of a deleted manifest, but not those another manifest still uses', async () => {
    const shared = new TextEncoder().encode(`shared-${Math.random()}`);
    const a = await pushImage(reg.url, 'gc/a', 'v1', { layers: [shared, new TextEncoder().encode(`only-a-${Math.random()}`)] });
    await pushImage(reg.url, 'gc/b', 'v1', { layers: [shared] });
    assert.equal((await fetch(`${reg.url}/v2/gc/a/manifests/${a.digest}`, { method: 'DELETE' })).status, 202);
    for (const d of [a.config, ...a.layers]) await age(d);
    await gc();
    assert.equal(await bytesExist(a.layers[1]!), false, 'layer only a used is gone');
    assert.equal(await bytesExist(a.config), false);
    assert.equal(await bytesExist(sha256(shared)), true, 'layer b still uses survives');
  });

  it('a HEAD that tells a client the blob exists restarts its grace period', async () => {
    const d = await pushBlob(reg.url, 'gc/head', new TextEncoder().encode(`head-${Math.random()}`));
    await age(d);
    assert.equal((await fetch(`${reg.url}/v2/gc/head/blobs/${d}`, { method: 'HEAD' })).status, 200);
    await gc();
    assert.equal(await bytesExist(d), true);
  });

  it('a push racing the collector never leaves a blob row without bytes', async () => {
    for (let i = 0; i < 15; i++) {
      const layer = new TextEncoder().encode(`race-${i}-${Math.random()}`);
      const d = await pushBlob(reg.url, 'gc/race', layer);
      await age(d);
      // The client re-pushes the same layer and then a manifest using it, while the collector runs.
      const [, img] = await Promise.all([gc(), (async () => {
        await pushBlob(reg.url, 'gc/race', layer);
        return pushImage(reg.url, 'gc/race', `t${i}`, { layers: [layer] });
      })()]);
      const r = await fetch(`${reg.url}/v2/gc/race/blobs/${img.layers[0]}`);
      assert.equal(r.status, 200);
      assert.equal(sha256(new Uint8Array(await r.arrayBuffer())), d);
    }
    const { rows } = await reg.node.deps.db.query<{ digest: string }>(
      `SELECT b.digest FROM blobs b JOIN blob_placements p ON p.digest = b.digest`);
    for (const { digest } of rows) assert.equal(await bytesExist(digest), true, `${digest} has a row but no bytes`);
  });

  it('sweeps scratch a crashed writer left behind, and only old scratch', async () => {
    const tmp = join(reg.dataDir, 'storage', '~tmp');
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, 'crashed-writer'), 'half a layer');
    await writeFile(join(tmp, 'live-writer'), 'a layer in progress');
    const old = new Date(Date.now() - 3 * 3600 * 1000);
    await utimes(join(tmp, 'crashed-writer'), old, old);
    const report = await gc();
    assert.equal(report.scratchRemoved, 1);
    assert.deepEqual(await readdir(tmp), ['live-writer']);
    await rm(join(tmp, 'live-writer'));
  });

  it('expires upload sessions older than the maximum age even while they are being used', async () => {
    const start = await fetch(`${reg.url}/v2/gc/old/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.get('location')!;
    await reg.node.deps.db.query(`UPDATE uploads SET started_at = now() - interval '2 hours'`);
    assert.ok((await gc()).uploadsExpired >= 1);
    assert.equal((await fetch(`${reg.url}${location}`)).status, 404);
  });

  it('expires abandoned upload sessions and their bytes', async () => {
    const start = await fetch(`${reg.url}/v2/gc/uploads/blobs/uploads/`, { method: 'POST' });
    const location = start.headers.get('location')!;
    const patch = await fetch(`${reg.url}${location}`, { method: 'PATCH', body: 'partial', headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(patch.status, 202);
    assert.equal((await readdir(join(reg.dataDir, 'storage', '~tmp'))).length, 1, 'the suspended chunk sits in a temp file');
    await reg.node.deps.db.query(`UPDATE uploads SET updated_at = now() - interval '2 hours'`);
    const report = await gc();
    assert.ok(report.uploadsExpired >= 1);
    assert.equal((await fetch(`${reg.url}${location}`)).status, 404);
    const left: string[] = [];
    for await (const k of reg.node.deps.store.list('uploads')) left.push(k);
    assert.deepEqual(left, []);
    const scratch = await readdir(join(reg.dataDir, 'storage', '~tmp')).catch(() => []);
    assert.deepEqual(scratch, [], 'the expired writer\'s temp file is gone too');
  });
});
