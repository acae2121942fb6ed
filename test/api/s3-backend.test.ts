import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ensureCeph, type CephS3 } from '../support/ceph.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { pushImage, sha256 } from '../support/oci-client.js';

/** The registry in production shape: object storage on a real S3 server (Ceph RGW), two nodes behind one front. */
describe('registry on S3 (Ceph RGW)', () => {
  let ceph: CephS3;
  let reg: TestRegistry;
  before(async () => {
    ceph = await ensureCeph();
    reg = await startTestRegistry({
      WHARF_STORAGE_DRIVER: 's3',
      WHARF_STORAGE_S3_ENDPOINT: ceph.endpoint,
      WHARF_STORAGE_S3_REGION: ceph.region,
      WHARF_STORAGE_S3_BUCKET: `wharf-reg-${randomBytes(4).toString('hex')}`,
      WHARF_STORAGE_S3_ACCESS_KEY_ID: ceph.accessKeyId,
      WHARF_STORAGE_S3_SECRET_ACCESS_KEY: ceph.secretAccessKey,
      WHARF_STORAGE_S3_PART_SIZE: String(5 * 1024 * 1024),
      WHARF_STORAGE_REDIRECT: 'true',
    });
  });
  after(async () => {
    await reg?.stop();
    await ceph?.stop();
  });

  it('answers a blob pull with a redirect to a presigned URL that serves the exact bytes', async () => {
    const layer = randomBytes(300_000);
    const img = await pushImage(reg.url, 's3/app', 'v1', { layers: [layer] });
    const r = await fetch(`${reg.url}/v2/s3/app/blobs/${img.layers[0]}`, { redirect: 'manual' });
    assert.equal(r.status, 307);
    const location = r.headers.get('location')!;
    assert.match(location, /^http:\/\/127\.0\.0\.1:\d+\/.*X-Amz-Signature=/);
    const direct = await fetch(location);
    assert.equal(direct.status, 200);
    assert.equal(sha256(new Uint8Array(await direct.arrayBuffer())), img.layers[0]);
  });

  it('continues a chunked upload across two nodes sharing the bucket, with chunks that straddle part boundaries', async () => {
    const b = await reg.addNode();
    const nodes = [reg.url, b.url];
    const data = randomBytes(13 * 1024 * 1024 + 12345);
    const chunks = [1_000, 6 * 1024 * 1024, 77, 4 * 1024 * 1024, data.length - (1_000 + 6 * 1024 * 1024 + 77 + 4 * 1024 * 1024)];
    const start = await fetch(`${reg.url}/v2/s3/chunked/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    let location = start.headers.get('location')!;
    let offset = 0;
    for (const [i, n] of chunks.entries()) {
      const body = data.subarray(offset, offset + n);
      const r = await fetch(`${nodes[i % 2]}${location}`, {
        method: 'PATCH', body,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + n - 1}`, 'Content-Length': String(n) },
      });
      assert.equal(r.status, 202, await r.text());
      offset += n;
      assert.equal(r.headers.get('range'), `0-${offset - 1}`);
      location = r.headers.get('location')!;
    }
    const digest = sha256(data);
    const done = await fetch(`${nodes[1]}${location}?digest=${digest}`, { method: 'PUT' });
    assert.equal(done.status, 201, await done.text());
    assert.equal(done.headers.get('docker-content-digest'), digest);
    const head = await fetch(`${reg.url}/v2/s3/chunked/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(data.length));
    const pulled = await fetch(`${reg.url}/v2/s3/chunked/blobs/${digest}`);
    assert.equal(sha256(new Uint8Array(await pulled.arrayBuffer())), digest);
  });
});
