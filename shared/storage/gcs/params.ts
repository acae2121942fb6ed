import { isValidKey } from '../keys.js';
import { ParamReader, type DriverParams } from '../params.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
/** Bounds on the part size, i.e. on what a writer buffers (twice that while a part uploads). */
export const MIN_PART_SIZE = 256 * KiB;
export const MAX_PART_SIZE = GiB;

/** A service-account key, enough to authenticate and to sign URLs locally. */
export interface GcsCredentials {
  client_email: string;
  private_key: string;
  [k: string]: unknown;
}

export interface GcsParams {
  bucket: string;
  /** Only used for billing/quota attribution; object operations do not need it. */
  projectId: string | undefined;
  /** Omit for Google itself; set for a private endpoint, a proxy or an emulator. */
  apiEndpoint: string | undefined;
  /**
   * The endpoint is a local emulator (the firebase-tools Cloud Storage emulator, fake-gcs-server): requests go
   * unauthenticated and the JSON API is addressed at the endpoint's root, as the client library itself does when
   * STORAGE_EMULATOR_HOST is set. Without it, a custom `apiEndpoint` is authenticated like Google's own.
   */
  emulator: boolean;
  /** A service-account key file; neither this nor `credentials` means Application Default Credentials. */
  keyFilename: string | undefined;
  credentials: GcsCredentials | undefined;
  /** Keys live under `<rootPrefix>/` so several stores can share a bucket; '' for the bucket root. */
  rootPrefix: string;
  /** Writers upload a scratch object per part of this size; also the most a writer buffers. */
  partSize: number;
  /** presignGet returns a v4 signed URL (clients fetch from GCS directly) instead of null. */
  presign: boolean;
  /**
   * How a writer of several parts assembles its object on commit. 'auto': GCS compose (32 sources per call,
   * recursively), falling back to streaming the parts into one upload if the server answers 501 (emulators).
   * 'never': always stream (costs egress + ingress of the whole object on every multi-part commit).
   */
  compose: 'auto' | 'never';
}

const ALLOWED = [
  'bucket',
  'projectId',
  'apiEndpoint',
  'emulator',
  'keyFilename',
  'credentials',
  'rootPrefix',
  'partSize',
  'presign',
  'compose',
] as const;

function fail(why: string): never {
  throw new Error(`storage driver gcs: ${why}`);
}

export function parseGcsParams(params: DriverParams): GcsParams {
  const p = new ParamReader('gcs', params, ALLOWED);
  const bucket = p.string('bucket');
  // Google's rules: 3-63 characters (up to 222 with dots), lower-case letters, digits, '-', '_' and '.'.
  if (!/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(bucket)) fail(`parameter bucket "${bucket}" is not a valid bucket name`);
  const apiEndpoint = p.optString('apiEndpoint')?.replace(/\/+$/, '');
  if (apiEndpoint !== undefined && !/^https?:\/\/[^/]+$/.test(apiEndpoint)) {
    fail(`parameter apiEndpoint must be an http(s) URL without a path, got "${apiEndpoint}"`);
  }
  const emulator = p.bool('emulator', false);
  if (emulator && apiEndpoint === undefined) fail('parameter emulator needs apiEndpoint (the emulator’s URL)');
  const keyFilename = p.optString('keyFilename');
  const credentials = readCredentials(params['credentials']);
  if (keyFilename !== undefined && credentials !== undefined) fail('parameters keyFilename and credentials are exclusive');
  const rootPrefix = (p.optString('rootPrefix') ?? '').replace(/^\/+|\/+$/g, '');
  if (rootPrefix !== '' && !isValidKey(rootPrefix)) fail(`parameter rootPrefix "${rootPrefix}" is not a valid key prefix`);
  const compose = p.optString('compose') ?? 'auto';
  if (compose !== 'auto' && compose !== 'never') fail(`parameter compose must be "auto" or "never", got "${compose}"`);
  return {
    bucket,
    projectId: p.optString('projectId'),
    apiEndpoint,
    emulator,
    keyFilename,
    credentials,
    rootPrefix,
    partSize: p.int('partSize', 16 * MiB, MIN_PART_SIZE, MAX_PART_SIZE),
    presign: p.bool('presign', false),
    compose,
  };
}

/** A service-account key as an object or as its JSON text (what a config file or env var can carry). */
function readCredentials(raw: unknown): GcsCredentials | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  let v = raw;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      fail('parameter credentials must be a service-account key (JSON object or its text)');
    }
  }
  const c = v as Partial<GcsCredentials> | null;
  if (typeof c !== 'object' || c === null || Array.isArray(c) || typeof c.client_email !== 'string' || typeof c.private_key !== 'string') {
    fail('parameter credentials must be a service-account key with client_email and private_key');
  }
  return c as GcsCredentials;
}
