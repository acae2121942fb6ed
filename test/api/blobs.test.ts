// Blob reads and deletes through the real HTTP API: base check, GET/HEAD, Range, DELETE, sha512, nested names.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import {
  body, bytes, expectError, pushBlob, randomBlob, resolve, sha256, sha512, startUpload, withDigest,
} from './helpers.js';

describe('blobs', () => {
  let reg: TestRegistry;
  let base: string;
  const data = randomBlob(1000, 7);
  let digest: string;

  before(async () => {
    reg = await startTestRegistry();
    base = reg.url;
    digest = await pushBlob(base, 'blobs/one', data);
  });
  after(async () => {
    await reg.stop();
  });

  it('GET /v2/ and /v2 answer 200 with the API version header', async () => {
    for (const path of ['/v2/', '/v2']) {
      const r = await fetch(`${base}${path}`);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
      await r.arrayBuffer();
    }
    const h = await fetch(`${base}/v2/`, { method: 'HEAD' });
    assert.equal(h.status, 200);
  });

  it('GET returns the bytes with Content-Length and Docker-Content-Digest', async () => {
    const r = await fetch(`${base}/v2/blobs/one/blobs/${digest}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-content-digest'), digest);
    assert.equal(r.headers.get('content-length'), String(data.length));
    assert.deepEqual(await bytes(r), data);
  });

  it('HEAD returns the size and digest without a body', async () => {
    const r = await fetch(`${base}/v2/blobs/one/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-content-digest'), digest);
    assert.equal(r.headers.get('content-length'), String(data.length));
    assert.equal((await bytes(r)).length, 0);
  });

  it('unknown blobs are BLOB_UNKNOWN (404) on GET and a bodiless 404 on HEAD', async () => {
    const missing = sha256('never pushed');
    await expectError(await fetch(`${base}/v2/blobs/one/blobs/${missing}`), 404, 'BLOB_UNKNOWN');
    await expectError(await fetch(`${base}/v2/blobs/one/blobs/${missing}`, { method: 'HEAD' }), 404, 'BLOB_UNKNOWN', 'HEAD');
    // Unknown repository.
    await expectError(await fetch(`${base}/v2/nowhere/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
  });

  it('a blob pushed to one repository is not readable through another', async () => {
    await pushBlob(base, 'blobs/other', randomBlob(10, 99));
    await expectError(await fetch(`${base}/v2/blobs/other/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
  });

  it('Range requests answer 206 with Content-Range', async () => {
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=10-19', 10, 19],
      ['bytes=990-', 990, 999],
      ['bytes=-5', 995, 999],
      ['bytes=900-5000', 900, 999], // end past the size is clamped (RFC 9110)
    ];
    for (const [range, start, end] of cases) {
      const r = await fetch(`${base}/v2/blobs/one/blobs/${digest}`, { headers: { Range: range } });
      assert.equal(r.status, 206, range);
      assert.equal(r.headers.get('content-range'), `bytes ${start}-${end}/${data.length}`, range);
      assert.equal(r.headers.get('content-length'), String(end - start + 1), range);
      assert.equal(r.headers.get('docker-content-digest'), digest);
      assert.deepEqual(await bytes(r), data.subarray(start, end + 1), range);
    }
  });

  it('a Range starting at or beyond the size is 416 RANGE_INVALID with Content-Range */size', async () => {
    for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0']) {
      const r = await fetch(`${base}/v2/blobs/one/blobs/${digest}`, { headers: { Range: range } });
      assert.equal(r.headers.get('content-range'), `bytes */${data.length}`, range);
      await expectError(r, 416, 'RANGE_INVALID');
    }
    // The blob is unchanged.
    assert.deepEqual(await bytes(await fetch(`${base}/v2/blobs/one/blobs/${digest}`)), data);
  });

  it('serves an empty blob', async () => {
    const d = await pushBlob(base, 'blobs/one', new Uint8Array(0));
    assert.equal(d, 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const r = await fetch(`${base}/v2/blobs/one/blobs/${d}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), '0');
    assert.equal((await bytes(r)).length, 0);
  });

  it('pushes (monolithic and POST+PUT) and pulls a blob by sha512 digest', async () => {
    const a = randomBlob(3000, 512);
    const da = sha512(a);
    const r1 = await fetch(`${base}/v2/blobs/sha/blobs/uploads/?digest=${da}`, { method: 'POST', body: body(a) });
    assert.equal(r1.status, 201, await r1.text());
    assert.equal(r1.headers.get('docker-content-digest'), da);
    assert.equal(r1.headers.get('location'), `/v2/blobs/sha/blobs/${da}`);

    const b = randomBlob(2000, 513);
    const db = sha512(b);
    const loc = await startUpload(base, 'blobs/sha');
    const r2 = await fetch(withDigest(loc, db), { method: 'PUT', body: body(b), headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(r2.status, 201, await r2.text());
    assert.equal(r2.headers.get('docker-content-digest'), db);

    for (const [d, content] of [[da, a], [db, b]] as const) {
      const g = await fetch(`${base}/v2/blobs/sha/blobs/${d}`);
      assert.equal(g.status, 200);
      assert.equal(g.headers.get('docker-content-digest'), d);
      assert.deepEqual(await bytes(g), content);
      const h = await fetch(`${base}/v2/blobs/sha/blobs/${d}`, { method: 'HEAD' });
      assert.equal(h.status, 200);
      assert.equal(h.headers.get('content-length'), String(content.length));
    }
    // The sha256 of the same bytes was never pushed.
    await expectError(await fetch(`${base}/v2/blobs/sha/blobs/${sha256(a)}`), 404, 'BLOB_UNKNOWN');
  });

  it('works with nested repository names (a/b/c/d)', async () => {
    const content = randomBlob(64, 4);
    const d = await pushBlob(base, 'a/b/c/d', content);
    const r = await fetch(`${base}/v2/a/b/c/d/blobs/${d}`);
    assert.equal(r.status, 200);
    assert.deepEqual(await bytes(r), content);
    await expectError(await fetch(`${base}/v2/a/b/c/blobs/${d}`), 404, 'BLOB_UNKNOWN');
  });

  it('DELETE answers 202, unlinks the blob from that repository only, and a second DELETE is BLOB_UNKNOWN', async () => {
    const content = randomBlob(100, 42);
    const d = await pushBlob(base, 'blobs/del', content);
    await pushBlob(base, 'blobs/keep', content);
    const r = await fetch(`${base}/v2/blobs/del/blobs/${d}`, { method: 'DELETE' });
    assert.equal(r.status, 202);
    assert.equal(r.headers.get('docker-content-digest'), d);
    await r.arrayBuffer();
    await expectError(await fetch(`${base}/v2/blobs/del/blobs/${d}`), 404, 'BLOB_UNKNOWN');
    await expectError(await fetch(`${base}/v2/blobs/del/blobs/${d}`, { method: 'HEAD' }), 404, 'BLOB_UNKNOWN', 'HEAD');
    await expectError(await fetch(`${base}/v2/blobs/del/blobs/${d}`, { method: 'DELETE' }), 404, 'BLOB_UNKNOWN');
    const kept = await fetch(`${base}/v2/blobs/keep/blobs/${d}`);
    assert.equal(kept.status, 200);
    assert.deepEqual(await bytes(kept), content);
    // Pushing it again makes it readable again.
    await pushBlob(base, 'blobs/del', content);
    assert.deepEqual(await bytes(await fetch(`${base}/v2/blobs/del/blobs/${d}`)), content);
  });

  it('a monolithic POST answers 201 with Location and Docker-Content-Digest', async () => {
    const content = randomBlob(10, 10);
    const d = sha256(content);
    const r = await fetch(`${base}/v2/blobs/one/blobs/uploads/?digest=${d}`, { method: 'POST', body: body(content) });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('docker-content-digest'), d);
    const loc = resolve(base, r.headers.get('location'));
    assert.deepEqual(await bytes(await fetch(loc)), content);
  });
});
