import { parseDigest, type Digest } from '../oci/digest.js';

/**
 * The one place that knows the key layout of a region's object store:
 *
 *   blobs/<alg>/<first 2 hex>/<hex>/data   committed, digest-verified content (shared by all repositories)
 *   uploads/<upload id>/data               bytes of an upload in progress (never served)
 *
 * Repositories, tags and manifests live in Postgres; the store holds only bytes.
 */
export function blobKey(digest: Digest): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex.slice(0, 2)}/${hex}/data`;
}

export function uploadPrefix(uploadId: string): string {
  if (!/^[A-Za-z0-9-]{8,64}$/.test(uploadId)) throw new Error(`invalid upload id ${uploadId}`);
  return `uploads/${uploadId}`;
}

export function uploadDataKey(uploadId: string): string {
  return `${uploadPrefix(uploadId)}/data`;
}
