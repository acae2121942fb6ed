// Hostile and malformed input. Every case asserts the exact status, the OCI error envelope and code, and that the
// stored state (catalog, tags, manifests and blobs, byte for byte) did not change.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import {
  DOCKER_MANIFEST, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, assertEnvelope, body, bytes, enc, eventually,
  expectError, ociImage, patchChunk, pushBlob, putManifest, putManifestOk, randomBlob, rawRequest, sha256, snapshot,
  startUpload, truncatedRequest, uploadId, waitLease, wire, withDigest,
} from './helpers.js';

const REPO = 'h/app';

describe('hostile input', () => {
  let reg: TestRegistry;
  let base: string;
  let img: Awaited<ReturnType<typeof ociImage>>;
  let blob: Uint8Array;
  let blobDigest: string;
  let initial: Record<string, unknown>;
  const refs = () => ({ manifests: ['v1', img.digest], blobs: [blobDigest, img.config.digest, img.layers[0]!.digest] });
  const unchanged = async () => assert.deepEqual(await snapshot(base, REPO, refs()), initial);

  before(async () => {
    reg = await startTestRegistry();
    base = reg.url;
    img = await ociImage(base, REPO, 'hostile');
    await putManifestOk(base, REPO, 'v1', img.manifest, OCI_MANIFEST);
    blob = randomBlob(2048, 77);
    blobDigest = await pushBlob(base, REPO, blob);
    initial = await snapshot(base, REPO, refs());
  });
  after(async () => {
    await reg.stop();
  });

  const inFlight = async () => (await reg.node.deps.metrics.uploadsInFlight.get()).values[0]?.value ?? 0;

  describe('digests', () => {
    it('a wrong digest on monolithic POST is DIGEST_INVALID and stores nothing', async () => {
      const data = randomBlob(500, 1);
      const claimed = sha256('something else');
      const r = await fetch(`${base}/v2/${REPO}/blobs/uploads/?digest=${claimed}`, { method: 'POST', body: body(data) });
      await expectError(r, 400, 'DIGEST_INVALID');
      await expectError(await fetch(`${base}/v2/${REPO}/blobs/${claimed}`), 404, 'BLOB_UNKNOWN');
      await expectError(await fetch(`${base}/v2/${REPO}/blobs/${sha256(data)}`), 404, 'BLOB_UNKNOWN');
      await unchanged();
    });

    it('a wrong digest on the final PUT is DIGEST_INVALID; the session is discarded and nothing stored', async () => {
      const data = randomBlob(3000, 2);
      for (const chunked of [false, true]) {
        const loc = await startUpload(base, REPO);
        if (chunked) assert.equal((await patchChunk(loc, data, 0)).status, 202);
        const claimed = sha256(`not the content ${chunked}`);
        const r = await fetch(withDigest(loc, claimed), { method: 'PUT', ...(chunked ? {} : { body: body(data) }) });
        await expectError(r, 400, 'DIGEST_INVALID');
        await expectError(await fetch(`${base}/v2/${REPO}/blobs/${claimed}`), 404, 'BLOB_UNKNOWN');
        await expectError(await fetch(`${base}/v2/${REPO}/blobs/${sha256(data)}`), 404, 'BLOB_UNKNOWN');
        await expectError(await fetch(loc), 404, 'BLOB_UPLOAD_UNKNOWN');
      }
      await unchanged();
    });

    it('malformed digests are DIGEST_INVALID (400) everywhere a digest is accepted', async () => {
      const bad = [
        'sha256:xyz', `sha256:${'a'.repeat(63)}`, `sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(65)}`, 'sha256:', 'sha256', 'nodigest',
        `sha512:${'a'.repeat(64)}`, `SHA256:${'a'.repeat(64)}`,
      ];
      for (const d of bad) {
        const q = encodeURIComponent(d);
        await expectError(await fetch(`${base}/v2/${REPO}/blobs/uploads/?digest=${q}`, { method: 'POST', body: body(blob) }), 400, 'DIGEST_INVALID');
        await expectError(await fetch(`${base}/v2/${REPO}/blobs/uploads/?mount=${q}&from=${REPO}`, { method: 'POST' }), 400, 'DIGEST_INVALID');
        await expectError(await fetch(`${base}/v2/${REPO}/blobs/${d}`), 400, 'DIGEST_INVALID');
        await expectError(await fetch(`${base}/v2/${REPO}/blobs/${d}`, { method: 'DELETE' }), 400, 'DIGEST_INVALID');
        await expectError(await fetch(`${base}/v2/${REPO}/referrers/${d}`), 400, 'DIGEST_INVALID');
        if (!d.includes(':')) continue; // without ':' a manifest reference is a tag
        await expectError(await fetch(`${base}/v2/${REPO}/manifests/${d}`), 400, 'DIGEST_INVALID');
        await expectError(await fetch(`${base}/v2/${REPO}/manifests/${d}`, { method: 'DELETE' }), 400, 'DIGEST_INVALID');
        await expectError(await putManifest(base, REPO, d, img.manifest, OCI_MANIFEST), 400, 'DIGEST_INVALID');
      }
      const loc = await startUpload(base, REPO);
      for (const d of bad) {
        await expectError(await fetch(withDigest(loc, d), { method: 'PUT', body: body(blob) }), 400, 'DIGEST_INVALID');
      }
      await unchanged();
    });

    it('an unsupported algorithm (md5, sha384) is DIGEST_INVALID', async () => {
      for (const d of ['md5:d41d8cd98f00b204e9800998ecf8427e', `sha384:${'a'.repeat(96)}`]) {
        await expectError(await fetch(`${base}/v2/${REPO}/blobs/uploads/?digest=${d}`, { method: 'POST', body: body(blob) }), 400, 'DIGEST_INVALID');
        await expectError(await fetch(`${base}/v2/${REPO}/blobs/${d}`), 400, 'DIGEST_INVALID');
        await expectError(await fetch(`${base}/v2/${REPO}/blobs/${d}`, { method: 'HEAD' }), 400, 'DIGEST_INVALID', 'HEAD');
        await expectError(await fetch(`${base}/v2/${REPO}/manifests/${d}`), 400, 'DIGEST_INVALID');
        await expectError(await fetch(`${base}/v2/${REPO}/referrers/${d}`), 400, 'DIGEST_INVALID');
        const loc = await startUpload(base, REPO);
        await expectError(await fetch(withDigest(loc, d), { method: 'PUT', body: body(blob) }), 400, 'DIGEST_INVALID');
      }
      await unchanged();
    });

    it('PUT to finish without a digest parameter is DIGEST_INVALID; the session survives', async () => {
      const loc = await startUpload(base, REPO);
      const data = randomBlob(100, 3);
      assert.equal((await patchChunk(loc, data, 0)).status, 202);
      await expectError(await fetch(loc, { method: 'PUT' }), 400, 'DIGEST_INVALID');
      await expectError(await fetch(`${loc}?digest=`, { method: 'PUT' }), 400, 'DIGEST_INVALID');
      const s = await fetch(loc);
      assert.equal(s.status, 204);
      assert.equal(s.headers.get('range'), '0-99');
      await unchanged();
      const fin = await fetch(withDigest(loc, sha256(data)), { method: 'PUT' });
      assert.equal(fin.status, 201);
    });

    it('a manifest PUT by a digest that does not match the body is DIGEST_INVALID', async () => {
      const other = await ociImage(base, REPO, 'mismatch');
      await expectError(await putManifest(base, REPO, img.digest, other.manifest, OCI_MANIFEST), 400, 'DIGEST_INVALID');
      await expectError(await fetch(`${base}/v2/${REPO}/manifests/${other.digest}`), 404, 'MANIFEST_UNKNOWN');
      await unchanged();
    });
  });

  describe('bodies on the wire', () => {
    it('a truncated monolithic POST stores nothing', async () => {
      const data = randomBlob(20_000, 4);
      const d = sha256(data);
      const sent = await truncatedRequest(base, wire('POST', `/v2/${REPO}/blobs/uploads/?digest=${d}`, {
        'Content-Type': 'application/octet-stream', 'Content-Length': data.length,
      }, data.subarray(0, 5000)), () => eventually(async () => (await inFlight()) === 1, 'upload streaming'));
      assert.equal(sent, 'closed');
      await eventually(async () => (await inFlight()) === 0, 'upload finished');
      await expectError(await fetch(`${base}/v2/${REPO}/blobs/${d}`), 404, 'BLOB_UNKNOWN');
      await unchanged();
    });

    it('a truncated chunk leaves the upload where it was', async () => {
      const data = randomBlob(4000, 5);
      const loc = await startUpload(base, REPO);
      assert.equal((await patchChunk(loc, data.subarray(0, 1000), 0)).status, 202);
      const sent = await truncatedRequest(base, wire('PATCH', new URL(loc).pathname, {
        'Content-Length': 3000, 'Content-Range': '1000-3999',
      }, data.subarray(1000, 2000)), () => waitLease(reg.db.url, uploadId(loc), true));
      assert.equal(sent, 'closed');
      await waitLease(reg.db.url, uploadId(loc), false);
      assert.equal((await fetch(loc)).headers.get('range'), '0-999');
      await unchanged();
    });

    it('a truncated manifest PUT stores nothing', async () => {
      const other = await ociImage(base, REPO, 'truncated-manifest');
      // The whole valid manifest is sent, but Content-Length promises more.
      const sent = await truncatedRequest(base, wire('PUT', `/v2/${REPO}/manifests/v2`, {
        'Content-Type': OCI_MANIFEST, 'Content-Length': other.manifest.length + 100,
      }, other.manifest));
      assert.equal(sent, 'closed');
      await expectError(await fetch(`${base}/v2/${REPO}/manifests/v2`), 404, 'MANIFEST_UNKNOWN');
      await expectError(await fetch(`${base}/v2/${REPO}/manifests/${other.digest}`), 404, 'MANIFEST_UNKNOWN');
      await unchanged();
    });

    it('Content-Range gaps and malformed Content-Range are 416 RANGE_INVALID; the upload is unchanged', async () => {
      const data = randomBlob(3000, 6);
      const loc = await startUpload(base, REPO);
      assert.equal((await patchChunk(loc, data.subarray(0, 1000), 0)).status, 202);
      for (const range of ['1001-1999', '2000-2999', '999-1999', '0-999']) {
        const [s, e] = range.split('-').map(Number) as [number, number];
        const r = await fetch(loc, { method: 'PATCH', body: body(data.subarray(s, e + 1)), headers: { 'Content-Range': range } });
        assert.equal(r.headers.get('range'), '0-999', range);
        assert.ok(r.headers.get('location')?.endsWith(uploadId(loc)));
        await expectError(r, 416, 'RANGE_INVALID');
      }
      for (const range of ['abc', '5-2', '-5', 'bytes=0-10', '1000-']) {
        const r = await fetch(loc, { method: 'PATCH', body: body(data.subarray(1000, 1010)), headers: { 'Content-Range': range } });
        await expectError(r, 416, 'RANGE_INVALID');
      }
      assert.equal((await fetch(loc)).headers.get('range'), '0-999');
      await unchanged();
    });

    it('Content-Length that disagrees with Content-Range is 400 SIZE_INVALID', async () => {
      const data = randomBlob(3000, 7);
      const loc = await startUpload(base, REPO);
      assert.equal((await patchChunk(loc, data.subarray(0, 1000), 0)).status, 202);
      // fetch sets Content-Length from the body: 500 bytes for a range of 1000.
      const r = await fetch(loc, { method: 'PATCH', body: body(data.subarray(1000, 1500)), headers: { 'Content-Range': '1000-1999' } });
      await expectError(r, 400, 'SIZE_INVALID');
      const p = await fetch(withDigest(loc, sha256(data)), { method: 'PUT', body: body(data.subarray(1000, 1500)), headers: { 'Content-Range': '1000-2999' } });
      await expectError(p, 400, 'SIZE_INVALID');
      assert.equal((await fetch(loc)).headers.get('range'), '0-999');
      await unchanged();
    });

    it('a Content-Length shorter than the body: only that many bytes count; the rest is the next request', async () => {
      // Request smuggling shape: the declared length ends the body early and the remaining bytes form a second
      // request. The first request must be judged on exactly Content-Length bytes.
      const data = randomBlob(900, 8);
      const smuggled = enc('GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      const all = new Uint8Array([...data, ...smuggled]);
      const claimed = sha256(all);
      const r = await rawRequest(base, wire('POST', `/v2/${REPO}/blobs/uploads/?digest=${claimed}`, {
        'Content-Type': 'application/octet-stream', 'Content-Length': data.length,
      }, all));
      assert.notEqual(r, 'closed');
      if (r === 'closed') return;
      assert.equal(r.status, 400, r.body);
      assertEnvelope(r.body, 'DIGEST_INVALID');
      await expectError(await fetch(`${base}/v2/${REPO}/blobs/${claimed}`), 404, 'BLOB_UNKNOWN');
      await expectError(await fetch(`${base}/v2/${REPO}/blobs/${sha256(data)}`), 404, 'BLOB_UNKNOWN');
      await unchanged();
    });
  });

  describe('manifests', () => {
    const bigManifest = () => {
      const m = enc(JSON.stringify({
        schemaVersion: 2, mediaType: OCI_MANIFEST, config: img.config, layers: img.layers,
        annotations: { filler: 'x'.repeat(5 * 1024 * 1024) },
      }));
      assert.ok(m.length > 5 * 1024 * 1024);
      return m;
    };

    it('a 5 MiB manifest is 413 MANIFEST_INVALID (with Content-Length)', async () => {
      const r = await putManifest(base, REPO, 'big', bigManifest(), OCI_MANIFEST);
      await expectError(r, 413, 'MANIFEST_INVALID');
      await expectError(await fetch(`${base}/v2/${REPO}/manifests/big`), 404, 'MANIFEST_UNKNOWN');
      await unchanged();
    });

    it('a 5 MiB manifest is 413 MANIFEST_INVALID (streamed, no Content-Length)', async () => {
      const m = bigManifest();
      const stream = new ReadableStream<Uint8Array>({
        start(ctl) {
          for (let i = 0; i < m.length; i += 256 * 1024) ctl.enqueue(m.slice(i, i + 256 * 1024));
          ctl.close();
        },
      });
      const r = await fetch(`${base}/v2/${REPO}/manifests/big`, {
        method: 'PUT', body: stream, duplex: 'half', headers: { 'Content-Type': OCI_MANIFEST },
      } as RequestInit);
      await expectError(r, 413, 'MANIFEST_INVALID');
      await expectError(await fetch(`${base}/v2/${REPO}/manifests/big`), 404, 'MANIFEST_UNKNOWN');
      await unchanged();
    });

    it('invalid JSON, wrong shapes and wrong schema versions are MANIFEST_INVALID', async () => {
      const cases = [
        '{"schemaVersion":2,', 'not json', '', '[]', 'null', '{"schemaVersion":3}',
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: img.config }), // no layers
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...img.config, digest: 'sha256:nope' }, layers: [] }),
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { ...img.config, size: -1 }, layers: [] }),
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: 'x' }),
        JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: img.config, layers: [] }),
      ];
      for (const c of cases) {
        const ct = c.includes(OCI_INDEX) ? OCI_INDEX : c.includes(DOCKER_MANIFEST) ? DOCKER_MANIFEST : OCI_MANIFEST;
        await expectError(await putManifest(base, REPO, 'v1', enc(c), ct), 400, 'MANIFEST_INVALID');
      }
      await unchanged();
    });

    it('an unknown manifest media type is MANIFEST_INVALID', async () => {
      const weird = 'application/vnd.example.unknown.manifest+json';
      const inBody = enc(JSON.stringify({ schemaVersion: 2, mediaType: weird, config: img.config, layers: img.layers }));
      await expectError(await putManifest(base, REPO, 'v1', inBody, weird), 400, 'MANIFEST_INVALID');
      const noField = enc(JSON.stringify({ schemaVersion: 2, config: img.config, layers: img.layers }));
      await expectError(await putManifest(base, REPO, 'v1', noField, weird), 400, 'MANIFEST_INVALID');
      await expectError(await putManifest(base, REPO, 'v1', noField, 'text/plain'), 400, 'MANIFEST_INVALID');
      await unchanged();
    });

    it('a mediaType that disagrees with Content-Type is MANIFEST_INVALID', async () => {
      const m = enc(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: img.config, layers: img.layers, n: 1 }));
      await expectError(await putManifest(base, REPO, 'v1', m, DOCKER_MANIFEST), 400, 'MANIFEST_INVALID');
      await expectError(await putManifest(base, REPO, 'v1', m, OCI_INDEX), 400, 'MANIFEST_INVALID');
      await expectError(await fetch(`${base}/v2/${REPO}/manifests/${sha256(m)}`), 404, 'MANIFEST_UNKNOWN');
      await unchanged();
    });

    it('a manifest referencing a missing blob in a new repository creates nothing', async () => {
      const m = enc(JSON.stringify({
        schemaVersion: 2, mediaType: OCI_MANIFEST,
        config: { mediaType: OCI_CONFIG, digest: sha256('absent config'), size: 14 },
        layers: [{ mediaType: OCI_LAYER, digest: sha256('absent layer'), size: 12 }],
      }));
      await expectError(await putManifest(base, 'h/fresh', 'v1', m, OCI_MANIFEST), 400, 'MANIFEST_BLOB_UNKNOWN');
      await expectError(await fetch(`${base}/v2/h/fresh/tags/list`), 404, 'NAME_UNKNOWN');
      await unchanged();
    });

    it('bad tags are TAG_INVALID', async () => {
      for (const tag of ['-bad', '.bad', 'a'.repeat(129), 'bad+tag', 'bad%20tag', 'b%C3%A4d']) {
        await expectError(await putManifest(base, REPO, tag, img.manifest, OCI_MANIFEST), 400, 'TAG_INVALID');
        await expectError(await fetch(`${base}/v2/${REPO}/manifests/${tag}`), 400, 'TAG_INVALID');
        await expectError(await fetch(`${base}/v2/${REPO}/manifests/${tag}`, { method: 'DELETE' }), 400, 'TAG_INVALID');
      }
      await unchanged();
    });
  });

  describe('names and routes', () => {
    const badNames = ['Foo/bar', 'h/App', 'a//b', 'foo-', '-foo', 'foo_', 'a___b', 'a..b', 'a/.b', '.a', 'a/b/', 'a%2Fb', '..%2Fx', 'x'.repeat(256)]; // dot segments: see below

    it('invalid repository names are NAME_INVALID (400) on every route', async () => {
      for (const name of badNames) {
        const d = sha256('x');
        const attempts: [string, RequestInit][] = [
          [`/v2/${name}/tags/list`, {}],
          [`/v2/${name}/manifests/latest`, {}],
          [`/v2/${name}/manifests/latest`, { method: 'PUT', body: body(img.manifest), headers: { 'Content-Type': OCI_MANIFEST } }],
          [`/v2/${name}/blobs/${d}`, {}],
          [`/v2/${name}/blobs/uploads/`, { method: 'POST' }],
          [`/v2/${name}/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', body: body(blob) }],
          [`/v2/${name}/referrers/${d}`, {}],
        ];
        for (const [path, init] of attempts) {
          await expectError(await fetch(`${base}${path}`, init), 400, 'NAME_INVALID');
        }
      }
      await unchanged();
    });

    it('dot segments in the path are NAME_INVALID, never resolved to another repository', async () => {
      // fetch would normalise these, so they go out verbatim.
      const paths = [
        `/v2/../x/tags/list`,
        `/v2/h/../${REPO}/tags/list`,
        `/v2/${REPO}/../app/manifests/v1`,
        `/v2/h/%2e%2e/${REPO}/manifests/v1`,
        `/v2/./${REPO}/blobs/${blobDigest}`,
        `/v2/h/app/./manifests/v1`,
        `/v2/${REPO}/blobs/uploads/%2E%2E`,
        `/v2/${REPO}/manifests/..`,
        `/v2/..`,
        `/foo/../v2/`,
      ];
      for (const path of paths) {
        const r = await rawRequest(base, wire('GET', path, { Connection: 'close' }));
        assert.notEqual(r, 'closed', path);
        if (r === 'closed') continue;
        assert.equal(r.status, 400, `${path}: ${r.status} ${r.body}`);
        assertEnvelope(r.body, 'NAME_INVALID');
      }
      await unchanged();
    });

    it('a mount from an invalid repository name is NAME_INVALID', async () => {
      for (const from of ['../x', 'Foo/bar', 'a//b', 'foo-']) {
        const r = await fetch(`${base}/v2/h/mount-target/blobs/uploads/?mount=${blobDigest}&from=${encodeURIComponent(from)}`, { method: 'POST' });
        await expectError(r, 400, 'NAME_INVALID');
      }
      await expectError(await fetch(`${base}/v2/h/mount-target/blobs/${blobDigest}`), 404, 'BLOB_UNKNOWN');
      await unchanged();
    });

    it('unknown upload ids are BLOB_UPLOAD_UNKNOWN (404), non-UUID ids too', async () => {
      const ids = ['0f4b8a4e-6c4b-4a51-9c51-8a3f3f1e2d7c', 'not-a-uuid', '0F4B8A4E-6C4B-4A51-9C51-8A3F3F1E2D7C', 'x'.repeat(300), "1'%20OR%20'1'='1"];
      for (const id of ids) {
        const u = `${base}/v2/${REPO}/blobs/uploads/${id}`;
        await expectError(await fetch(u), 404, 'BLOB_UPLOAD_UNKNOWN');
        await expectError(await fetch(u, { method: 'PATCH', body: body(blob) }), 404, 'BLOB_UPLOAD_UNKNOWN');
        await expectError(await fetch(`${u}?digest=${blobDigest}`, { method: 'PUT', body: body(blob) }), 404, 'BLOB_UPLOAD_UNKNOWN');
        await expectError(await fetch(u, { method: 'DELETE' }), 404, 'BLOB_UPLOAD_UNKNOWN');
      }
      // A real session id under a repository that never saw it.
      const loc = await startUpload(base, 'h/other');
      await expectError(await fetch(`${base}/v2/${REPO}/blobs/uploads/${uploadId(loc)}`), 404, 'BLOB_UPLOAD_UNKNOWN');
      await unchanged();
    });

    it('a Range beyond the blob is 416 RANGE_INVALID', async () => {
      const r = await fetch(`${base}/v2/${REPO}/blobs/${blobDigest}`, { headers: { Range: `bytes=${blob.length}-${blob.length + 10}` } });
      assert.equal(r.headers.get('content-range'), `bytes */${blob.length}`);
      await expectError(r, 416, 'RANGE_INVALID');
      await unchanged();
    });

    it('a method a route does not serve is 405 UNSUPPORTED with Allow', async () => {
      const cases: [string, string, string][] = [
        ['PUT', '/v2/', 'GET, HEAD'],
        ['DELETE', '/v2/_catalog', 'GET'],
        ['POST', `/v2/${REPO}/tags/list`, 'GET'],
        ['POST', `/v2/${REPO}/manifests/v1`, 'GET, HEAD, PUT, DELETE'],
        ['PATCH', `/v2/${REPO}/manifests/v1`, 'GET, HEAD, PUT, DELETE'],
        ['PUT', `/v2/${REPO}/blobs/${blobDigest}`, 'HEAD, GET, DELETE'],
        ['POST', `/v2/${REPO}/blobs/${blobDigest}`, 'HEAD, GET, DELETE'],
        ['GET', `/v2/${REPO}/blobs/uploads/`, 'POST'],
        ['DELETE', `/v2/${REPO}/referrers/${blobDigest}`, 'GET'],
      ];
      for (const [method, path, allow] of cases) {
        const r = await fetch(`${base}${path}`, { method });
        const got = (r.headers.get('allow') ?? '').split(/,\s*/).sort();
        assert.deepEqual(got, allow.split(', ').sort(), `${method} ${path}`);
        await expectError(r, 405, 'UNSUPPORTED');
      }
      await unchanged();
    });

    it('unknown paths are 404 NOT_FOUND in the envelope', async () => {
      for (const path of ['/v2/h/app/nothing', '/v2/h/app/manifests/', '/v2/h/app/blobs/', '/v2/_catalog/extra', '/v3/', '/nope']) {
        await expectError(await fetch(`${base}${path}`), 404, 'NOT_FOUND');
      }
      await unchanged();
    });
  });
});
