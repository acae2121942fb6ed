/**
 * RubyGems version ordering: Gem::Version#<=> as rubygems/rubygems lib/rubygems/version.rb implements it
 * (read at commit 92166d885b237f3cb8b6281be5077ac7341a7205).
 *
 * - The string is stripped; empty (or all whitespace) is "0"; every '-' becomes ".pre." (so "1.0.0-rc1" is the
 *   prerelease 1.0.0.pre.rc1).
 * - Segments are the runs of digits and of ASCII letters (`scan(/\d+|[a-z]+/i)`): '.' and the digit/letter boundary
 *   both split ("1.8.2.a10" is 1, 8, 2, "a", 10). Digit runs compare as integers, letter runs as (byte) strings.
 * - A version containing a letter is a prerelease: a string segment sorts before any numeric one, so 1.0.a < 1.0.
 * - Comparison uses canonical segments: trailing zero segments are dropped (1.0 == 1.0.0 == 1) and, in a prerelease,
 *   the zero segments just before the first letter run that follows zeros too (0.beta.1 == 0.0.beta.1); the shorter
 *   side is padded with 0.
 *
 * Strings Gem::Version.new would reject (`correct?` false) are still ordered the same lenient way, never thrown on.
 */

/** Gem::Version::VERSION_PATTERN, anchored as ANCHORED_VERSION_PATTERN (Ruby \s = [ \t\r\n\f\v]). */
const ANCHORED = /^[ \t\r\n\f\v]*(?:[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?[ \t\r\n\f\v]*$/;

export type GemSegment = bigint | string;

/** Gem::Version.correct?: would Gem::Version.new accept this string. */
export function isValidGemVersion(s: string): boolean {
  return ANCHORED.test(s);
}

/** The version string as Gem::Version stores it (@version): stripped, empty → "0", '-' → ".pre.". */
export function normaliseGem(s: string): string {
  const t = s.replace(/^[ \t\r\n\f\v\0]+|[ \t\r\n\f\v\0]+$/g, '');
  if (t === '') return '0';
  return t.replace(/-/g, '.pre.');
}

function partition(ver: string): GemSegment[] {
  return (ver.match(/[0-9]+|[a-zA-Z]+/g) ?? []).map((s) => (/^[0-9]/.test(s) ? BigInt(s) : s));
}

/** Gem::Version#segments. */
export function gemSegments(s: string): GemSegment[] {
  return partition(normaliseGem(s));
}

/** Gem::Version#prerelease?: the (normalised) version contains a letter. */
export function isGemPrerelease(s: string): boolean {
  return /[a-zA-Z]/.test(normaliseGem(s));
}

/** Gem::Version#canonical_segments: what ordering and hashing use. */
export function gemCanonicalSegments(s: string): GemSegment[] {
  const v = normaliseGem(s);
  // Trailing zero segments, anchored on a dot or a letter (may leave a trailing dot, which partition ignores).
  let c = v.replace(/(?<=[a-zA-Z.])[.0]+$/, '');
  // Zero segments before the first letter run they precede, in a prerelease (Ruby's sub!: first match only).
  if (/[a-zA-Z]/.test(v)) c = c.replace(/(?<=\.|^)[0.]+(?=[a-zA-Z])/, '');
  return partition(c);
}

/** Gem::Version#eql?: same (normalised) string, so "1.2" is == but not eql? to "1.2.0". */
export function gemEql(a: string, b: string): boolean {
  return normaliseGem(a) === normaliseGem(b);
}

/** Gem::Version#release: the version without its prerelease part (1.2.0.a → 1.2.0); a release is itself. */
export function gemRelease(s: string): string {
  if (!isGemPrerelease(s)) return normaliseGem(s);
  const seg = gemSegments(s);
  while (seg.some((x) => typeof x === 'string')) seg.pop();
  return seg.join('.');
}

/** Gem::Version#<=>: -1, 0 or 1. Never throws. */
export function compareGem(a: string, b: string): number {
  const na = normaliseGem(a);
  const nb = normaliseGem(b);
  if (na === nb) return 0;
  const l = gemCanonicalSegments(na);
  const r = gemCanonicalSegments(nb);
  const n = Math.max(l.length, r.length);
  for (let i = 0; i < n; i++) {
    const x = l[i] ?? 0n;
    const y = r[i] ?? 0n;
    if (x === y) continue;
    if (typeof x === 'string' && typeof y !== 'string') return -1;
    if (typeof x !== 'string' && typeof y === 'string') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}
