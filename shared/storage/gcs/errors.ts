/** Reading the client library's ApiError (and raw HTTP errors) without depending on its classes. */
export function gcsStatus(err: unknown): number | undefined {
  const e = err as { code?: unknown; status?: unknown; response?: { statusCode?: unknown } } | null;
  if (typeof e !== 'object' || e === null) return undefined;
  for (const v of [e.code, e.status, e.response?.statusCode]) if (typeof v === 'number') return v;
  return undefined;
}

/**
 * A missing object. A missing bucket answers 404 too, but that is a configuration error, never "not found":
 * mapping it to NotFoundError would make a misconfigured store look empty.
 */
export function isNotFound(err: unknown): boolean {
  if (gcsStatus(err) !== 404) return false;
  const message = err instanceof Error ? err.message : '';
  return !/bucket does not exist/i.test(message);
}

export function isInvalidRange(err: unknown): boolean {
  return gcsStatus(err) === 416;
}

/** The server does not implement the call (the emulators' compose). */
export function isNotImplemented(err: unknown): boolean {
  return gcsStatus(err) === 501;
}
