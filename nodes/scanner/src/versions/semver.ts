/**
 * SemVer 2.0 precedence, for npm and Go module versions.
 *
 * Loose on input because the data is: a leading "v" (Go), missing minor/patch ("1.0" in npm OSV ranges means
 * 1.0.0), leading zeros, and extra numeric components, which go into build metadata and so are ignored (as
 * osv-scalibr does). Build metadata never affects order, so Go's "+incompatible" is ignored. Go pseudo-versions
 * (v0.0.0-20191109021931-daa7c04131f5) are ordinary prereleases and compare as such. Never throws: what does not
 * parse at all keeps 0.0.0 and the text as its prerelease, which sorts it before 0.0.0.
 */

export interface SemVer {
  /** Decimal digit strings without leading zeros: components may exceed 2^53 (they do in test data). */
  major: string;
  minor: string;
  patch: string;
  prerelease: string[];
}

export function parseSemver(input: string): SemVer {
  let s = input.trim().replace(/^[vV]/, '');
  const plus = s.indexOf('+');
  if (plus >= 0) s = s.slice(0, plus);
  const dash = s.indexOf('-');
  const core = dash >= 0 ? s.slice(0, dash) : s;
  const pre = dash >= 0 ? s.slice(dash + 1) : '';
  const m = /^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\..*)?$/.exec(core);
  const num = (x: string | undefined) => (x ?? '0').replace(/^0+(?=\d)/, '');
  if (!m) return { major: '0', minor: '0', patch: '0', prerelease: [input.trim()] };
  return { major: num(m[1]), minor: num(m[2]), patch: num(m[3]), prerelease: pre === '' ? [] : pre.split('.') };
}

const cmp = (a: string | number, b: string | number): number => (a < b ? -1 : a > b ? 1 : 0);

/** Numbers of any length, given as digit strings without leading zeros. */
const numCmp = (a: string, b: string): number => cmp(a.length, b.length) || cmp(a, b);

const isNumeric = (s: string): boolean => /^\d+$/.test(s);

function compareIdent(a: string, b: string): number {
  const na = isNumeric(a);
  const nb = isNumeric(b);
  // Numeric identifiers compare numerically and sort before alphanumeric ones; others compare in ASCII order.
  if (na && nb) return numCmp(a.replace(/^0+(?=\d)/, ''), b.replace(/^0+(?=\d)/, ''));
  if (na !== nb) return na ? -1 : 1;
  return cmp(a, b);
}

export function compareSemverParsed(a: SemVer, b: SemVer): number {
  const r = numCmp(a.major, b.major) || numCmp(a.minor, b.minor) || numCmp(a.patch, b.patch);
  if (r !== 0) return r;
  // A version without prerelease is higher than any prerelease of it.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) {
    return a.prerelease.length === b.prerelease.length ? 0 : a.prerelease.length === 0 ? 1 : -1;
  }
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const c = compareIdent(a.prerelease[i]!, b.prerelease[i]!);
    if (c !== 0) return c;
  }
  return cmp(a.prerelease.length, b.prerelease.length);
}

export function compareSemver(a: string, b: string): number {
  return compareSemverParsed(parseSemver(a), parseSemver(b));
}
