// Referrers API (distribution-spec v1.1): GET /v2/<name>/referrers/<digest>, artifactType filtering.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import {
  OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, enc, expectError, ociImage, pushBlob, putManifest, putManifestOk, sha256,
} from './helpers.js';

interface IndexDoc {
  schemaVersion: number;
  mediaType: string;
  manifests: { mediaType: string; digest: string; size: number; artifactType?: string; annotations?: Record<string, string> }[];
}

describe('referrers', () => {
  let reg: TestRegistry;
  let base: string;
  const repo = 'ref/app';
  let subject: { digest: string; size: number };
  let sig: Uint8Array;
  let sbom: Uint8Array;
  let plain: Uint8Array;
  let emptyConfig: { mediaType: string; digest: string; size: number };

  const referrer = (artifactType: string | undefined, subj: { digest: string; size: number }, extra: Record<string, unknown> = {}) => enc(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST, ...(artifactType ? { artifactType } : {}),
    config: emptyConfig, layers: [], subject: { mediaType: OCI_MANIFEST, ...subj }, ...extra,
  }));

  const list = async (digest: string, query = '') => {
    const r = await fetch(`${base}/v2/${repo}/referrers/${digest}${query}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), OCI_INDEX);
    const doc = (await r.json()) as IndexDoc;
    assert.equal(doc.schemaVersion, 2);
    assert.equal(doc.mediaType, OCI_INDEX);
    assert.ok(Array.isArray(doc.manifests));
    return { r, doc };
  };

  before(async () => {
    reg = await startTestRegistry();
    base = reg.url;
    const img = await ociImage(base, repo, 'subject');
    await putManifestOk(base, repo, 'v1', img.manifest, OCI_MANIFEST);
    subject = { digest: img.digest, size: img.manifest.length };
    emptyConfig = { mediaType: OCI_EMPTY, digest: await pushBlob(base, repo, enc('{}')), size: 2 };
    sig = referrer('application/vnd.example.signature', subject, { annotations: { 'org.example.signer': 'alice' } });
    sbom = referrer('application/vnd.example.sbom', subject);
    // No artifactType: the config media type stands in for it.
    const cfg = enc('{"sbom":"config"}');
    plain = enc(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.example.config', digest: await pushBlob(base, repo, cfg), size: cfg.length },
      layers: [], subject: { mediaType: OCI_MANIFEST, ...subject },
    }));
    for (const m of [sig, sbom, plain]) {
      const r = await putManifest(base, repo, sha256(m), m, OCI_MANIFEST);
      assert.equal(r.status, 201, await r.text());
      assert.equal(r.headers.get('oci-subject'), subject.digest);
    }
  });
  after(async () => {
    await reg.stop();
  });

  it('an unknown digest (and an unknown repository) gives 200 with an empty index', async () => {
    const { doc } = await list(sha256('nothing refers to this'));
    assert.deepEqual(doc, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
    const r = await fetch(`${base}/v2/ref/unknown-repo/referrers/${subject.digest}`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), OCI_INDEX);
    assert.deepEqual(await r.json(), { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });
  });

  it('lists every referrer with mediaType, digest, size, artifactType and annotations', async () => {
    const { r, doc } = await list(subject.digest);
    assert.equal(r.headers.get('oci-filters-applied'), null);
    const byDigest = new Map(doc.manifests.map((m) => [m.digest, m]));
    assert.equal(doc.manifests.length, 3);
    assert.deepEqual(byDigest.get(sha256(sig)), {
      mediaType: OCI_MANIFEST, digest: sha256(sig), size: sig.length, artifactType: 'application/vnd.example.signature',
      annotations: { 'org.example.signer': 'alice' },
    });
    assert.deepEqual(byDigest.get(sha256(sbom)), {
      mediaType: OCI_MANIFEST, digest: sha256(sbom), size: sbom.length, artifactType: 'application/vnd.example.sbom',
    });
    assert.equal(byDigest.get(sha256(plain))?.artifactType, 'application/vnd.example.config');
  });

  it('filters by artifactType and says so in OCI-Filters-Applied', async () => {
    const { r, doc } = await list(subject.digest, `?artifactType=${encodeURIComponent('application/vnd.example.sbom')}`);
    assert.equal(r.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(doc.manifests.map((m) => m.digest), [sha256(sbom)]);
    const none = await list(subject.digest, '?artifactType=application/vnd.example.nothing');
    assert.equal(none.r.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(none.doc.manifests, []);
  });

  it('accepts a referrer pushed before its subject, and an index as a referrer', async () => {
    const future = { digest: sha256('subject pushed later'), size: 20 };
    const early = referrer('application/vnd.example.early', future);
    const r = await putManifest(base, repo, sha256(early), early, OCI_MANIFEST);
    assert.equal(r.status, 201, await r.text());
    assert.equal(r.headers.get('oci-subject'), future.digest);
    assert.deepEqual((await list(future.digest)).doc.manifests.map((m) => m.digest), [sha256(early)]);

    const idx = enc(JSON.stringify({
      schemaVersion: 2, mediaType: OCI_INDEX, artifactType: 'application/vnd.example.bundle', manifests: [],
      subject: { mediaType: OCI_MANIFEST, ...subject },
    }));
    const ri = await putManifest(base, repo, sha256(idx), idx, OCI_INDEX);
    assert.equal(ri.status, 201, await ri.text());
    assert.equal(ri.headers.get('oci-subject'), subject.digest);
    const { doc } = await list(subject.digest, '?artifactType=application/vnd.example.bundle');
    assert.deepEqual(doc.manifests, [{ mediaType: OCI_INDEX, digest: sha256(idx), size: idx.length, artifactType: 'application/vnd.example.bundle' }]);
  });

  it('a deleted referrer disappears from the list', async () => {
    const tmp = referrer('application/vnd.example.temp', subject);
    await putManifestOk(base, repo, sha256(tmp), tmp, OCI_MANIFEST);
    assert.ok((await list(subject.digest)).doc.manifests.some((m) => m.digest === sha256(tmp)));
    const d = await fetch(`${base}/v2/${repo}/manifests/${sha256(tmp)}`, { method: 'DELETE' });
    assert.equal(d.status, 202);
    assert.ok(!(await list(subject.digest)).doc.manifests.some((m) => m.digest === sha256(tmp)));
  });

  it('referrers are per repository', async () => {
    const { doc } = await list(subject.digest);
    assert.ok(doc.manifests.length > 0);
    const other = await fetch(`${base}/v2/ref/other/referrers/${subject.digest}`);
    assert.equal(other.status, 200);
    assert.deepEqual(((await other.json()) as IndexDoc).manifests, []);
  });

  it('an invalid digest is 400 DIGEST_INVALID', async () => {
    await expectError(await fetch(`${base}/v2/${repo}/referrers/not-a-digest`), 400, 'DIGEST_INVALID');
    await expectError(await fetch(`${base}/v2/${repo}/referrers/sha256:abc`), 400, 'DIGEST_INVALID');
    await expectError(await fetch(`${base}/v2/${repo}/referrers/v1`), 400, 'DIGEST_INVALID');
  });
});
