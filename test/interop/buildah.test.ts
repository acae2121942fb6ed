import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { MT, sha256 } from '../support/oci-layout.js';
import { Buildah, Skopeo } from './tools.js';

/**
 * The real buildah (its own containers/storage, vfs driver, all state in a temp dir) against a real registry node:
 * an image is built from scratch (copy + config, no RUN, so no base rootfs or runtime), committed, and pushed as OCI
 * and as Docker schema 2 under the same tag; the registry's HTTP API and skopeo check what landed.
 */

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const ACCEPT_IMAGE = `${MT.manifest}, ${DOCKER_MANIFEST}`;

/** Machine paths buildah would use as root without the sandbox; they must look the same after the suite. */
const SYSTEM_PATHS = ['/var/lib/containers', '/run/containers', '/etc/containers'];

interface Descriptor { mediaType: string; digest: string; size: number }
interface ImageManifest { schemaVersion: number; mediaType?: string; config: Descriptor; layers: Descriptor[] }
interface ImageConfig {
  architecture: string;
  os: string;
  config?: { Entrypoint?: string[] };
  rootfs: { type: string; diff_ids: string[] };
}
interface InspectOutput { Digest: string; Architecture: string; Os: string; Layers: string[] }

/** Paths (to depth 3) with type and mtime, or "absent": enough to see a tool create or touch something there. */
async function snapshot(path: string, depth = 3): Promise<string[]> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return [`${path} absent`];
  }
  const out = [`${path} ${st.isDirectory() ? 'd' : 'f'} ${st.mtimeMs}`];
  if (st.isDirectory() && depth > 0) {
    for (const name of (await readdir(path)).sort()) out.push(...(await snapshot(join(path, name), depth - 1)));
  }
  return out;
}

