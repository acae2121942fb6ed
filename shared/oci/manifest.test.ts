import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManifestValidationError, MAX_MANIFEST_BYTES, parseManifest } from './manifest.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from './media-types.js';
import { digestOf } from './digest.js';

const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
const d = (s: string) => digestOf(s);
const desc = (s: string, mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip') => ({ mediaType, digest: d(s), size: s.length });
const image = (extra: object = {}) => ({
  schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc('cfg', 'application/vnd.oci.image.config.v1+json'), layers: [desc('l1'), desc('l2')], ...extra,
});

describe('parseManifest', () => {
  it('lists config and layers of an OCI image manifest as blobs', () => {
    const m = parseManifest(enc(image()), OCI_MANIFEST);
    assert.equal(m.kind, 'image');
    assert.deepEqual(m.blobs.map((b) => b.digest), [d('cfg'), d('l1'), d('l2')]);
    assert.equal(m.artifactType, 'application/vnd.oci.image.config.v1+json');
  });

  it('reads subject and artifactType of an artifact', () => {
    const m = parseManifest(enc(image({ artifactType: 'application/vnd.example.sbom', subject: desc('img', OCI_MANIFEST) })), OCI_MANIFEST);
    assert.equal(m.artifactType, 'application/vnd.example.sbom');
    assert.equal(m.subject?.digest, d('img'));
  });

  it('lists child manifests of an index and of a Docker manifest list', () => {
    for (const mt of [OCI_INDEX, DOCKER_MANIFEST_LIST]) {
      const m = parseManifest(enc({ schemaVersion: 2, mediaType: mt, manifests: [{ ...desc('a', OCI_MANIFEST), platform: { os: 'linux', architecture: 'arm64' } }] }), mt);
      assert.equal(m.kind, 'index');
      assert.deepEqual(m.manifests.map((x) => x.digest), [d('a')]);
      assert.deepEqual(m.blobs, []);
    }
  });

  it('infers the media type when neither field nor header names it', () => {
    const { mediaType: _omit, ...rest } = image();
    assert.equal(parseManifest(enc(rest), undefined).mediaType, OCI_MANIFEST);
    assert.equal(parseManifest(enc({ schemaVersion: 2, manifests: [] }), undefined).mediaType, OCI_INDEX);
  });

  const invalid: [string, Uint8Array, string | undefined, RegExp][] = [
    ['not JSON', new TextEncoder().encode('{'), OCI_MANIFEST, /not valid JSON/],
    ['an array', enc([]), OCI_MANIFEST, /JSON object/],
    ['schema 1', enc({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }), 'application/vnd.docker.distribution.manifest.v1+prettyjws', /schema 1/],
    ['schemaVersion 3', enc(image({ schemaVersion: 3 })), OCI_MANIFEST, /schemaVersion must be 2/],
    ['mediaType vs Content-Type', enc(image()), DOCKER_MANIFEST, /does not match Content-Type/],
    ['unknown media type', enc(image({ mediaType: 'application/x-foo' })), 'application/x-foo', /unsupported manifest media type/],
    ['bad layer digest', enc(image({ layers: [{ mediaType: 'a/b', digest: 'sha256:xyz', size: 1 }] })), OCI_MANIFEST, /layers\[0\]\.digest/],
    ['negative size', enc(image({ layers: [{ ...desc('x'), size: -1 }] })), OCI_MANIFEST, /layers\[0\]\.size/],
    ['missing config', enc({ schemaVersion: 2, mediaType: OCI_MANIFEST, layers: [] }), OCI_MANIFEST, /config must be a descriptor/],
    ['index with layers', enc({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [], layers: [] }), OCI_INDEX, /must not have config or layers/],
    ['annotations not strings', enc(image({ annotations: { a: 1 } })), OCI_MANIFEST, /annotations must map strings/],
    ['subject in a Docker manifest', enc({ ...image({ mediaType: DOCKER_MANIFEST }), subject: desc('s', OCI_MANIFEST) }), DOCKER_MANIFEST, /subject is only allowed/],
    ['too large', new Uint8Array(MAX_MANIFEST_BYTES + 1), OCI_MANIFEST, /limit/],
  ];
  for (const [name, body, ct, re] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseManifest(body, ct), (e: unknown) => e instanceof ManifestValidationError && re.test(e.message));
    });
  }
});
