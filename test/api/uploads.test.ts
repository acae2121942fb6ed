// Blob upload protocol: monolithic, POST+PUT, chunked PATCH (with and without Content-Range), 416 on bad order,
// status, cancel, cross-repository mounts, and a truncated chunk that is retried.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import {
  body, bytes, expectError, patchChunk, pushBlob, randomBlob, resolve, sha256, startUpload, truncatedRequest, uploadId,
  waitLease, wire, withDigest,
} from './helpers.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('blob uploads', () => {
  let reg: TestRegistry;
  let base: string;

  before(async () => {
    reg = await startTestRegistry();
    base = reg.url;
  });
  after(async () => {
    await reg.stop();
  });

  const readBlob = async (repo: string, digest: string) => {
    const r = await fetch(`${base}/v2/${repo}/blobs/${digest}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-content-digest'), digest);
    return bytes(r);
  };
  const status = async (loc: string) => {
    const r = await fetch(loc);
    assert.equal(r.status, 204, await r.text());
    return r;
  };

  it('POST ?digest= stores the blob in one request (201, Location, Docker-Content-Digest)', async () => {
    const data = randomBlob(4096, 1);
    const d = sha256(data);
    const r = await fetch(`${base}/v2/up/mono/blobs/uploads/?digest=${d}`, {
      method: 'POST', body: body(data), headers: { 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), `/v2/up/mono/blobs/${d}`);
    assert.equal(r.headers.get('docker-content-digest'), d);
    assert.deepEqual(await readBlob('up/mono', d), data);
    // Pushing the same blob again is fine.
    assert.equal(await pushBlob(base, 'up/mono', data), d);
  });

  it('POST opens a session: 202 with Location, Range 0-0 and Docker-Upload-UUID', async () => {
    const r = await fetch(`${base}/v2/up/session/blobs/uploads/`, { method: 'POST' });
    assert.equal(r.status, 202);
    const loc = r.headers.get('location')!;
    const id = r.headers.get('docker-upload-uuid')!;
    assert.match(id, UUID_RE);
    assert.equal(loc, `/v2/up/session/blobs/uploads/${id}`);
    assert.equal(r.headers.get('range'), '0-0');
    assert.equal(r.headers.get('content-length'), '0');
  });

  it('POST then a single PUT ?digest= with the whole body', async () => {
    const data = randomBlob(5000, 2);
    const d = sha256(data);
    const loc = await startUpload(base, 'up/single');
    const r = await fetch(withDigest(loc, d), { method: 'PUT', body: body(data), headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('location'), `/v2/up/single/blobs/${d}`);
    assert.equal(r.headers.get('docker-content-digest'), d);
    assert.deepEqual(await readBlob('up/single', d), data);
    // The session is gone once completed.
    await expectError(await fetch(loc), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('chunked PATCH with Content-Range, status after each chunk, PUT without body', async () => {
    const data = randomBlob(3 * 1000 + 17, 3);
    const d = sha256(data);
    let loc = await startUpload(base, 'up/chunked');
    const id = uploadId(loc);
    const cuts = [0, 1000, 2000, data.length];
    for (let i = 0; i < 3; i++) {
      const r = await patchChunk(loc, data.subarray(cuts[i]!, cuts[i + 1]!), cuts[i]);
      assert.equal(r.status, 202, await r.text());
      assert.equal(r.headers.get('range'), `0-${cuts[i + 1]! - 1}`);
      assert.equal(r.headers.get('docker-upload-uuid'), id);
      loc = resolve(base, r.headers.get('location'));
      const s = await status(loc);
      assert.equal(s.headers.get('range'), `0-${cuts[i + 1]! - 1}`);
      assert.equal(s.headers.get('docker-upload-uuid'), id);
      assert.equal(resolve(base, s.headers.get('location')), loc);
    }
    const r = await fetch(withDigest(loc, d), { method: 'PUT' });
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('docker-content-digest'), d);
    assert.deepEqual(await readBlob('up/chunked', d), data);
  });

  it('accepts the RFC form "bytes a-b/*" of Content-Range and a last chunk in the PUT', async () => {
    const data = randomBlob(1500, 4);
    const d = sha256(data);
    const loc = await startUpload(base, 'up/rfc');
    const r1 = await fetch(loc, { method: 'PATCH', body: body(data.subarray(0, 1000)), headers: { 'Content-Range': 'bytes 0-999/*' } });
    assert.equal(r1.status, 202, await r1.text());
    const r2 = await fetch(withDigest(resolve(base, r1.headers.get('location')), d), {
      method: 'PUT', body: body(data.subarray(1000)), headers: { 'Content-Range': '1000-1499', 'Content-Type': 'application/octet-stream' },
    });
    assert.equal(r2.status, 201, await r2.text());
    assert.deepEqual(await readBlob('up/rfc', d), data);
  });

  it('PATCH streamed without Content-Range or Content-Length (chunked transfer encoding)', async () => {
    const data = randomBlob(200_000, 5);
    const d = sha256(data);
    const loc = await startUpload(base, 'up/stream');
    const stream = new ReadableStream<Uint8Array>({
      start(ctl) {
        for (let i = 0; i < data.length; i += 30_000) ctl.enqueue(data.slice(i, i + 30_000));
        ctl.close();
      },
    });
    const r = await fetch(loc, { method: 'PATCH', body: stream, duplex: 'half', headers: { 'Content-Type': 'application/octet-stream' } } as RequestInit);
    assert.equal(r.status, 202, await r.text());
    assert.equal(r.headers.get('range'), `0-${data.length - 1}`);
    // A second streamed PATCH appends at the end.
    const tail = randomBlob(10, 6);
    const r2 = await patchChunk(resolve(base, r.headers.get('location')), tail);
    assert.equal(r2.status, 202);
    assert.equal(r2.headers.get('range'), `0-${data.length + tail.length - 1}`);
    const all = new Uint8Array([...data, ...tail]);
    const fin = await fetch(withDigest(resolve(base, r2.headers.get('location')), sha256(all)), { method: 'PUT' });
    assert.equal(fin.status, 201, await fin.text());
    assert.deepEqual(await readBlob('up/stream', sha256(all)), all);
    assert.notEqual(sha256(all), d);
  });

  it('out-of-order and overlapping chunks are 416 RANGE_INVALID with Range and Location; the upload continues', async () => {
    const data = randomBlob(3000, 7);
    const d = sha256(data);
    const loc = await startUpload(base, 'up/order');
    const ok = await patchChunk(loc, data.subarray(0, 1000), 0);
    assert.equal(ok.status, 202);

    // A gap: starts at 1500 while the upload holds 1000 bytes.
    const gap = await patchChunk(loc, data.subarray(1500, 2000), 1500);
    assert.equal(gap.headers.get('range'), '0-999');
    assert.equal(resolve(base, gap.headers.get('location')), loc);
    await expectError(gap, 416, 'RANGE_INVALID');

    // Overlap: starts inside what is already there.
    const overlap = await patchChunk(loc, data.subarray(500, 1500), 500);
    assert.equal(overlap.headers.get('range'), '0-999');
    assert.equal(resolve(base, overlap.headers.get('location')), loc);
    await expectError(overlap, 416, 'RANGE_INVALID');

    // Resending the first chunk is also an overlap.
    await expectError(await patchChunk(loc, data.subarray(0, 1000), 0), 416, 'RANGE_INVALID');

    const s = await status(loc);
    assert.equal(s.headers.get('range'), '0-999');
    const next = await patchChunk(loc, data.subarray(1000), 1000);
    assert.equal(next.status, 202);
    assert.equal(next.headers.get('range'), '0-2999');
    const fin = await fetch(withDigest(loc, d), { method: 'PUT' });
    assert.equal(fin.status, 201, await fin.text());
    assert.deepEqual(await readBlob('up/order', d), data);
  });

  it('an out-of-order final chunk on PUT is 416 too', async () => {
    const data = randomBlob(2000, 8);
    const loc = await startUpload(base, 'up/order-put');
    assert.equal((await patchChunk(loc, data.subarray(0, 1000), 0)).status, 202);
    const r = await fetch(withDigest(loc, sha256(data)), {
      method: 'PUT', body: body(data.subarray(1200)), headers: { 'Content-Range': '1200-1999' },
    });
    assert.equal(r.headers.get('range'), '0-999');
    await expectError(r, 416, 'RANGE_INVALID');
    const fin = await fetch(withDigest(loc, sha256(data)), {
      method: 'PUT', body: body(data.subarray(1000)), headers: { 'Content-Range': '1000-1999' },
    });
    assert.equal(fin.status, 201, await fin.text());
    assert.deepEqual(await readBlob('up/order-put', sha256(data)), data);
  });

  it('DELETE cancels the session (204); later requests on it are BLOB_UPLOAD_UNKNOWN', async () => {
    const data = randomBlob(100, 9);
    const loc = await startUpload(base, 'up/cancel');
    assert.equal((await patchChunk(loc, data, 0)).status, 202);
    const del = await fetch(loc, { method: 'DELETE' });
    assert.equal(del.status, 204);
    await del.arrayBuffer();
    await expectError(await fetch(loc), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await patchChunk(loc, data, 100), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await fetch(withDigest(loc, sha256(data)), { method: 'PUT' }), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await fetch(loc, { method: 'DELETE' }), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await fetch(`${base}/v2/up/cancel/blobs/${sha256(data)}`), 404, 'BLOB_UNKNOWN');
  });

  it('a session belongs to its repository', async () => {
    const loc = await startUpload(base, 'up/owner');
    const id = uploadId(loc);
    await pushBlob(base, 'up/stranger', randomBlob(5, 10)); // the other repository exists
    await expectError(await fetch(`${base}/v2/up/stranger/blobs/uploads/${id}`), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await patchChunk(`${base}/v2/up/stranger/blobs/uploads/${id}`, randomBlob(5, 11)), 404, 'BLOB_UPLOAD_UNKNOWN');
    await status(loc);
  });

  it('cross-repository mount with mount&from answers 201', async () => {
    const data = randomBlob(777, 12);
    const d = await pushBlob(base, 'up/mount-src', data);
    const r = await fetch(`${base}/v2/up/mount-dst/blobs/uploads/?mount=${d}&from=up/mount-src`, { method: 'POST' });
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('location'), `/v2/up/mount-dst/blobs/${d}`);
    assert.equal(r.headers.get('docker-content-digest'), d);
    assert.deepEqual(await readBlob('up/mount-dst', d), data);
  });

  it('mounting an unknown blob (or from a repository without it) falls back to a 202 upload session', async () => {
    const data = randomBlob(300, 13);
    const d = sha256(data);
    await pushBlob(base, 'up/mount-empty', randomBlob(3, 14));
    for (const from of ['up/mount-src', 'up/mount-empty', 'up/no-such-repo']) {
      const r = await fetch(`${base}/v2/up/mount-miss/blobs/uploads/?mount=${d}&from=${from}`, { method: 'POST' });
      assert.equal(r.status, 202, await r.text());
      assert.match(r.headers.get('docker-upload-uuid') ?? '', UUID_RE);
      assert.equal(r.headers.get('range'), '0-0');
      const loc = resolve(base, r.headers.get('location'));
      if (from === 'up/no-such-repo') {
        const fin = await fetch(withDigest(loc, d), { method: 'PUT', body: body(data) });
        assert.equal(fin.status, 201, await fin.text());
      }
    }
    assert.deepEqual(await readBlob('up/mount-miss', d), data);
    // A blob that exists elsewhere but not in `from` is not mounted from there.
    const other = await pushBlob(base, 'up/mount-holder', randomBlob(20, 15));
    const r = await fetch(`${base}/v2/up/mount-miss2/blobs/uploads/?mount=${other}&from=up/mount-empty`, { method: 'POST' });
    assert.equal(r.status, 202);
    await expectError(await fetch(`${base}/v2/up/mount-miss2/blobs/${other}`), 404, 'BLOB_UNKNOWN');
  });

  it('automatic mount (mount without from) answers 201 when the registry holds the blob', async () => {
    const data = randomBlob(555, 16);
    const d = await pushBlob(base, 'up/auto-src', data);
    const r = await fetch(`${base}/v2/up/auto-dst/blobs/uploads/?mount=${d}`, { method: 'POST' });
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('docker-content-digest'), d);
    assert.equal(r.headers.get('location'), `/v2/up/auto-dst/blobs/${d}`);
    assert.deepEqual(await readBlob('up/auto-dst', d), data);
    // Unknown anywhere: a session.
    const miss = await fetch(`${base}/v2/up/auto-dst/blobs/uploads/?mount=${sha256('nobody has this')}`, { method: 'POST' });
    assert.equal(miss.status, 202);
  });

  const truncatedPatch = async (loc: string, chunk: Uint8Array, start: number | undefined) => {
    const path = new URL(loc).pathname + new URL(loc).search;
    const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream', 'Content-Length': chunk.length };
    if (start !== undefined) headers['Content-Range'] = `${start}-${start + chunk.length - 1}`;
    // Half of the announced bytes; once the server is writing the chunk (it holds the lease), the connection goes away.
    const sent = await truncatedRequest(base, wire('PATCH', path, headers, chunk.subarray(0, chunk.length >> 1)),
      () => waitLease(reg.db.url, uploadId(loc), true));
    assert.equal(sent, 'closed');
    await waitLease(reg.db.url, uploadId(loc), false);
  };

  for (const variant of ['with Content-Range', 'without Content-Range'] as const) {
    it(`a truncated chunk (${variant}) leaves the upload at its previous offset; retrying the chunk succeeds`, async () => {
      const data = randomBlob(30_000, variant.length);
      const d = sha256(data);
      const repo = `up/truncated-${variant.startsWith('with ') ? 'cr' : 'nocr'}`;
      const loc = await startUpload(base, repo);
      const first = await patchChunk(loc, data.subarray(0, 10_000), variant === 'with Content-Range' ? 0 : undefined);
      assert.equal(first.status, 202);

      await truncatedPatch(loc, data.subarray(10_000, 20_000), variant === 'with Content-Range' ? 10_000 : undefined);
      const s = await status(loc);
      assert.equal(s.headers.get('range'), '0-9999');

      const retry = await patchChunk(loc, data.subarray(10_000, 20_000), variant === 'with Content-Range' ? 10_000 : undefined);
      assert.equal(retry.status, 202, await retry.text());
      assert.equal(retry.headers.get('range'), '0-19999');
      const last = await patchChunk(loc, data.subarray(20_000), variant === 'with Content-Range' ? 20_000 : undefined);
      assert.equal(last.status, 202);
      const fin = await fetch(withDigest(loc, d), { method: 'PUT' });
      assert.equal(fin.status, 201, await fin.text());
      assert.deepEqual(await readBlob(repo, d), data);
    });
  }

  it('a truncated first chunk leaves the upload empty; the retry succeeds', async () => {
    const data = randomBlob(8000, 17);
    const loc = await startUpload(base, 'up/truncated-first');
    await truncatedPatch(loc, data, 0);
    assert.equal((await status(loc)).headers.get('range'), '0-0');
    const retry = await patchChunk(loc, data, 0);
    assert.equal(retry.status, 202, await retry.text());
    const fin = await fetch(withDigest(loc, sha256(data)), { method: 'PUT' });
    assert.equal(fin.status, 201, await fin.text());
    assert.deepEqual(await readBlob('up/truncated-first', sha256(data)), data);
  });

  it('a truncated final PUT leaves the upload at its offset; the PUT can be retried', async () => {
    const data = randomBlob(9000, 18);
    const d = sha256(data);
    const loc = await startUpload(base, 'up/truncated-put');
    assert.equal((await patchChunk(loc, data.subarray(0, 4000), 0)).status, 202);
    const u = new URL(withDigest(loc, d));
    const tail = data.subarray(4000);
    const sent = await truncatedRequest(base, wire('PUT', u.pathname + u.search, {
      'Content-Type': 'application/octet-stream', 'Content-Length': tail.length, 'Content-Range': `4000-${data.length - 1}`,
    }, tail.subarray(0, 100)), () => waitLease(reg.db.url, uploadId(loc), true));
    assert.equal(sent, 'closed');
    await waitLease(reg.db.url, uploadId(loc), false);
    await expectError(await fetch(`${base}/v2/up/truncated-put/blobs/${d}`), 404, 'BLOB_UNKNOWN');
    assert.equal((await status(loc)).headers.get('range'), '0-3999');
    const fin = await fetch(withDigest(loc, d), { method: 'PUT', body: body(tail), headers: { 'Content-Range': `4000-${data.length - 1}` } });
    assert.equal(fin.status, 201, await fin.text());
    assert.deepEqual(await readBlob('up/truncated-put', d), data);
  });
});
