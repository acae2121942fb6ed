import { WharfError } from '../../../../shared/errors/errcode.js';
import { PAGINATION_NUMBER_INVALID } from '../../../../shared/errors/codes.js';

export const MAX_PAGE = 10_000;

/** `n` and `last` of the tags and catalog APIs. Without n everything is listed (bounded by an internal cap). */
export function pageParams(n: string | undefined, last: string | undefined): { n: number | undefined; last: string | undefined } {
  if (n === undefined || n === '') return { n: undefined, last: last || undefined };
  if (!/^\d{1,9}$/.test(n)) throw new WharfError(PAGINATION_NUMBER_INVALID, { detail: { n } });
  return { n: Math.min(Number(n), MAX_PAGE), last: last || undefined };
}

/** RFC 5988 Link to the next page, as distribution sends it. */
export function nextLink(path: string, n: number, last: string): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
}
