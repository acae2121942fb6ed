import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import {
  EMPTY_DESCRIPTOR, EMPTY_JSON, MT, SBOM_ARTIFACT_TYPE, buildMultiArchImage, buildSubjectArtifact, readLayout, sha256,
  taggedDescriptor, writeArtifactLayout, writeMultiArchLayout, type WrittenLayout,
} from '../support/oci-layout.js';
import { pushBlob } from '../support/oci-client.js';
import { Skopeo } from './tools.js';

/**
 * The real skopeo (containers/image) against a real registry node: multi-arch in and out through OCI layouts,
 * platform selection, cross-repository mounts, Docker schema 2, zstd layers, artifacts with a subject, deletes.
 * The steps run in order and build on each other.
 */

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const ALL_MANIFEST_TYPES = [MT.index, MT.manifest, DOCKER_LIST, DOCKER_MANIFEST].join(', ');

interface InspectOutput {
  Name?: string;
  Digest: string;
  RepoTags?: string[];
  Architecture: string;
  Os: string;
  Layers: string[];
}

describe('skopeo interop', () => {
  let reg: TestRegistry;
  let work: string;
  let skopeo: Skopeo;
  let img: WrittenLayout;
  let host: string;
  let missing: Error | undefined;
  const ref = (repoAndRef: string) => `docker://${host}/${repoAndRef}`;
  const byArch = (arch: string) => {
    const i = img.images.find((x) => x.platform.architecture === arch);
    assert.ok(i, `fixture has no ${arch} image`);
    return i;
  };
  const manifestHead = async (repo: string, reference: string) => {
    const r = await fetch(`${reg.url}/v2/${repo}/manifests/${reference}`, { method: 'HEAD', headers: { Accept: ALL_MANIFEST_TYPES } });
    return { status: r.status, digest: r.headers.get('docker-content-digest'), type: r.headers.get('content-type') };
  };
  const blobStatus = async (repo: string, digest: string) => (await fetch(`${reg.url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' })).status;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'wharf-skopeo-'));
    try {
      skopeo = await Skopeo.create(await mkdirp(join(work, 'skopeo')));
    } catch (e) {
      // Reported by every test (beforeEach below): a missing skopeo is a failure with an install hint, not a skip.
      missing = e as Error;
      return;
    }
    reg = await startTestRegistry();
    host = new URL(reg.url).host;
    img = await writeMultiArchLayout(join(work, 'in'), { tag: 'v1', image: buildMultiArchImage({ seed: 'skopeo-interop' }) });
  });
  beforeEach(() => {
    if (missing) throw missing;
  });
  after(async () => {
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('copy --all: pushes the multi-arch index from an OCI layout', async () => {
    await skopeo.ok(['copy', '--all', '--retry-times', '0', '--dest-tls-verify=false', `oci:${img.dir}:${img.tag}`, ref('ns/app:1.0')]);
    const head = await manifestHead('ns/app', '1.0');
    assert.equal(head.status, 200);
    assert.equal(head.digest, img.indexDigest);
    assert.equal(head.type, MT.index);
    for (const i of img.images) {
      assert.equal((await manifestHead('ns/app', i.manifestDescriptor.digest)).status, 200, `${i.platform.architecture} manifest`);
      for (const l of i.layers) assert.equal(await blobStatus('ns/app', l.digest), 200);
      assert.equal(await blobStatus('ns/app', i.configDigest), 200);
    }
  });

  it('inspect --raw: the index and each platform manifest come back byte-identical', async () => {
    const raw = await skopeo.ok(['inspect', '--raw', '--retry-times', '0', '--tls-verify=false', ref('ns/app:1.0')]);
    assert.ok(raw.stdout.equals(img.index), `index differs:\n${raw.stdout.toString()}`);
    for (const i of img.images) {
      const m = await skopeo.ok(['inspect', '--raw', '--retry-times', '0', '--tls-verify=false', ref(`ns/app@${i.manifestDescriptor.digest}`)]);
      assert.ok(m.stdout.equals(i.manifest), `${i.platform.architecture} manifest differs`);
    }
  });

  it('inspect --override-arch: resolves the platform through the index', async () => {
    for (const arch of ['arm64', 'amd64']) {
      const i = byArch(arch);
      const out = await skopeo.ok(['inspect', '--retry-times', '0', '--tls-verify=false', ref('ns/app:1.0')], ['--override-arch', arch, '--override-os', 'linux']);
      const info = JSON.parse(out.stdout.toString()) as InspectOutput;
      assert.equal(info.Architecture, arch);
      assert.equal(info.Os, 'linux');
      assert.deepEqual(info.Layers, i.layers.map((l) => l.digest));
      assert.deepEqual(info.RepoTags, ['1.0']);
      const config = await skopeo.ok(['inspect', '--config', '--raw', '--retry-times', '0', '--tls-verify=false', ref('ns/app:1.0')], ['--override-arch', arch]);
      assert.ok(config.stdout.equals(i.config), `${arch} config differs`);
    }
  });

  it('copy --all docker:// -> oci: pulls a layout whose blobs and manifests match digest for digest', async () => {
    const out = join(work, 'out');
    await skopeo.ok(['copy', '--all', '--retry-times', '0', '--src-tls-verify=false', ref('ns/app:1.0'), `oci:${out}:pulled`]);
    const layout = await readLayout(out);
    assert.equal(taggedDescriptor(layout, 'pulled')?.digest, img.indexDigest);
    assert.deepEqual([...layout.blobs.keys()].sort(), [...img.blobs.keys()].sort());
    for (const [digest, bytes] of img.blobs) assert.ok(layout.blobs.get(digest)!.equals(bytes), `blob ${digest} differs`);
  });

  it('copy --override-arch into another repository: single platform, layer mounted across repositories', async () => {
    const arm = byArch('arm64');
    // With --debug skopeo logs its cross-repository mount attempts. Its blob-info cache (fresh for this suite) learnt
    // in the first step that ns/app holds the layer, so it asks to mount it from there instead of uploading it.
    const r = await skopeo.ok(
      ['copy', '--retry-times', '0', '--src-tls-verify=false', '--dest-tls-verify=false', ref('ns/app:1.0'), ref('mirror/app:arm64')],
      ['--debug', '--override-arch', 'arm64'],
    );
    const layerHex = arm.layers[0]!.digest.slice('sha256:'.length);
    assert.match(r.stderr, new RegExp(`Trying to mount /v2/mirror/app/blobs/uploads/\\?from=ns%2Fapp&mount=sha256%3A${layerHex}`), 'skopeo did not try to mount the layer');
    assert.match(r.stderr, /\.\.\. mount OK/, 'the registry did not accept the cross-repository mount');
    assert.doesNotMatch(r.stderr, new RegExp(`PUT [^"]*/v2/mirror/app/blobs/uploads/[^"]*digest=sha256%3A${layerHex}`), 'the mounted layer was uploaded anyway');
    const head = await manifestHead('mirror/app', 'arm64');
    assert.equal(head.status, 200);
    assert.equal(head.digest, arm.manifestDescriptor.digest, 'a single-platform copy keeps the manifest as is');
    for (const l of arm.layers) assert.equal(await blobStatus('mirror/app', l.digest), 200);
    assert.equal(await blobStatus('mirror/app', arm.configDigest), 200);
    assert.equal(await blobStatus('mirror/app', byArch('amd64').layers[0]!.digest), 404, 'the other platform is not copied');
    const raw = await skopeo.ok(['inspect', '--raw', '--retry-times', '0', '--tls-verify=false', ref('mirror/app:arm64')]);
    assert.ok(raw.stdout.equals(arm.manifest));
  });

  it('copy --format v2s2: Docker schema 2 manifest and manifest list, pulled back to a layout', async () => {
    const amd = byArch('amd64');
    await skopeo.ok(
      ['copy', '--format', 'v2s2', '--retry-times', '0', '--src-tls-verify=false', '--dest-tls-verify=false', ref('ns/app:1.0'), ref('ns/docker:v2s2')],
      ['--override-arch', 'amd64'],
    );
    const raw = await skopeo.ok(['inspect', '--raw', '--retry-times', '0', '--tls-verify=false', ref('ns/docker:v2s2')]);
    const m = JSON.parse(raw.stdout.toString()) as { mediaType: string; config: { mediaType: string; digest: string }; layers: { mediaType: string; digest: string }[] };
    assert.equal(m.mediaType, DOCKER_MANIFEST);
    assert.equal(m.config.mediaType, 'application/vnd.docker.container.image.v1+json');
    assert.equal(m.config.digest, amd.configDigest);
    assert.deepEqual(m.layers.map((l) => [l.mediaType, l.digest]), amd.layers.map((l) => ['application/vnd.docker.image.rootfs.diff.tar.gzip', l.digest]));
    const head = await manifestHead('ns/docker', 'v2s2');
    assert.equal(head.type, DOCKER_MANIFEST);
    assert.equal(head.digest, sha256(raw.stdout));
    const info = JSON.parse((await skopeo.ok(['inspect', '--retry-times', '0', '--tls-verify=false', ref('ns/docker:v2s2')])).stdout.toString()) as InspectOutput;
    assert.equal(info.Architecture, 'amd64');

    // The whole index converted to a Docker manifest list.
    await skopeo.ok(['copy', '--all', '--format', 'v2s2', '--retry-times', '0', '--src-tls-verify=false', '--dest-tls-verify=false', ref('ns/app:1.0'), ref('ns/docker:list')]);
    const listRaw = await skopeo.ok(['inspect', '--raw', '--retry-times', '0', '--tls-verify=false', ref('ns/docker:list')]);
    const list = JSON.parse(listRaw.stdout.toString()) as { mediaType: string; manifests: { mediaType: string; platform: { architecture: string } }[] };
    assert.equal(list.mediaType, DOCKER_LIST);
    assert.deepEqual(list.manifests.map((d) => [d.mediaType, d.platform.architecture]), [[DOCKER_MANIFEST, 'amd64'], [DOCKER_MANIFEST, 'arm64']]);
    assert.equal((await manifestHead('ns/docker', 'list')).type, DOCKER_LIST);

    // And back out through the schema 2 path: same layer and config bytes.
    const out = join(work, 'out-docker');
    await skopeo.ok(['copy', '--all', '--retry-times', '0', '--src-tls-verify=false', ref('ns/docker:list'), `oci:${out}:list`]);
    const layout = await readLayout(out);
    for (const i of img.images) {
      for (const l of i.layers) assert.ok(layout.blobs.get(l.digest)?.equals(l.blob), `${i.platform.architecture} layer ${l.digest}`);
      assert.ok(layout.blobs.get(i.configDigest)?.equals(i.config), `${i.platform.architecture} config`);
    }
  });

  it('copy --dest-compress-format zstd: recompressed layers are stored and served', async () => {
    const arm = byArch('arm64');
    // A fresh blob-info cache: skopeo 1.9 would otherwise mount the gzip layers it knows ns/app holds instead of
    // recompressing (containers/image before 5.25 does not check the compression of a reused blob).
    const fresh = await Skopeo.create(await mkdirp(join(work, 'skopeo-zstd')));
    const r = await fresh.run(
      ['copy', '--format', 'oci', '--dest-compress-format', 'zstd', '--retry-times', '0', '--src-tls-verify=false', '--dest-tls-verify=false',
        ref('ns/app:1.0'), ref('ns/zstd:arm64')],
      ['--override-arch', 'arm64'],
    );
    // Debian's skopeo 1.9 writes zstd; an older client that cannot is a failure of the test machine, not a pass.
    assert.equal(r.code, 0, `${r.command}\n${r.stderr}`);
    const raw = await skopeo.ok(['inspect', '--raw', '--retry-times', '0', '--tls-verify=false', ref('ns/zstd:arm64')]);
    const m = JSON.parse(raw.stdout.toString()) as { config: { digest: string }; layers: { mediaType: string; digest: string; size: number }[] };
    assert.equal(m.config.digest, arm.configDigest, 'the config (diff_ids of the uncompressed tars) is unchanged');
    assert.equal(m.layers.length, arm.layers.length);
    const out = join(work, 'out-zstd');
    // skopeo pulls it back (it verifies each compressed digest on the way).
    await skopeo.ok(['copy', '--retry-times', '0', '--src-tls-verify=false', ref('ns/zstd:arm64'), `oci:${out}:z`]);
    const pulled = await readLayout(out);
    for (const [n, layer] of m.layers.entries()) {
      assert.equal(layer.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
      assert.notEqual(layer.digest, arm.layers[n]!.digest);
      const blob = await fetch(`${reg.url}/v2/ns/zstd/blobs/${layer.digest}`);
      assert.equal(blob.status, 200);
      const bytes = Buffer.from(await blob.arrayBuffer());
      assert.equal(bytes.length, layer.size);
      assert.equal(sha256(bytes), layer.digest);
      assert.deepEqual([...bytes.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], 'zstd frame magic');
      assert.ok(pulled.blobs.get(layer.digest)?.equals(bytes));
    }
  });

  it('artifact with a subject (raw HTTP): OCI-Subject on the PUT, listed by the referrers API', async () => {
    const subject = { mediaType: MT.index, digest: img.indexDigest, size: img.index.length };
    const art = buildSubjectArtifact(subject, { artifactType: SBOM_ARTIFACT_TYPE });
    assert.ok(art.blobs.get(EMPTY_DESCRIPTOR.digest)?.equals(EMPTY_JSON));
    for (const bytes of art.blobs.values()) await pushBlob(reg.url, 'ns/app', bytes);
    const put = await fetch(`${reg.url}/v2/ns/app/manifests/${art.digest}`, {
      method: 'PUT', body: art.manifest as unknown as BodyInit, headers: { 'Content-Type': MT.manifest },
    });
    assert.equal(put.status, 201, await put.text());
    assert.equal(put.headers.get('oci-subject'), img.indexDigest);
    assert.equal(put.headers.get('docker-content-digest'), art.digest);

    const refs = await referrersOf('ns/app', img.indexDigest);
    assert.equal(refs.contentType, MT.index);
    const entry = refs.body.manifests.find((d) => d.digest === art.digest);
    assert.ok(entry, `referrers of ${img.indexDigest} do not list ${art.digest}: ${JSON.stringify(refs.body)}`);
    assert.equal(entry.artifactType, SBOM_ARTIFACT_TYPE);
    assert.equal(entry.mediaType, MT.manifest);
    assert.equal(entry.size, art.manifest.length);

    const filtered = await referrersOf('ns/app', img.indexDigest, SBOM_ARTIFACT_TYPE);
    assert.deepEqual(filtered.body.manifests.map((d) => d.digest), [art.digest]);
    assert.equal(filtered.filtersApplied, 'artifactType');
    assert.deepEqual((await referrersOf('ns/app', img.indexDigest, 'application/vnd.example.other')).body.manifests, []);

    // skopeo reads the artifact back untouched.
    const raw = await skopeo.ok(['inspect', '--raw', '--retry-times', '0', '--tls-verify=false', ref(`ns/app@${art.digest}`)]);
    assert.ok(raw.stdout.equals(art.manifest));
  });

  it('artifact with a subject (skopeo copy from an OCI layout): listed by the referrers API', async () => {
    const sigType = 'application/vnd.example.signature.v1+json';
    const art = buildSubjectArtifact({ mediaType: MT.index, digest: img.indexDigest, size: img.index.length }, {
      artifactType: sigType, payload: JSON.stringify({ signature: 'not really' }),
    });
    const dir = join(work, 'artifact');
    await writeArtifactLayout(dir, art, 'sig');
    await skopeo.ok(['copy', '--retry-times', '0', '--dest-tls-verify=false', `oci:${dir}:sig`, ref('ns/app:sig')]);
    assert.equal((await manifestHead('ns/app', 'sig')).digest, art.digest, 'skopeo pushed the artifact manifest unchanged');
    assert.equal(await blobStatus('ns/app', EMPTY_DESCRIPTOR.digest), 200);
    const refs = await referrersOf('ns/app', img.indexDigest);
    assert.deepEqual(
      refs.body.manifests.map((d) => d.artifactType).sort(),
      [SBOM_ARTIFACT_TYPE, sigType].sort(),
    );
  });

  it('list-tags: every tag of the repository', async () => {
    const tags = async (repo: string) => {
      const out = await skopeo.ok(['list-tags', '--retry-times', '0', '--tls-verify=false', ref(repo)]);
      return JSON.parse(out.stdout.toString()) as { Repository: string; Tags: string[] };
    };
    const app = await tags('ns/app');
    assert.equal(app.Repository, `${host}/ns/app`);
    assert.deepEqual([...app.Tags].sort(), ['1.0', 'sig']);
    assert.deepEqual((await tags('mirror/app')).Tags, ['arm64']);
    assert.deepEqual([...(await tags('ns/docker')).Tags].sort(), ['list', 'v2s2']);
    const missing = await skopeo.run(['list-tags', '--retry-times', '0', '--tls-verify=false', ref('ns/nothing-here')]);
    assert.notEqual(missing.code, 0, 'listing tags of an unknown repository fails');
  });

  it('delete: removes the tagged index; inspect fails afterwards, other repositories are untouched', async () => {
    await skopeo.ok(['delete', '--retry-times', '0', '--tls-verify=false', ref('ns/app:1.0')]);
    const gone = await skopeo.run(['inspect', '--raw', '--retry-times', '0', '--tls-verify=false', ref('ns/app:1.0')]);
    assert.notEqual(gone.code, 0, 'inspect of a deleted tag succeeded');
    assert.match(gone.stderr, /manifest unknown|not found/i);
    assert.equal((await manifestHead('ns/app', img.indexDigest)).status, 404, 'skopeo deletes by digest: the index itself is gone');
    const tags = JSON.parse((await skopeo.ok(['list-tags', '--retry-times', '0', '--tls-verify=false', ref('ns/app')])).stdout.toString()) as { Tags: string[] };
    assert.deepEqual(tags.Tags, ['sig']);
    await skopeo.ok(['inspect', '--raw', '--retry-times', '0', '--tls-verify=false', ref('mirror/app:arm64')]);
  });

  async function referrersOf(repo: string, digest: string, artifactType?: string) {
    const q = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    const r = await fetch(`${reg.url}/v2/${repo}/referrers/${digest}${q}`);
    assert.equal(r.status, 200);
    return {
      contentType: r.headers.get('content-type'),
      filtersApplied: r.headers.get('oci-filters-applied'),
      body: (await r.json()) as { manifests: { mediaType: string; digest: string; size: number; artifactType?: string }[] },
    };
  }
});

async function mkdirp(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}
