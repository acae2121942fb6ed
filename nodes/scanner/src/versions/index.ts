/**
 * One entry point per question the matchers ask: how do two versions of a format order, and is a version inside an
 * OSV-style affected range. Each format's ordering lives in its own module.
 */
import type { AffectedRange, PackageFormat } from '../model.js';
import { compareApk } from './apk.js';
import { compareDpkg } from './dpkg.js';
import { compareGem } from './gem.js';
import { compareMaven } from './maven.js';
import { comparePep440 } from './pep440.js';
import { compareRpm } from './rpm.js';
import { compareSemver } from './semver.js';

export { VersionParseError, parseDpkgVersion, compareDpkg } from './dpkg.js';
export { compareApk, isValidApkVersion } from './apk.js';
export { compareRpm, rpmvercmp, parseEVR, compareNevra, parseNevra } from './rpm.js';
export { comparePep440, parsePep440 } from './pep440.js';
export { compareSemver, parseSemver } from './semver.js';
export { compareMaven, canonicalMaven } from './maven.js';
export { compareGem, isValidGemVersion, gemCanonicalSegments } from './gem.js';

const COMPARATORS: Record<PackageFormat, (a: string, b: string) => number> = {
  dpkg: compareDpkg,
  apk: compareApk,
  rpm: compareRpm,
  pypi: comparePep440,
  npm: compareSemver,
  go: compareSemver,
  maven: compareMaven,
  gem: compareGem,
};

/** -1, 0 or 1 in the format's own ordering. Never throws for a known format. */
export function compareVersions(format: PackageFormat, a: string, b: string): number {
  const c = COMPARATORS[format];
  if (!c) throw new Error(`versions: unknown package format ${JSON.stringify(format)}`);
  return Math.sign(c(a, b));
}

/**
 * The AffectedRange semantics of model.ts: affected when introduced <= version (introduced absent or "0" = from the
 * beginning) and version < fixed, or version <= lastAffected; with neither fixed nor lastAffected, every version from
 * introduced on is affected. When a range carries both, the fix bounds it (exclusive) and lastAffected (inclusive)
 * as well, so the narrower wins.
 */
export function isAffected(format: PackageFormat, version: string, range: AffectedRange): boolean {
  const cmp = (a: string, b: string) => compareVersions(format, a, b);
  // "0" is OSV's "from the very first version"; comparing against it literally would miss versions some orderings
  // put below 0 (a dpkg "~" or pre-release, a semver prerelease of 0.0.0, an apk leading-zero run).
  const introduced = range.introduced;
  if (introduced !== undefined && introduced !== '' && introduced !== '0' && cmp(version, introduced) < 0) return false;
  if (range.fixed !== undefined && range.fixed !== '' && cmp(version, range.fixed) >= 0) return false;
  if (range.lastAffected !== undefined && range.lastAffected !== '' && cmp(version, range.lastAffected) > 0) return false;
  return true;
}
