import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * Fixtures for interop tests: an OCI image layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
 * holding a real multi-arch image, and an artifact manifest whose subject is that image. Everything is deterministic
 * for a given `seed`, so two runs with the same seed produce the same digests.
 */

export const OCI_LAYOUT_VERSION = '1.0.0';
export const MT = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  empty: 'application/vnd.oci.empty.v1+json',
} as const;

/** The OCI "empty" descriptor: the two bytes `{}`. */
export const EMPTY_JSON = Buffer.from('{}');
export const EMPTY_DESCRIPTOR = {
  mediaType: MT.empty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
} as const;

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  platform?: { architecture: string; os: string; variant?: string };
  annotations?: Record<string, string>;
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function describe(mediaType: string, bytes: Uint8Array, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: sha256(bytes), size: bytes.length, ...extra };
}

// ---------------------------------------------------------------------------------------------------------------
// A minimal ustar writer: regular files and directories, fixed owner and mtime.

export interface TarEntry {
  /** Path inside the archive, without a leading '/'; directories end with '/'. */
  name: string;
  content?: Uint8Array | string;
  mode?: number;
}

const BLOCK = 512;

export function buildTar(entries: TarEntry[], mtime = 1_700_000_000): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const isDir = e.name.endsWith('/');
    const data = isDir ? Buffer.alloc(0) : Buffer.from(e.content ?? '');
    parts.push(tarHeader(e.name, isDir ? '5' : '0', data.length, e.mode ?? (isDir ? 0o755 : 0o644), mtime));
    if (data.length > 0) {
      parts.push(data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2)); // end-of-archive marker
  return Buffer.concat(parts);
}