/** Regular-file names and contents of an uncompressed tar (ustar; the names here are short). */
function untar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let off = 0; off + 512 <= tar.length;) {
    const header = tar.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, len: number) => header.subarray(start, start + len).toString('latin1').replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    if (type === '0' || type === '') files.set(name.replace(/^\.?\//, ''), Buffer.from(tar.subarray(off + 512, off + 512 + size)));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

describe('buildah interop', () => {
  let reg: TestRegistry;
  let work: string;
  let buildah: Buildah;
  let skopeo: Skopeo;
  let host: string;
  let missing: Error | undefined;
  let systemBefore: string[][];
  const script = `#!/bin/sh\necho wharf-buildah-${randomBytes(8).toString('hex')}\n`;
  const image = 'localhost/interop/built:1';
  let imageId: string;
  let ociDigest: string;
  let ociManifest: ImageManifest;
  let ociConfig: ImageConfig;
  const policy = () => ['--signature-policy', buildah.policy];

  const getManifest = async (reference: string, accept: string) => {
    const r = await fetch(`${reg.url}/v2/build/app/manifests/${reference}`, { headers: { Accept: accept } });
    const body = Buffer.from(await r.arrayBuffer());
    assert.equal(r.status, 200, `GET manifest ${reference}: ${r.status} ${body.toString()}`);
    return { body, type: r.headers.get('content-type'), digest: r.headers.get('docker-content-digest'), manifest: JSON.parse(body.toString()) as ImageManifest };
  };
  const getBlob = async (d: Descriptor): Promise<Buffer> => {
    const r = await fetch(`${reg.url}/v2/build/app/blobs/${d.digest}`);
    assert.equal(r.status, 200, `GET blob ${d.digest}`);
    const bytes = Buffer.from(await r.arrayBuffer());
    assert.equal(bytes.length, d.size, `size of ${d.digest}`);
    assert.equal(sha256(bytes), d.digest, 'the blob is what its digest says');
    return bytes;
  };
  /** The manifest's config and layers, fetched and checked against their digests and against each other. */
  const verifyImage = async (m: ImageManifest, configType: string, layerType: string) => {
    assert.equal(m.schemaVersion, 2);
    assert.equal(m.config.mediaType, configType);
    const config = JSON.parse((await getBlob(m.config)).toString()) as ImageConfig;
    assert.equal(config.os, 'linux');
    assert.deepEqual(config.config?.Entrypoint, ['/app/run.sh']);
    assert.equal(m.config.digest, `sha256:${imageId}`, 'the config is the image buildah committed');
    assert.equal(m.layers.length, 1, 'from scratch + one copy = one layer');
    assert.equal(config.rootfs.diff_ids.length, m.layers.length);
    const layer = m.layers[0]!;
    assert.equal(layer.mediaType, layerType);
    const tar = gunzipSync(await getBlob(layer));
    assert.equal(sha256(tar), config.rootfs.diff_ids[0], 'the uncompressed layer matches the config diff_id');
    assert.equal(untar(tar).get('app/run.sh')?.toString(), script, 'the layer holds the copied file');
    return config;
  };
  const skopeoInspect = async (reference: string): Promise<InspectOutput> =>
    JSON.parse((await skopeo.ok(['inspect', '--retry-times', '0', '--tls-verify=false', `docker://${host}/build/app:${reference}`])).stdout.toString()) as InspectOutput;

  before(async () => {
    systemBefore = await Promise.all(SYSTEM_PATHS.map((p) => snapshot(p)));
    work = await mkdtemp(join(tmpdir(), 'wharf-buildah-'));
    try {
      await mkdir(join(work, 'buildah'));
      await mkdir(join(work, 'skopeo'));
      buildah = await Buildah.create(join(work, 'buildah'));
      skopeo = await Skopeo.create(join(work, 'skopeo'));
    } catch (e) {
      // Reported by every test (beforeEach below): a missing buildah is a failure with an install hint, not a skip.
      missing = e as Error;
      return;
    }
    reg = await startTestRegistry();
    host = new URL(reg.url).host;
  });
  beforeEach(() => {
    if (missing) throw missing;
  });
  after(async () => {
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('buildah from scratch, copy, config --entrypoint, commit: an image in buildah storage', async () => {
    const ctr = (await buildah.ok(['from', ...policy(), '--name', 'wharf-build', 'scratch'])).stdout.toString().trim();
    assert.equal(ctr, 'wharf-build');
    const file = join(work, 'run.sh');
    await writeFile(file, script);
    await buildah.ok(['copy', '--chmod', '0755', ctr, file, '/app/run.sh']);
    await buildah.ok(['config', '--entrypoint', '["/app/run.sh"]', ctr]);
    const iidfile = join(work, 'iid');
    await buildah.ok(['commit', ...policy(), '--rm', '--iidfile', iidfile, ctr, image]);
    imageId = (await readFile(iidfile, 'utf8')).trim().replace(/^sha256:/, '');
    assert.match(imageId, /^[0-9a-f]{64}$/);
    const containers = (await buildah.ok(['containers', '--quiet'])).stdout.toString().trim();
    assert.equal(containers, '', 'commit --rm removed the working container');
    const info = JSON.parse((await buildah.ok(['inspect', '--type', 'image', image])).stdout.toString()) as {
      FromImageID: string; OCIv1: { config?: { Entrypoint?: string[] } };
    };
    assert.equal(info.FromImageID, imageId);
    assert.deepEqual(info.OCIv1.config?.Entrypoint, ['/app/run.sh']);
  });

  it('buildah push (OCI, the default): manifest, config and layer through the HTTP API', async () => {
    const digestFile = join(work, 'oci.digest');
    await buildah.ok(['push', ...policy(), '--retry', '0', '--tls-verify=false', '--digestfile', digestFile, image, `docker://${host}/build/app:1`]);
    ociDigest = (await readFile(digestFile, 'utf8')).trim();
    const got = await getManifest('1', ACCEPT_IMAGE);
    assert.equal(got.type, MT.manifest);
    assert.equal(got.digest, ociDigest, 'the registry serves the digest buildah reports');
    assert.equal(sha256(got.body), ociDigest, 'the manifest bytes are unchanged');
    assert.equal(got.manifest.mediaType, MT.manifest);
    ociManifest = got.manifest;
    ociConfig = await verifyImage(got.manifest, MT.config, MT.layerGzip);
  });

  it('skopeo inspect of the OCI push', async () => {
    const info = await skopeoInspect('1');
    assert.equal(info.Digest, ociDigest);
    assert.equal(info.Os, 'linux');
    assert.equal(info.Architecture, ociConfig.architecture);
    assert.deepEqual(info.Layers, ociManifest.layers.map((l) => l.digest));
  });

  it('buildah push --format docker: the same tag now serves Docker schema 2; the OCI manifest stays by digest', async () => {
    const digestFile = join(work, 'docker.digest');
    await buildah.ok(['push', ...policy(), '--retry', '0', '--tls-verify=false', '--format', 'docker', '--digestfile', digestFile, image, `docker://${host}/build/app:1`]);
    const dockerDigest = (await readFile(digestFile, 'utf8')).trim();
    assert.notEqual(dockerDigest, ociDigest);

    const got = await getManifest('1', ACCEPT_IMAGE);
    assert.equal(got.type, DOCKER_MANIFEST);
    assert.equal(got.digest, dockerDigest);
    assert.equal(sha256(got.body), dockerDigest);
    assert.equal(got.manifest.mediaType, DOCKER_MANIFEST);
    await verifyImage(got.manifest, DOCKER_CONFIG, DOCKER_LAYER_GZIP);
    assert.equal((await getManifest('1', DOCKER_MANIFEST)).digest, dockerDigest, 'Accept: Docker schema 2 only');

    const old = await getManifest(ociDigest, ACCEPT_IMAGE);
    assert.equal(old.type, MT.manifest);
    assert.equal(sha256(old.body), ociDigest);

    const info = await skopeoInspect('1');
    assert.equal(info.Digest, dockerDigest);
    assert.equal(info.Os, 'linux');
    assert.deepEqual(info.Layers, got.manifest.layers.map((l) => l.digest));
  });

  it('nothing was written to the machine container paths', async () => {
    assert.deepEqual(await Promise.all(SYSTEM_PATHS.map((p) => snapshot(p))), systemBefore);
  });
});
