/** Reading @azure/storage-blob's RestError without depending on its class. */
export function azureStatus(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** The service's error code; HEAD answers carry it only in a header, which the SDK puts in `details`. */
export function azureCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; details?: { errorCode?: unknown } } | null;
  const code = e?.code ?? e?.details?.errorCode;
  return typeof code === 'string' ? code : undefined;
}

/** A missing blob. A missing container is a configuration error instead, never "not found". */
export function isBlobNotFound(err: unknown): boolean {
  if (azureStatus(err) !== 404) return false;
  const code = azureCode(err);
  return code === undefined || code === 'BlobNotFound';
}

export function isInvalidRange(err: unknown): boolean {
  return azureStatus(err) === 416 || azureCode(err) === 'InvalidRange';
}
