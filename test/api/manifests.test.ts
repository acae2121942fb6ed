// Manifest API: GET/HEAD/PUT/DELETE by tag and digest for OCI image manifests, OCI indexes, Docker schema 2
// manifests and Docker manifest lists; reference checks; schema 1 refusal; subject → OCI-Subject; deletes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import {
  DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LIST, DOCKER_MANIFEST, OCI_CONFIG, OCI_EMPTY, OCI_INDEX, OCI_LAYER, OCI_MANIFEST,
  bytes, descOf, enc, expectError, ociImage, pushBlob, putManifest, putManifestOk, sha256, sha512, snapshot,
} from './helpers.js';

const ACCEPT_ALL = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].join(', ');

describe('manifests', () => {
  let reg: TestRegistry;
  let base: string;

  before(async () => {
    reg = await startTestRegistry();
    base = reg.url;
  });
  after(async () => {
    await reg.stop();
  });

  const get = (repo: string, ref: string, method = 'GET') =>
    fetch(`${base}/v2/${repo}/manifests/${ref}`, { method, headers: { Accept: ACCEPT_ALL } });

  /** GET and HEAD by every reference return the exact bytes, type and digest. */
  const expectManifest = async (repo: string, refs: string[], manifest: Uint8Array, mediaType: string, digest = sha256(manifest)) => {
    for (const ref of refs) {
      const g = await get(repo, ref);
      assert.equal(g.status, 200, `${ref}: ${g.status}`);
      assert.equal(g.headers.get('content-type'), mediaType);
      assert.equal(g.headers.get('docker-content-digest'), digest);
      assert.equal(g.headers.get('content-length'), String(manifest.length));
      assert.deepEqual(await bytes(g), manifest);
      const h = await get(repo, ref, 'HEAD');
      assert.equal(h.status, 200);
      assert.equal(h.headers.get('content-type'), mediaType);
      assert.equal(h.headers.get('docker-content-digest'), digest);
      assert.equal(h.headers.get('content-length'), String(manifest.length));
      assert.equal((await bytes(h)).length, 0);
    }
  };

  const tagsOf = async (repo: string) => {
    const r = await fetch(`${base}/v2/${repo}/tags/list`);
    assert.equal(r.status, 200);
    return ((await r.json()) as { tags: string[] }).tags;
  };

  it('OCI image manifest: PUT by tag answers 201 with Location and Docker-Content-Digest; GET/HEAD by tag and digest', async () => {
    const img = await ociImage(base, 'm/oci', 'oci-1');
    const r = await putManifest(base, 'm/oci', 'v1', img.manifest, OCI_MANIFEST);
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('docker-content-digest'), img.digest);
    assert.equal(r.headers.get('location'), `/v2/m/oci/manifests/${img.digest}`);
    assert.equal(r.headers.get('oci-subject'), null);
    await expectManifest('m/oci', ['v1', img.digest], img.manifest, OCI_MANIFEST);
    // Pushing the same bytes again (and under a second tag) is idempotent.
    assert.equal(await putManifestOk(base, 'm/oci', 'v1', img.manifest, OCI_MANIFEST), img.digest);
    assert.equal(await putManifestOk(base, 'm/oci', 'latest', img.manifest, OCI_MANIFEST), img.digest);
    assert.deepEqual(await tagsOf('m/oci'), ['latest', 'v1']);
  });

  it('PUT by digest stores an untagged manifest', async () => {
    const img = await ociImage(base, 'm/bydigest', 'digest-1');
    const r = await putManifest(base, 'm/bydigest', img.digest, img.manifest, OCI_MANIFEST);
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('docker-content-digest'), img.digest);
    await expectManifest('m/bydigest', [img.digest], img.manifest, OCI_MANIFEST);
    assert.deepEqual(await tagsOf('m/bydigest'), []);
  });

  it('PUT by a sha512 digest is addressed by that digest', async () => {
    const img = await ociImage(base, 'm/sha512', 'sha512-1');
    const d = sha512(img.manifest);
    const r = await putManifest(base, 'm/sha512', d, img.manifest, OCI_MANIFEST);
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('docker-content-digest'), d);
    assert.equal(r.headers.get('location'), `/v2/m/sha512/manifests/${d}`);
    await expectManifest('m/sha512', [d], img.manifest, OCI_MANIFEST, d);
  });

  it('an OCI manifest without a mediaType field takes its type from Content-Type', async () => {
    const configBytes = enc('{}');
    const config = { mediaType: OCI_EMPTY, digest: await pushBlob(base, 'm/nomt', configBytes), size: 2 };
    const manifest = enc(JSON.stringify({ schemaVersion: 2, artifactType: 'application/vnd.example.thing', config, layers: [] }));
    assert.equal(await putManifestOk(base, 'm/nomt', 'art', manifest, OCI_MANIFEST), sha256(manifest));
    await expectManifest('m/nomt', ['art'], manifest, OCI_MANIFEST);
  });

  it('OCI index: pushes after its children and reads back by tag and digest', async () => {
    const a = await ociImage(base, 'm/index', 'amd64');
    const b = await ociImage(base, 'm/index', 'arm64');
    await putManifestOk(base, 'm/index', a.digest, a.manifest, OCI_MANIFEST);
    await putManifestOk(base, 'm/index', b.digest, b.manifest, OCI_MANIFEST);
    const index = enc(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        descOf(OCI_MANIFEST, a.manifest, { platform: { architecture: 'amd64', os: 'linux' } }),
        descOf(OCI_MANIFEST, b.manifest, { platform: { architecture: 'arm64', os: 'linux' } }),
      ],
    }));
    const r = await putManifest(base, 'm/index', 'multi', index, OCI_INDEX);
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('docker-content-digest'), sha256(index));
    await expectManifest('m/index', ['multi', sha256(index)], index, OCI_INDEX);
  });

  it('Docker schema 2 manifest and Docker manifest list', async () => {
    const cfg = enc(JSON.stringify({ architecture: 'amd64', os: 'linux', docker: true }));
    const layer = enc('docker layer');
    const manifest = enc(JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, digest: await pushBlob(base, 'm/docker', cfg), size: cfg.length },
      layers: [{ mediaType: DOCKER_LAYER, digest: await pushBlob(base, 'm/docker', layer), size: layer.length }],
    }));
    const r = await putManifest(base, 'm/docker', 'v2', manifest, DOCKER_MANIFEST);
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('docker-content-digest'), sha256(manifest));
    await expectManifest('m/docker', ['v2', sha256(manifest)], manifest, DOCKER_MANIFEST);

    const list = enc(JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_LIST,
      manifests: [descOf(DOCKER_MANIFEST, manifest, { platform: { architecture: 'amd64', os: 'linux' } })],
    }));
    const l = await putManifest(base, 'm/docker', 'list', list, DOCKER_LIST);
    assert.equal(l.status, 201, await l.text());
    await expectManifest('m/docker', ['list', sha256(list)], list, DOCKER_LIST);
    assert.deepEqual(await tagsOf('m/docker'), ['list', 'v2']);
  });

  it('an index whose child manifest is missing is MANIFEST_BLOB_UNKNOWN and stores nothing', async () => {
    const a = await ociImage(base, 'm/orphan', 'present');
    await putManifestOk(base, 'm/orphan', 'present', a.manifest, OCI_MANIFEST);
    const ghost = enc('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","ghost":true}');
    const before = await snapshot(base, 'm/orphan', { manifests: ['present'] });
    for (const [mt, childMt] of [[OCI_INDEX, OCI_MANIFEST], [DOCKER_LIST, DOCKER_MANIFEST]] as const) {
      const index = enc(JSON.stringify({ schemaVersion: 2, mediaType: mt, manifests: [descOf(OCI_MANIFEST, a.manifest), descOf(childMt, ghost)] }));
      const r = await putManifest(base, 'm/orphan', 'idx', index, mt);
      const err = await expectError(r, 400, 'MANIFEST_BLOB_UNKNOWN');
      assert.match(JSON.stringify(err), new RegExp(sha256(ghost)));
      await expectError(await get('m/orphan', 'idx'), 404, 'MANIFEST_UNKNOWN');
      await expectError(await get('m/orphan', sha256(index)), 404, 'MANIFEST_UNKNOWN');
    }
    assert.deepEqual(await snapshot(base, 'm/orphan', { manifests: ['present'] }), before);
  });

  it('a manifest referencing a missing layer or config is MANIFEST_BLOB_UNKNOWN', async () => {
    const img = await ociImage(base, 'm/missing', 'ok');
    const missing = { mediaType: OCI_LAYER, digest: sha256('not uploaded'), size: 12 };
    const withMissingLayer = enc(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: img.config, layers: [...img.layers, missing] }));
    await expectError(await putManifest(base, 'm/missing', 'bad', withMissingLayer, OCI_MANIFEST), 400, 'MANIFEST_BLOB_UNKNOWN');
    const withMissingConfig = enc(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, digest: sha256('no config'), size: 9 }, layers: img.layers,
    }));
    await expectError(await putManifest(base, 'm/missing', 'bad', withMissingConfig, OCI_MANIFEST), 400, 'MANIFEST_BLOB_UNKNOWN');
    // A blob that exists only in another repository does not count.
    const foreign = await ociImage(base, 'm/elsewhere', 'foreign');
    const crossRepo = enc(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: img.config, layers: foreign.layers }));
    await expectError(await putManifest(base, 'm/missing', 'bad', crossRepo, OCI_MANIFEST), 400, 'MANIFEST_BLOB_UNKNOWN');
    await expectError(await get('m/missing', 'bad'), 404, 'MANIFEST_UNKNOWN');
    // Non-distributable layers need not be pushed.
    const foreignLayer = { mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', digest: sha256('windows base'), size: 100 };
    const nondist = enc(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: img.config, layers: [foreignLayer, ...img.layers] }));
    assert.equal((await putManifest(base, 'm/missing', 'nondist', nondist, OCI_MANIFEST)).status, 201);
  });

  it('Docker schema 1 manifests are MANIFEST_INVALID with a message naming schema 1', async () => {
    const schema1 = enc(JSON.stringify({
      schemaVersion: 1, name: 'm/schema1', tag: 'v1', architecture: 'amd64',
      fsLayers: [{ blobSum: sha256('x') }], history: [{ v1Compatibility: '{}' }],
    }));
    for (const ct of ['application/vnd.docker.distribution.manifest.v1+prettyjws', 'application/vnd.docker.distribution.manifest.v1+json', 'application/json']) {
      const err = await expectError(await putManifest(base, 'm/schema1', 'v1', schema1, ct), 400, 'MANIFEST_INVALID');
      assert.match(err!.errors[0]!.message, /schema 1/i, ct);
    }
    await expectError(await fetch(`${base}/v2/m/schema1/tags/list`), 404, 'NAME_UNKNOWN');
  });

  it('a manifest with a subject answers with OCI-Subject', async () => {
    const subject = await ociImage(base, 'm/subject', 'subject');
    await putManifestOk(base, 'm/subject', 'v1', subject.manifest, OCI_MANIFEST);
    const cfg = enc('{}');
    await pushBlob(base, 'm/subject', cfg);
    const sig = enc(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: 'application/vnd.example.signature',
      config: { mediaType: OCI_EMPTY, digest: sha256(cfg), size: 2 }, layers: [],
      subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.manifest.length },
    }));
    const r = await putManifest(base, 'm/subject', sha256(sig), sig, OCI_MANIFEST);
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('oci-subject'), subject.digest);
    await expectManifest('m/subject', [sha256(sig)], sig, OCI_MANIFEST);
  });

  it('DELETE by digest answers 202 and removes the manifest and every tag pointing at it', async () => {
    const img = await ociImage(base, 'm/del', 'del-digest');
    const keep = await ociImage(base, 'm/del', 'keep');
    await putManifestOk(base, 'm/del', 'a', img.manifest, OCI_MANIFEST);
    await putManifestOk(base, 'm/del', 'b', img.manifest, OCI_MANIFEST);
    await putManifestOk(base, 'm/del', 'keep', keep.manifest, OCI_MANIFEST);
    const r = await fetch(`${base}/v2/m/del/manifests/${img.digest}`, { method: 'DELETE' });
    assert.equal(r.status, 202);
    await r.arrayBuffer();
    for (const ref of ['a', 'b', img.digest]) {
      await expectError(await get('m/del', ref), 404, 'MANIFEST_UNKNOWN');
      await expectError(await get('m/del', ref, 'HEAD'), 404, 'MANIFEST_UNKNOWN', 'HEAD');
    }
    assert.deepEqual(await tagsOf('m/del'), ['keep']);
    await expectManifest('m/del', ['keep'], keep.manifest, OCI_MANIFEST);
    await expectError(await fetch(`${base}/v2/m/del/manifests/${img.digest}`, { method: 'DELETE' }), 404, 'MANIFEST_UNKNOWN');
    // The layers are still there (blobs are unlinked separately).
    assert.equal((await fetch(`${base}/v2/m/del/blobs/${img.layers[0]!.digest}`, { method: 'HEAD' })).status, 200);
  });

  it('DELETE by tag answers 202, removes only the tag and leaves the manifest', async () => {
    const img = await ociImage(base, 'm/untag', 'untag');
    await putManifestOk(base, 'm/untag', 'gone', img.manifest, OCI_MANIFEST);
    await putManifestOk(base, 'm/untag', 'stays', img.manifest, OCI_MANIFEST);
    const r = await fetch(`${base}/v2/m/untag/manifests/gone`, { method: 'DELETE' });
    assert.equal(r.status, 202);
    await r.arrayBuffer();
    await expectError(await get('m/untag', 'gone'), 404, 'MANIFEST_UNKNOWN');
    await expectManifest('m/untag', ['stays', img.digest], img.manifest, OCI_MANIFEST);
    assert.deepEqual(await tagsOf('m/untag'), ['stays']);
    await expectError(await fetch(`${base}/v2/m/untag/manifests/gone`, { method: 'DELETE' }), 404, 'MANIFEST_UNKNOWN');
  });

  it('re-tagging moves the tag to the new manifest', async () => {
    const one = await ociImage(base, 'm/move', 'one');
    const two = await ociImage(base, 'm/move', 'two');
    await putManifestOk(base, 'm/move', 'latest', one.manifest, OCI_MANIFEST);
    await putManifestOk(base, 'm/move', 'latest', two.manifest, OCI_MANIFEST);
    await expectManifest('m/move', ['latest'], two.manifest, OCI_MANIFEST);
    await expectManifest('m/move', [one.digest], one.manifest, OCI_MANIFEST);
  });

  it('unknown manifests are MANIFEST_UNKNOWN (404), in unknown repositories too', async () => {
    await expectError(await get('m/oci', 'nope'), 404, 'MANIFEST_UNKNOWN');
    await expectError(await get('m/oci', sha256('nope')), 404, 'MANIFEST_UNKNOWN');
    await expectError(await get('m/oci', 'nope', 'HEAD'), 404, 'MANIFEST_UNKNOWN', 'HEAD');
    await expectError(await get('no/such/repo', 'latest'), 404, 'MANIFEST_UNKNOWN');
    await expectError(await fetch(`${base}/v2/no/such/repo/manifests/latest`, { method: 'DELETE' }), 404, 'MANIFEST_UNKNOWN');
  });

  it('works with nested repository names (a/b/c/d)', async () => {
    const img = await ociImage(base, 'a/b/c/d', 'nested');
    await putManifestOk(base, 'a/b/c/d', 'v1', img.manifest, OCI_MANIFEST);
    await expectManifest('a/b/c/d', ['v1', img.digest], img.manifest, OCI_MANIFEST);
    await expectError(await get('a/b/c', 'v1'), 404, 'MANIFEST_UNKNOWN');
  });

  it('tags up to 128 characters are accepted', async () => {
    const img = await ociImage(base, 'm/longtag', 'longtag');
    const tag = `_${'a'.repeat(126)}.`;
    assert.equal(tag.length, 128);
    assert.equal(await putManifestOk(base, 'm/longtag', tag, img.manifest, OCI_MANIFEST), img.digest);
    await expectManifest('m/longtag', [tag], img.manifest, OCI_MANIFEST);
  });

  it('Content-Type parameters are ignored', async () => {
    const img = await ociImage(base, 'm/params', 'params');
    assert.equal(await putManifestOk(base, 'm/params', 'v1', img.manifest, `${OCI_MANIFEST}; charset=utf-8`), img.digest);
    await expectManifest('m/params', ['v1'], img.manifest, OCI_MANIFEST);
  });
});

describe('deletes disabled', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry({ WHARF_REGISTRY_DELETE_ENABLED: 'false' });
  });
  after(async () => {
    await reg.stop();
  });

  it('DELETE of manifests and blobs is 405 UNSUPPORTED and removes nothing', async () => {
    const base = reg.url;
    const img = await ociImage(base, 'nodel/app', 'nodel');
    await putManifestOk(base, 'nodel/app', 'v1', img.manifest, OCI_MANIFEST);
    const before = await snapshot(base, 'nodel/app', { manifests: ['v1', img.digest], blobs: [img.config.digest] });
    for (const path of [`manifests/v1`, `manifests/${img.digest}`, `blobs/${img.config.digest}`]) {
      await expectError(await fetch(`${base}/v2/nodel/app/${path}`, { method: 'DELETE' }), 405, 'UNSUPPORTED');
    }
    assert.deepEqual(await snapshot(base, 'nodel/app', { manifests: ['v1', img.digest], blobs: [img.config.digest] }), before);
  });
});
