import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { pushBlob } from '../support/oci-client.js';
import { MT, buildMultiArchImage, sha256, writeMultiArchLayout, type WrittenLayout } from '../support/oci-layout.js';
import { Podman } from './tools.js';

/**
 * The real podman (its own containers/storage, vfs driver, all state in a temp dir) against a real registry node:
 * an image goes into podman's storage from an OCI layout, is pushed, removed, pulled back and compared.
 */

interface ImageInspect {
  Id: string;
  Digest: string;
  RepoTags: string[];
  RepoDigests: string[];
  Architecture: string;
  Os: string;
}

describe('podman interop', () => {
  let reg: TestRegistry;
  let work: string;
  let podman: Podman;
  let img: WrittenLayout;
  let host: string;
  let missing: Error | undefined;
  let pushedDigest: string;
  const amd64 = () => img.images.find((i) => i.platform.architecture === 'amd64')!;
  const arm64 = () => img.images.find((i) => i.platform.architecture === 'arm64')!;
  const hex = (digest: string) => digest.slice('sha256:'.length);
  const inspect = async (name: string): Promise<ImageInspect> => {
    const out = await podman.ok(['image', 'inspect', name]);
    const list = JSON.parse(out.stdout.toString()) as ImageInspect[];
    assert.equal(list.length, 1);
    return list[0]!;
  };
  const policy = () => ['--signature-policy', podman.policy];

  before(async () => {
    // Lowercase only: podman names an image pulled from oci:<dir> after the path, and references must be lowercase.
    work = join(tmpdir(), `wharf-podman-${randomBytes(6).toString('hex')}`);
    await mkdir(work);
    try {
      await mkdir(join(work, 'podman'));
      podman = await Podman.create(join(work, 'podman'));
    } catch (e) {
      // Reported by every test (beforeEach below): a missing podman is a failure with an install hint, not a skip.
      missing = e as Error;
      return;
    }
    reg = await startTestRegistry();
    host = new URL(reg.url).host;
    img = await writeMultiArchLayout(join(work, 'in'), { tag: 'v1', image: buildMultiArchImage({ seed: 'podman-interop' }) });
  });
  beforeEach(() => {
    if (missing) throw missing;
  });
  after(async () => {
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('podman pull oci:<layout>: the amd64 image lands in podman storage', async () => {
    await podman.ok(['pull', ...policy(), '--arch', 'amd64', `oci:${img.dir}:${img.tag}`]);
    await podman.ok(['tag', hex(amd64().configDigest), 'localhost/interop/app:src']);
    const info = await inspect('localhost/interop/app:src');
    assert.equal(info.Id, hex(amd64().configDigest), 'the image id is the config digest');
    assert.equal(info.Architecture, 'amd64');
    assert.equal(info.Os, 'linux');
  });

  it('podman push: the registry holds what podman reports', async () => {
    const digestFile = join(work, 'pushed.digest');
    await podman.ok(['push', ...policy(), '--tls-verify=false', '--digestfile', digestFile, 'localhost/interop/app:src', `docker://${host}/pod/app:1`]);
    pushedDigest = (await readFile(digestFile, 'utf8')).trim();
    const r = await fetch(`${reg.url}/v2/pod/app/manifests/1`, { headers: { Accept: `${MT.manifest}, application/vnd.docker.distribution.manifest.v2+json` } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-content-digest'), pushedDigest);
    const manifest = (await r.json()) as { config: { digest: string }; layers: { digest: string; size: number }[] };
    assert.equal(manifest.config.digest, amd64().configDigest);
    assert.equal(manifest.layers.length, amd64().layers.length);
    // podman recompresses layers from its storage, so their digests are podman's choice; the registry must serve them.
    for (const l of manifest.layers) {
      const layer = await fetch(`${reg.url}/v2/pod/app/blobs/${l.digest}`);
      assert.equal(layer.status, 200);
      const bytes = Buffer.from(await layer.arrayBuffer());
      assert.equal(bytes.length, l.size);
      assert.equal(sha256(bytes), l.digest);
    }
  });

  it('podman rmi, then podman pull from the registry: same image, same digest', async () => {
    // By id: the image also carries the name podman gave it when pulling from the layout.
    await podman.ok(['rmi', '--force', hex(amd64().configDigest)]);
    assert.equal((await podman.ok(['images', '--quiet'])).stdout.toString().trim(), '', 'podman storage is empty');
    const gone = await podman.run(['image', 'exists', hex(amd64().configDigest)]);
    assert.notEqual(gone.code, 0, 'the image is still in podman storage after rmi');

    await podman.ok(['pull', ...policy(), '--tls-verify=false', `${host}/pod/app:1`]);
    const info = await inspect(`${host}/pod/app:1`);
    assert.equal(info.Digest, pushedDigest);
    assert.ok(info.RepoDigests.includes(`${host}/pod/app@${pushedDigest}`), JSON.stringify(info.RepoDigests));
    assert.equal(info.Id, hex(amd64().configDigest));
    assert.equal(info.Architecture, 'amd64');
  });

  it('podman push --format v2s2: Docker schema 2 round trip', async () => {
    await podman.ok(['push', ...policy(), '--tls-verify=false', '--format', 'v2s2', `${host}/pod/app:1`, `docker://${host}/pod/app:docker`]);
    const r = await fetch(`${reg.url}/v2/pod/app/manifests/docker`, { method: 'HEAD', headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/vnd.docker.distribution.manifest.v2+json');
    const digest = r.headers.get('docker-content-digest')!;
    await podman.ok(['rmi', '--force', hex(amd64().configDigest)]);
    await podman.ok(['pull', ...policy(), '--tls-verify=false', `${host}/pod/app:docker`]);
    const info = await inspect(`${host}/pod/app:docker`);
    assert.equal(info.Digest, digest);
    assert.equal(info.Id, hex(amd64().configDigest));
  });

  it('podman pull --arch arm64 of a multi-arch index pushed over HTTP', async () => {
    for (const bytes of img.blobs.values()) {
      if (bytes === img.index || img.images.some((i) => i.manifest === bytes)) continue;
      await pushBlob(reg.url, 'pod/multi', bytes);
    }
    for (const [mediaType, ref, body] of [
      ...img.images.map((i) => [MT.manifest, i.manifestDescriptor.digest, i.manifest] as const),
      [MT.index, '1', img.index] as const,
    ]) {
      const put = await fetch(`${reg.url}/v2/pod/multi/manifests/${ref}`, { method: 'PUT', body: body as unknown as BodyInit, headers: { 'Content-Type': mediaType } });
      assert.equal(put.status, 201, await put.text());
    }
    await podman.ok(['pull', ...policy(), '--tls-verify=false', '--arch', 'arm64', `${host}/pod/multi:1`]);
    const info = await inspect(`${host}/pod/multi:1`);
    assert.equal(info.Architecture, 'arm64');
    assert.equal(info.Id, hex(arm64().configDigest));
    assert.ok(info.RepoDigests.includes(`${host}/pod/multi@${arm64().manifestDescriptor.digest}`), JSON.stringify(info.RepoDigests));
  });

  it('podman manifest create/add/push --all: an index assembled in podman storage', async () => {
    // Storage now holds the amd64 image (pulled back above) and the arm64 one (previous step).
    await podman.ok(['manifest', 'create', 'localhost/interop/list:1']);
    for (const i of [amd64(), arm64()]) await podman.ok(['manifest', 'add', 'localhost/interop/list:1', `containers-storage:${hex(i.configDigest)}`]);
    await podman.ok(['manifest', 'push', '--all', '--tls-verify=false', 'localhost/interop/list:1', `docker://${host}/pod/list:1`]);
    const r = await fetch(`${reg.url}/v2/pod/list/manifests/1`, { headers: { Accept: `${MT.index}, application/vnd.docker.distribution.manifest.list.v2+json` } });
    assert.equal(r.status, 200);
    const index = (await r.json()) as { manifests: { digest: string; platform: { architecture: string } }[] };
    assert.deepEqual(index.manifests.map((d) => d.platform.architecture).sort(), ['amd64', 'arm64']);
    for (const d of index.manifests) {
      const child = await fetch(`${reg.url}/v2/pod/list/manifests/${d.digest}`, { headers: { Accept: `${MT.manifest}, application/vnd.docker.distribution.manifest.v2+json` } });
      assert.equal(child.status, 200);
      const m = (await child.json()) as { config: { digest: string } };
      const expected = d.platform.architecture === 'amd64' ? amd64() : arm64();
      assert.equal(m.config.digest, expected.configDigest);
    }
  });
});