function tarHeader(name: string, type: '0' | '5', size: number, mode: number, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    // ustar splits long paths at a '/' into prefix (155) + name (100).
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`tar path too long: ${name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  const put = (s: string, off: number, len: number) => h.write(s, off, len, 'utf8');
  const oct = (n: number, len: number) => n.toString(8).padStart(len - 1, '0') + '\0';
  put(base, 0, 100);
  put(oct(mode, 8), 100, 8);
  put(oct(0, 8), 108, 8); // uid
  put(oct(0, 8), 116, 8); // gid
  put(oct(size, 12), 124, 12);
  put(oct(mtime, 12), 136, 12);
  put('        ', 148, 8); // checksum placeholder: spaces while summing
  put(type, 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put('root', 265, 32);
  put('root', 297, 32);
  put(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

// ---------------------------------------------------------------------------------------------------------------
// The multi-arch image.

export interface Layer {
  /** The gzip-compressed tar, as pushed. */
  blob: Buffer;
  digest: string;
  /** sha256 of the uncompressed tar (its rootfs.diff_ids entry). */
  diffId: string;
}

export interface PlatformImage {
  platform: { architecture: string; os: string };
  manifest: Buffer;
  manifestDescriptor: Descriptor;
  config: Buffer;
  configDigest: string;
  /** Bottom first: a platform-specific layer, then a layer every platform shares (same bytes, same digest). */
  layers: Layer[];
}

export interface MultiArchImage {
  index: Buffer;
  indexDigest: string;
  images: PlatformImage[];
  /** Every blob (configs, layers) and manifest (platform manifests and the index) by digest. */
  blobs: Map<string, Buffer>;
}

function layerOf(entries: TarEntry[]): Layer {
  const tar = buildTar(entries);
  const blob = gzipSync(tar, { level: 6 });
  return { blob, digest: sha256(blob), diffId: sha256(tar) };
}

export function buildMultiArchImage(
  opts: { seed?: string; platforms?: { architecture: string; os: string }[]; randomBytes?: number } = {},
): MultiArchImage {
  const seed = opts.seed ?? 'wharf';
  // Incompressible payload per platform layer: big enough that uploads and downloads span many socket reads and writes.
  const randomBytes = opts.randomBytes ?? 2 * 1024 * 1024;
  const platforms = opts.platforms ?? [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }];
  const blobs = new Map<string, Buffer>();
  const images: PlatformImage[] = [];
  const shared = layerOf([
    { name: 'usr/' },
    { name: 'usr/share/' },
    { name: 'usr/share/doc/' },
    { name: 'usr/share/doc/wharf/' },
    { name: 'usr/share/doc/wharf/README', content: `Shared by every platform of the ${seed} image.
` },
    { name: 'usr/share/doc/wharf/notes.bin', content: pseudoRandom(`${seed}:shared`, 64 * 1024) },
  ]);
  for (const platform of platforms) {
    const tag = `${platform.os}/${platform.architecture}`;
    const own = layerOf([
      { name: 'etc/' },
      { name: 'etc/wharf-release', content: `NAME=wharf-interop\nSEED=${seed}\nPLATFORM=${tag}\n` },
      { name: 'usr/' },
      { name: 'usr/share/' },
      { name: 'usr/share/wharf/' },
      { name: 'usr/share/wharf/hello.txt', content: `hello from ${tag}\n` },
      { name: 'usr/share/wharf/data.bin', content: pseudoRandom(`${seed}:${tag}`, randomBytes) },
      { name: 'usr/share/wharf/run.sh', content: '#!/bin/sh\necho hello\n', mode: 0o755 },
    ]);
    const layers = [own, shared];
    const config = Buffer.from(JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture: platform.architecture,
      os: platform.os,
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/usr/share/wharf/run.sh'], Labels: { 'org.example.seed': seed } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'wharf test/support/oci-layout.ts' })),
    }));
    const configDigest = sha256(config);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.manifest,
      config: describe(MT.config, config),
      layers: layers.map((l) => describe(MT.layerGzip, l.blob)),
    }));
    const manifestDescriptor = describe(MT.manifest, manifest, { platform: { ...platform } });
    for (const l of layers) blobs.set(l.digest, l.blob);
    blobs.set(configDigest, config);
    blobs.set(manifestDescriptor.digest, manifest);
    images.push({ platform, manifest, manifestDescriptor, config, configDigest, layers });
  }
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MT.index,
    manifests: images.map((i) => i.manifestDescriptor),
  }));
  const indexDigest = sha256(index);
  blobs.set(indexDigest, index);
  return { index, indexDigest, images, blobs };
}

/** Deterministic bytes that gzip cannot compress (AES-256-CTR keystream keyed by the seed). */
function pseudoRandom(seed: string, n: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(n)), cipher.final()]);
}

// ---------------------------------------------------------------------------------------------------------------
// The layout on disk.

export interface WrittenLayout extends MultiArchImage {
  dir: string;
  tag: string;
}

/** Writes `image` (default: a fresh multi-arch image) as an OCI image layout in `dir`, the index tagged `tag`. */
export async function writeMultiArchLayout(
  dir: string, opts: { tag?: string; seed?: string; image?: MultiArchImage } = {},
): Promise<WrittenLayout> {
  const tag = opts.tag ?? 'latest';
  const image = opts.image ?? buildMultiArchImage(opts.seed !== undefined ? { seed: opts.seed } : {});
  await writeLayout(dir, image.blobs, [{ tag, descriptor: describe(MT.index, image.index) }]);
  return { ...image, dir, tag };
}

/** Writes `artifact` (manifest and blobs) as an OCI image layout in `dir`, the manifest tagged `tag`. */
export async function writeArtifactLayout(dir: string, artifact: SubjectArtifact, tag: string): Promise<void> {
  const blobs = new Map(artifact.blobs).set(artifact.digest, artifact.manifest);
  await writeLayout(dir, blobs, [{ tag, descriptor: describe(MT.manifest, artifact.manifest) }]);
}

/** A layout holding `blobs` (manifests included) whose index.json names `refs`. */
export async function writeLayout(dir: string, blobs: Map<string, Buffer>, refs: { tag: string; descriptor: Descriptor }[]): Promise<void> {
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  for (const [digest, bytes] of blobs) await writeFile(join(blobDir, digest.slice('sha256:'.length)), bytes);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    mediaType: MT.index,
    manifests: refs.map((r) => ({ ...r.descriptor, annotations: { ...r.descriptor.annotations, [REF_NAME_ANNOTATION]: r.tag } })),
  }));
}

export interface LayoutContents {
  /** index.json, parsed. */
  index: { manifests: Descriptor[] };
  /** Every file under blobs/sha256 by digest. */
  blobs: Map<string, Buffer>;
}

/** Reads a layout back (e.g. one skopeo wrote); checks each blob's name is its digest. */
export async function readLayout(dir: string): Promise<LayoutContents> {
  const layoutFile = JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8')) as { imageLayoutVersion?: string };
  if (layoutFile.imageLayoutVersion !== OCI_LAYOUT_VERSION) throw new Error(`${dir}: unexpected oci-layout ${JSON.stringify(layoutFile)}`);
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const blobs = new Map<string, Buffer>();
  const blobDir = join(dir, 'blobs', 'sha256');
  for (const name of await readdir(blobDir)) {
    const bytes = await readFile(join(blobDir, name));
    const digest = `sha256:${name}`;
    if (sha256(bytes) !== digest) throw new Error(`${dir}: blob ${name} does not match its digest`);
    blobs.set(digest, bytes);
  }
  return { index, blobs };
}

/** The descriptor in a layout's index.json carrying ref.name `tag`. */
export function taggedDescriptor(layout: LayoutContents, tag: string): Descriptor | undefined {
  return layout.index.manifests.find((d) => d.annotations?.[REF_NAME_ANNOTATION] === tag);
}

// ---------------------------------------------------------------------------------------------------------------
// An artifact that refers to the image (an SBOM, say), for the referrers API.

export interface SubjectArtifact {
  manifest: Buffer;
  digest: string;
  artifactType: string;
  /** Blobs to push before the manifest: the empty config and the payload layer. */
  blobs: Map<string, Buffer>;
  payloadDigest: string;
}

export const SBOM_ARTIFACT_TYPE = 'application/vnd.example.sbom.v1+json';

export function buildSubjectArtifact(
  subject: Descriptor,
  opts: { artifactType?: string; payload?: string | Buffer; annotations?: Record<string, string> } = {},
): SubjectArtifact {
  const artifactType = opts.artifactType ?? SBOM_ARTIFACT_TYPE;
  const payload = Buffer.from(opts.payload ?? JSON.stringify({ sbom: 'example', packages: [{ name: 'hello', version: '1.0' }] }));
  const payloadDesc = describe(artifactType, payload);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MT.manifest,
    artifactType,
    config: EMPTY_DESCRIPTOR,
    layers: [payloadDesc],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', ...opts.annotations },
  }));
  const blobs = new Map<string, Buffer>([[EMPTY_DESCRIPTOR.digest, EMPTY_JSON], [payloadDesc.digest, payload]]);
  return { manifest, digest: sha256(manifest), artifactType, blobs, payloadDigest: payloadDesc.digest };
}
