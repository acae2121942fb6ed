import { isValidKey } from '../keys.js';
import { ParamReader, type DriverParams } from '../params.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** S3's floor for every part but the last, and its ceiling for any single part or PUT/COPY. */
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * GiB;

export interface S3Params {
  /** Omit for AWS itself; set for Ceph RGW, MinIO, Swift s3api, ... */
  endpoint: string | undefined;
  region: string;
  bucket: string;
  /** Both or neither; neither means the SDK's default credential chain (env, profile, instance role). */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  forcePathStyle: boolean;
  /** Multipart part size; also the most a writer buffers (twice that while a part uploads). */
  partSize: number;
  /** presignGet returns a URL (clients fetch from the store directly) instead of null. */
  presign: boolean;
  /** Keys live under `<rootPrefix>/` so several stores can share a bucket; '' for the bucket root. */
  rootPrefix: string;
  createBucket: boolean;
  /** move() switches from CopyObject to multipart UploadPartCopy above this size (S3's limit is 5 GiB). */
  multipartCopyThreshold: number;
  copyPartSize: number;
}

const ALLOWED = [
  'endpoint',
  'region',
  'bucket',
  'accessKeyId',
  'secretAccessKey',
  'forcePathStyle',
  'partSize',
  'presign',
  'rootPrefix',
  'createBucket',
  'multipartCopyThreshold',
  'copyPartSize',
] as const;

export function parseS3Params(params: DriverParams): S3Params {
  const p = new ParamReader('s3', params, ALLOWED);
  const bucket = p.string('bucket');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new Error(`storage driver s3: parameter bucket "${bucket}" is not a valid bucket name`);
  }
  const endpoint = p.optString('endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new Error(`storage driver s3: parameter endpoint must be an http(s) URL, got "${endpoint}"`);
  }
  const accessKeyId = p.optString('accessKeyId');
  const secretAccessKey = p.optString('secretAccessKey');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new Error('storage driver s3: parameters accessKeyId and secretAccessKey must be given together');
  }
  const rootPrefix = (p.optString('rootPrefix') ?? '').replace(/^\/+|\/+$/g, '');
  if (rootPrefix !== '' && !isValidKey(rootPrefix)) {
    throw new Error(`storage driver s3: parameter rootPrefix "${rootPrefix}" is not a valid key prefix`);
  }
  return {
    endpoint,
    region: p.string('region'),
    bucket,
    credentials: accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey } : undefined,
    forcePathStyle: p.bool('forcePathStyle', true),
    partSize: p.int('partSize', 16 * MiB, MIN_PART_SIZE, MAX_PART_SIZE),
    presign: p.bool('presign', false),
    rootPrefix,
    createBucket: p.bool('createBucket', true),
    multipartCopyThreshold: p.int('multipartCopyThreshold', MAX_PART_SIZE, MIN_PART_SIZE, MAX_PART_SIZE),
    copyPartSize: p.int('copyPartSize', 512 * MiB, MIN_PART_SIZE, MAX_PART_SIZE),
  };
}
