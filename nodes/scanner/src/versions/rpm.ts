/**
 * RPM version ordering: rpmvercmp (rpm's rpmio/rpmvercmp.c) and [epoch:]version[-release] comparison as
 * rpmverCmp does it, plus NEVRA strings as claircore's internal/rpmver reads them.
 *
 * Nothing here throws on odd input: rpmvercmp orders any two strings, and the parsers only split.
 */

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
// ASCII only, like rpm's risalpha: every other byte (UTF-8 included) is a separator, so "1.α" == "1.β".
const isAlpha = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const TILDE = 126;
const CARET = 94;

/** rpmvercmp: <0, 0, >0. */
export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  // charCodeAt past the end is NaN, which no predicate matches: it behaves like C's NUL.
  const sep = (c: number) => !Number.isNaN(c) && !isDigit(c) && !isAlpha(c) && c !== TILDE && c !== CARET;
  while (i < a.length || j < b.length) {
    while (sep(a.charCodeAt(i))) i++;
    while (sep(b.charCodeAt(j))) j++;
    const ac = a.charCodeAt(i);
    const bc = b.charCodeAt(j);
    // '~' sorts before everything, even the end of the string (1.0~rc1 < 1.0).
    if (ac === TILDE || bc === TILDE) {
      if (ac !== TILDE) return 1;
      if (bc !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    // '^' sorts after the end of the string but before anything else (1.0 < 1.0^git1 < 1.0.1).
    if (ac === CARET || bc === CARET) {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (ac !== CARET) return 1;
      if (bc !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const isnum = isDigit(ac);
    const run = isnum ? isDigit : isAlpha;
    const si = i;
    const sj = j;
    while (i < a.length && run(a.charCodeAt(i))) i++;
    while (j < b.length && run(b.charCodeAt(j))) j++;
    let sa = a.slice(si, i);
    let sb = b.slice(sj, j);
    // Different segment types: numbers are newer than letters.
    if (sb === '') return isnum ? 1 : -1;
    if (isnum) {
      // Compare as numbers of any length: strip zeros, longer wins, then lexical.
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length > sb.length ? 1 : -1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}

export interface Evr {
  /** Absent epoch means 0. */
  epoch: string;
  version: string;
  /** undefined when the string has no '-'; '' when it ends in one. */
  release?: string;
}

/** rpm's parseEVR: an epoch only when the string starts with digits then ':'; release after the last '-'. */
export function parseEVR(s: string): Evr {
  const m = /^(\d*):/.exec(s);
  const epoch = m ? m[1] || '0' : '0';
  const vr = m ? s.slice(m[0].length) : s;
  const dash = vr.lastIndexOf('-');
  if (dash < 0) return { epoch, version: vr };
  return { epoch, version: vr.slice(0, dash), release: vr.slice(dash + 1) };
}

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

/**
 * Epoch, version, then release. rpm's own rpmverCmp skips the release when either side lacks one (a dependency on
 * "foo >= 1.0" matches any release); that is not a total order (1.0-1 == 1.0 == 1.0-2 but 1.0-1 < 1.0-2), and a
 * sort or range check needs one, so here a missing release sorts before any present release, as in claircore.
 */
export function compareEvrParsed(a: Evr, b: Evr): number {
  const e = rpmvercmp(a.epoch, b.epoch);
  if (e !== 0) return sign(e);
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return sign(v);
  if (a.release === undefined || b.release === undefined) {
    return a.release === b.release ? 0 : a.release === undefined ? -1 : 1;
  }
  return sign(rpmvercmp(a.release, b.release));
}

export function compareRpm(a: string, b: string): number {
  return compareEvrParsed(parseEVR(a), parseEVR(b));
}

export interface Nevra {
  name?: string;
  epoch?: string;
  version: string;
  release: string;
  arch?: string;
}

// There is no way to tell an architecture from one more release segment except by knowing the names.
const ARCHES = new Set(['aarch64', 'i386', 'i686', 'noarch', 'ppc64le', 'riscv', 's390x', 'src', 'x86_64']);

/**
 * [name-][epoch:]version-release[.arch], split as claircore's rpmver.Parse: the name is everything before the
 * second-to-last '-'. Returns null without any '-', since then version and release cannot be told apart.
 */
export function parseNevra(s: string): Nevra | null {
  const last = s.lastIndexOf('-');
  if (last < 0) return null;
  const prev = s.lastIndexOf('-', last - 1);
  const name = prev >= 0 ? s.slice(0, prev) : undefined;
  const evra = prev >= 0 ? s.slice(prev + 1) : s;
  const dash = evra.indexOf('-');
  let ev = evra.slice(0, dash);
  let release = evra.slice(dash + 1);
  let epoch: string | undefined;
  const colon = ev.indexOf(':');
  if (colon >= 0) {
    if (colon > 0) epoch = ev.slice(0, colon);
    ev = ev.slice(colon + 1);
  }
  let arch: string | undefined;
  const dot = release.lastIndexOf('.');
  if (dot >= 0 && ARCHES.has(release.slice(dot + 1))) {
    arch = release.slice(dot + 1);
    release = release.slice(0, dot);
  }
  const out: Nevra = { version: ev, release };
  if (name !== undefined) out.name = name;
  if (epoch !== undefined) out.epoch = epoch;
  if (arch !== undefined) out.arch = arch;
  return out;
}

/** An optional part present sorts after it absent; present parts compare with rpmvercmp. */
function compareOptional(a: string | undefined, b: string | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  return sign(rpmvercmp(a, b));
}

/** Name, epoch, version, release, arch. Strings that are not NEVRA at all fall back to EVR comparison. */
export function compareNevra(a: string, b: string): number {
  const x = parseNevra(a);
  const y = parseNevra(b);
  if (x === null || y === null) return compareRpm(a, b);
  return (
    compareOptional(x.name, y.name) ||
    sign(rpmvercmp(x.epoch ?? '0', y.epoch ?? '0')) ||
    sign(rpmvercmp(x.version, y.version)) ||
    sign(rpmvercmp(x.release, y.release)) ||
    compareOptional(x.arch, y.arch)
  );
}
