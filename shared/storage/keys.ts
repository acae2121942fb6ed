/**
 * The key grammar every driver relies on. Checked once, in base.ts, so drivers can map keys straight onto
 * paths and object names without re-validating (a filesystem driver must never see '..').
 */
export const MAX_KEY_LENGTH = 1024;

const SEGMENT_RE = /^[A-Za-z0-9._-]+$/;

export function isValidSegment(segment: string): boolean {
  return segment !== '.' && segment !== '..' && SEGMENT_RE.test(segment);
}

/** Relative, '/'-separated, [A-Za-z0-9._-] segments, no '.'/'..' segments, no empty segment, ≤ 1024 chars. */
export function isValidKey(key: string): boolean {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) return false;
  return key.split('/').every(isValidSegment);
}

/** A list/delete prefix names a "directory": same grammar as a key. '' (the whole store) only where allowed. */
export function isValidPrefix(prefix: string, allowRoot: boolean): boolean {
  if (prefix === '') return allowRoot;
  return isValidKey(prefix);
}

/** Byte order, which for our ASCII-only keys is UTF-16 code unit order; localeCompare would differ from S3. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
