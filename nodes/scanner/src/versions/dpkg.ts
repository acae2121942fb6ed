/**
 * Debian version ordering (Debian Policy §5.6.12), as dpkg's lib/dpkg/version.c implements it.
 *
 * Two entry points with different contracts:
 * - `parseDpkgVersion` is strict: it throws `VersionParseError` for strings dpkg itself rejects as errors (empty,
 *   embedded whitespace, bad or empty epoch, empty upstream or revision). Use it to validate feed data.
 * - `compareDpkg` never throws: status files and feeds do hold versions dpkg only warns about (upstream not starting
 *   with a digit, odd characters), and a matcher must still order them. It splits leniently and compares with the
 *   same character order dpkg uses, which is what `dpkg --compare-versions` does after printing its warning.
 */

export class VersionParseError extends Error {
  constructor(
    readonly format: string,
    readonly input: string,
    reason: string,
  ) {
    super(`${format}: invalid version ${JSON.stringify(input)}: ${reason}`);
    this.name = 'VersionParseError';
  }
}

export interface DpkgVersion {
  epoch: number;
  upstream: string;
  /** '' when absent: dpkg compares a missing revision as the empty string, so 1.0 == 1.0-0. */
  revision: string;
}

/** Splits without validating; the shared first step of the strict parser and of compare. */
function split(input: string): DpkgVersion {
  const s = input.trim();
  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const e = s.slice(0, colon);
    // Lenient path: a non-numeric "epoch" cannot be ordered, so it counts as 0 rather than failing the comparison.
    epoch = /^\d+$/.test(e) ? Number(e) : 0;
    rest = s.slice(colon + 1);
  }
  // The revision is everything after the *last* hyphen; upstream may itself contain hyphens.
  const dash = rest.lastIndexOf('-');
  if (dash >= 0) return { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) };
  return { epoch, upstream: rest, revision: '' };
}

/** Strict parse; throws VersionParseError where dpkg reports an error (not where it merely warns). */
export function parseDpkgVersion(input: string): DpkgVersion {
  const fail = (why: string): never => {
    throw new VersionParseError('dpkg', input, why);
  };
  const s = input.trim();
  if (s === '') fail('version string is empty');
  if (/\s/.test(s)) fail('version string has embedded spaces');
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (e === '') fail('epoch in version is empty');
    if (!/^\d+$/.test(e)) fail('epoch in version is not number');
    // dpkg stores the epoch in an int and rejects anything larger.
    if (Number(e) > 2147483647) fail('epoch in version is too big');
    if (colon === s.length - 1) fail('nothing after colon in version number');
  }
  const v = split(s);
  if (s.includes('-') && v.revision === '') fail('revision number is empty');
  if (v.upstream === '') fail('version number is empty');
  return v;
}

/** dpkg's order(): '~' below end-of-string, which is below letters, which are below all other characters. */
function order(c: number): number {
  if (c >= 48 && c <= 57) return 0; // digits never reach here in practice; dpkg maps them to 0 too
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return c;
  if (c === 126) return -1; // '~'
  if (Number.isNaN(c)) return 0; // end of string
  return c + 256;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** dpkg's verrevcmp on one part (upstream or revision). Returns <0, 0, >0. */
export function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  // charCodeAt past the end is NaN, which plays the role of C's terminating NUL.
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(a.charCodeAt(i));
      const bc = order(b.charCodeAt(j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    // Compare numeric runs digit by digit so that runs longer than 2^53 still compare exactly.
    let firstDiff = 0;
    while (isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a.charCodeAt(i))) return 1;
    if (isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

/** Orders two parsed versions: epoch, then upstream, then revision. */
export function compareDpkgParsed(a: DpkgVersion, b: DpkgVersion): number {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  return sign(verrevcmp(a.upstream, b.upstream)) || sign(verrevcmp(a.revision, b.revision));
}

/** -1, 0 or 1 as `dpkg --compare-versions a lt|eq|gt b` would answer. Never throws. */
export function compareDpkg(a: string, b: string): number {
  return compareDpkgParsed(split(a), split(b));
}
