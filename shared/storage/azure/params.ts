import { isValidKey } from '../keys.js';
import { ParamReader, type DriverParams } from '../params.js';

const MiB = 1024 * 1024;
/** Azure's ceiling for one staged block (service version 2019-12-12 and later). */
export const MAX_BLOCK_SIZE = 4000 * MiB;
/** Below this a long upload would run out of blocks (50,000 per blob) at a few GiB. */
export const MIN_BLOCK_SIZE = MiB;
export const DEFAULT_BLOCK_SIZE = 8 * MiB;

export interface AzureParams {
  accountName: string;
  /** Shared key: signs requests, the SAS of copy sources and presigned URLs. */
  accountKey: string;
  /** Blob service URL without a trailing slash; Azurite's includes the account (http://127.0.0.1:10000/devstoreaccount1). */
  endpoint: string;
  container: string;
  /** Keys live under `<rootPrefix>/` so several stores can share a container; '' for the container root. */
  rootPrefix: string;
  /** Staged block size; also the most a writer buffers (twice that while a block uploads). */
  blockSize: number;
  /** presignGet returns a read-only SAS URL (clients fetch from Azure directly) instead of null. */
  presign: boolean;
  createContainer: boolean;
}

const ALLOWED = ['accountName', 'accountKey', 'endpoint', 'container', 'rootPrefix', 'blockSize', 'presign', 'createContainer'] as const;

function fail(why: string): never {
  throw new Error(`storage driver azure: ${why}`);
}

export function parseAzureParams(params: DriverParams): AzureParams {
  const p = new ParamReader('azure', params, ALLOWED);
  const accountName = p.string('accountName');
  if (!/^[a-z0-9]{3,24}$/.test(accountName)) fail(`parameter accountName "${accountName}" is not a valid storage account name`);
  const accountKey = p.string('accountKey');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(accountKey) || accountKey.length % 4 !== 0) fail('parameter accountKey is not base64');
  const container = p.string('container');
  // 3-63 characters: lowercase letters, digits and single hyphens, starting and ending with a letter or digit.
  if (!/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(container)) {
    fail(`parameter container "${container}" is not a valid container name`);
  }
  const endpoint = (p.optString('endpoint') ?? `https://${accountName}.blob.core.windows.net`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(endpoint)) fail(`parameter endpoint must be an http(s) URL, got "${endpoint}"`);
  const rootPrefix = (p.optString('rootPrefix') ?? '').replace(/^\/+|\/+$/g, '');
  if (rootPrefix !== '' && !isValidKey(rootPrefix)) fail(`parameter rootPrefix "${rootPrefix}" is not a valid key prefix`);
  return {
    accountName,
    accountKey,
    endpoint,
    container,
    rootPrefix,
    blockSize: p.int('blockSize', DEFAULT_BLOCK_SIZE, MIN_BLOCK_SIZE, MAX_BLOCK_SIZE),
    presign: p.bool('presign', false),
    createContainer: p.bool('createContainer', true),
  };
}
