import { isDigest, type Digest } from './digest.js';
import {
  DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, MANIFEST_MEDIA_TYPES, OCI_INDEX, OCI_MANIFEST,
  isIndexMediaType, isSchema1MediaType, isWellFormedMediaType,
} from './media-types.js';

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Record<string, unknown>;
}

export interface ParsedManifest {
  mediaType: string;
  kind: 'image' | 'index';
  /** Blobs the manifest points at (config + layers); empty for an index. */
  blobs: Descriptor[];
  /** Child manifests (index entries); empty for an image manifest. */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** artifactType field, or for an image manifest without one, the config media type (referrers API rule). */
  artifactType?: string;
  annotations?: Record<string, string>;
}

export class ManifestValidationError extends Error {
  override readonly name = 'ManifestValidationError';
  constructor(message: string, readonly unsupported = false) {
    super(message);
  }
}

/** Manifests larger than this are refused before parsing (distribution and zot use 4 MiB too). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const fail = (msg: string): never => {
  throw new ManifestValidationError(msg);
};

/**
 * Parse and validate a manifest body. `contentType` is the request's Content-Type (without parameters);
 * when the body carries a mediaType it must agree with it.
 */
export function parseManifest(body: Uint8Array, contentType: string | undefined): ParsedManifest {
  if (body.length > MAX_MANIFEST_BYTES) fail(`manifest is ${body.length} bytes; the limit is ${MAX_MANIFEST_BYTES}`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (e) {
    fail(`manifest is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) return fail('manifest must be a JSON object');
  const ct = contentType?.split(';')[0]?.trim().toLowerCase() || undefined;

  if (doc.schemaVersion === 1 || (ct !== undefined && isSchema1MediaType(ct) && ct !== 'application/json')) {
    throw new ManifestValidationError(
      'Docker image manifest schema 1 is deprecated and not supported; push schema 2 or OCI manifests instead',
      true,
    );
  }
  if (doc.schemaVersion !== 2) fail(`schemaVersion must be 2, got ${JSON.stringify(doc.schemaVersion)}`);

  const declared = doc.mediaType;
  if (declared !== undefined && typeof declared !== 'string') fail('mediaType must be a string');
  let mediaType: string;
  if (typeof declared === 'string') {
    if (ct !== undefined && ct !== 'application/json' && ct !== declared) {
      fail(`mediaType "${declared}" in the manifest does not match Content-Type "${ct}"`);
    }
    mediaType = declared;
  } else if (ct !== undefined && ct !== 'application/json') {
    mediaType = ct;
  } else {
    // OCI manifests may omit mediaType; infer the kind from the shape.
    mediaType = Array.isArray(doc.manifests) ? OCI_INDEX : OCI_MANIFEST;
  }
  if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    fail(`unsupported manifest media type "${mediaType}"; expected one of ${MANIFEST_MEDIA_TYPES.join(', ')}`);
  }

  const subject = doc.subject === undefined ? undefined : descriptor(doc.subject, 'subject');
  if (subject && (mediaType === DOCKER_MANIFEST || mediaType === DOCKER_MANIFEST_LIST)) {
    fail('subject is only allowed in OCI manifests');
  }
  if (doc.artifactType !== undefined && (typeof doc.artifactType !== 'string' || !isWellFormedMediaType(doc.artifactType))) {
    fail('artifactType must be a media type string');
  }
  const annotations = stringMap(doc.annotations, 'annotations');

  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) fail('an index must have a manifests array');
    if (doc.layers !== undefined || doc.config !== undefined) fail('an index must not have config or layers');
    const manifests = (doc.manifests as unknown[]).map((d, i) => descriptor(d, `manifests[${i}]`));
    return withOptional({ mediaType, kind: 'index', blobs: [], manifests }, subject, doc.artifactType as string | undefined, annotations);
  }

  if (doc.manifests !== undefined) fail('an image manifest must not have a manifests array');
  const config = descriptor(doc.config, 'config');
  if (!Array.isArray(doc.layers)) fail('an image manifest must have a layers array');
  const layers = (doc.layers as unknown[]).map((d, i) => descriptor(d, `layers[${i}]`));
  if (mediaType === DOCKER_MANIFEST && layers.length === 0) fail('a Docker image manifest needs at least one layer');
  const artifactType = (doc.artifactType as string | undefined) ?? (mediaType === OCI_MANIFEST ? config.mediaType : undefined);
  return withOptional({ mediaType, kind: 'image', blobs: [config, ...layers], manifests: [] }, subject, artifactType, annotations);
}

function withOptional(
  m: ParsedManifest, subject: Descriptor | undefined, artifactType: string | undefined, annotations: Record<string, string> | undefined,
): ParsedManifest {
  if (subject) m.subject = subject;
  if (artifactType) m.artifactType = artifactType;
  if (annotations) m.annotations = annotations;
  return m;
}

function descriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) return fail(`${where} must be a descriptor object`);
  if (typeof v.mediaType !== 'string' || !isWellFormedMediaType(v.mediaType)) fail(`${where}.mediaType must be a media type`);
  if (typeof v.digest !== 'string' || !isDigest(v.digest)) fail(`${where}.digest is not a valid sha256/sha512 digest`);
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) fail(`${where}.size must be a non-negative integer`);
  const d: Descriptor = { mediaType: v.mediaType as string, digest: v.digest as Digest, size: v.size as number };
  if (v.artifactType !== undefined) {
    if (typeof v.artifactType !== 'string') fail(`${where}.artifactType must be a string`);
    d.artifactType = v.artifactType as string;
  }
  const ann = stringMap(v.annotations, `${where}.annotations`);
  if (ann) d.annotations = ann;
  if (v.platform !== undefined) {
    if (!isObject(v.platform)) fail(`${where}.platform must be an object`);
    d.platform = v.platform as Record<string, unknown>;
  }
  return d;
}

function stringMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) fail(`${where} must map strings to strings`);
  return v as Record<string, string>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
