/** Reading the AWS SDK's service exceptions without depending on its class hierarchy. */
export function s3ErrorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

export function s3Status(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return meta?.httpStatusCode;
}

/** A missing object. HEAD answers a bare 404 ("NotFound"); a missing bucket is a configuration error instead. */
export function isNoSuchKey(err: unknown): boolean {
  const name = s3ErrorName(err);
  if (name === 'NoSuchBucket' || name === 'NoSuchUpload') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || s3Status(err) === 404;
}

export function isInvalidRange(err: unknown): boolean {
  return s3ErrorName(err) === 'InvalidRange' || s3Status(err) === 416;
}

export function isNoSuchUpload(err: unknown): boolean {
  return s3ErrorName(err) === 'NoSuchUpload';
}
