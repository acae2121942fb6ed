// Two nodes of one region (shared database and object store): uploads continue across nodes, and what one node
// stores the other serves.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import {
  OCI_MANIFEST, bytes, expectError, ociImage, patchChunk, pushBlob, putManifestOk, randomBlob, resolve, sha256, sha512,
  startUpload, uploadId, withDigest,
} from './helpers.js';

describe('multi-node', () => {
  let reg: TestRegistry;
  let a: string;
  let b: string;

  before(async () => {
    reg = await startTestRegistry();
    a = reg.url;
    b = (await reg.addNode()).url;
    assert.notEqual(a, b);
  });
  after(async () => {
    await reg.stop();
  });

  /** The same session URL on another node. */
  const on = (node: string, loc: string) => {
    const u = new URL(loc);
    return `${node}${u.pathname}${u.search}`;
  };
  const readFrom = async (node: string, repo: string, digest: string) => {
    const r = await fetch(`${node}/v2/${repo}/blobs/${digest}`);
    assert.equal(r.status, 200);
    return bytes(r);
  };

  it('chunked upload: PATCH on A, PATCH on B, PUT on A; the digest is verified', async () => {
    const data = randomBlob(90_000, 1);
    const d = sha256(data);
    const loc = await startUpload(a, 'mn/app');
    const p1 = await patchChunk(on(a, loc), data.subarray(0, 30_000), 0);
    assert.equal(p1.status, 202);
    const p2 = await patchChunk(on(b, resolve(b, p1.headers.get('location'))), data.subarray(30_000, 60_000), 30_000);
    assert.equal(p2.status, 202, await p2.text());
    assert.equal(p2.headers.get('range'), '0-59999');
    // Status agrees on both nodes.
    for (const node of [a, b]) {
      const s = await fetch(on(node, loc));
      assert.equal(s.status, 204);
      assert.equal(s.headers.get('range'), '0-59999');
      assert.equal(s.headers.get('docker-upload-uuid'), uploadId(loc));
    }
    const fin = await fetch(withDigest(on(a, loc), d), { method: 'PUT', body: data.subarray(60_000) as unknown as BodyInit });
    assert.equal(fin.status, 201, await fin.text());
    assert.equal(fin.headers.get('docker-content-digest'), d);
    assert.deepEqual(await readFrom(a, 'mn/app', d), data);
    assert.deepEqual(await readFrom(b, 'mn/app', d), data);
  });

  it('a wrong digest is still caught when a chunk went through the other node', async () => {
    const data = randomBlob(40_000, 2);
    const loc = await startUpload(a, 'mn/app');
    assert.equal((await patchChunk(on(a, loc), data.subarray(0, 20_000), 0)).status, 202);
    assert.equal((await patchChunk(on(b, loc), data.subarray(20_000), 20_000)).status, 202);
    const wrong = sha256(data.subarray(0, 20_000));
    await expectError(await fetch(withDigest(on(a, loc), wrong), { method: 'PUT' }), 400, 'DIGEST_INVALID');
    await expectError(await fetch(`${a}/v2/mn/app/blobs/${wrong}`), 404, 'BLOB_UNKNOWN');
    await expectError(await fetch(`${b}/v2/mn/app/blobs/${sha256(data)}`), 404, 'BLOB_UNKNOWN');
  });

  it('alternating nodes A, B, A, B with a sha512 digest, finished on B', async () => {
    const data = randomBlob(40_000, 3);
    const d = sha512(data);
    const loc = await startUpload(b, 'mn/sha512');
    const nodes = [a, b, a, b];
    for (let i = 0; i < 4; i++) {
      const r = await patchChunk(on(nodes[i]!, loc), data.subarray(i * 10_000, (i + 1) * 10_000), i * 10_000);
      assert.equal(r.status, 202, await r.text());
    }
    const fin = await fetch(withDigest(on(b, loc), d), { method: 'PUT' });
    assert.equal(fin.status, 201, await fin.text());
    assert.equal(fin.headers.get('docker-content-digest'), d);
    assert.deepEqual(await readFrom(a, 'mn/sha512', d), data);
  });

  it('chunk order is enforced across nodes (416 on B after A advanced)', async () => {
    const data = randomBlob(2000, 4);
    const loc = await startUpload(a, 'mn/order');
    assert.equal((await patchChunk(on(a, loc), data.subarray(0, 1000), 0)).status, 202);
    const r = await patchChunk(on(b, loc), data.subarray(0, 1000), 0);
    assert.equal(r.headers.get('range'), '0-999');
    await expectError(r, 416, 'RANGE_INVALID');
  });

  it('a session cancelled on B is unknown on A', async () => {
    const loc = await startUpload(a, 'mn/cancel');
    assert.equal((await patchChunk(on(a, loc), randomBlob(100, 5), 0)).status, 202);
    assert.equal((await fetch(on(b, loc), { method: 'DELETE' })).status, 204);
    await expectError(await fetch(on(a, loc)), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await patchChunk(on(a, loc), randomBlob(100, 6), 100), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('blobs, manifests, tags and the catalog written on one node are served by the other', async () => {
    const content = randomBlob(500, 7);
    const d = await pushBlob(a, 'mn/shared', content);
    assert.deepEqual(await readFrom(b, 'mn/shared', d), content);
    const img = await ociImage(b, 'mn/shared', 'img');
    await putManifestOk(b, 'mn/shared', 'v1', img.manifest, OCI_MANIFEST);
    const m = await fetch(`${a}/v2/mn/shared/manifests/v1`);
    assert.equal(m.status, 200);
    assert.equal(m.headers.get('docker-content-digest'), img.digest);
    assert.deepEqual(await bytes(m), img.manifest);
    const tags = await fetch(`${a}/v2/mn/shared/tags/list`);
    assert.deepEqual(await tags.json(), { name: 'mn/shared', tags: ['v1'] });
    const catA = await (await fetch(`${a}/v2/_catalog`)).json();
    const catB = await (await fetch(`${b}/v2/_catalog`)).json();
    assert.deepEqual(catA, catB);
    assert.ok((catA as { repositories: string[] }).repositories.includes('mn/shared'));
    // Mount on A from a repository written on B.
    const mount = await fetch(`${a}/v2/mn/mounted/blobs/uploads/?mount=${img.layers[0]!.digest}&from=mn/shared`, { method: 'POST' });
    assert.equal(mount.status, 201);
    assert.equal((await fetch(`${b}/v2/mn/mounted/blobs/${img.layers[0]!.digest}`, { method: 'HEAD' })).status, 200);
    // Delete on A, gone on B.
    assert.equal((await fetch(`${a}/v2/mn/shared/manifests/${img.digest}`, { method: 'DELETE' })).status, 202);
    await expectError(await fetch(`${b}/v2/mn/shared/manifests/v1`), 404, 'MANIFEST_UNKNOWN');
  });
});
