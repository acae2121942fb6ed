/**
 * Alpine version ordering, ported from apk-tools 2.x's src/version.c: the comparator of the apk that ships in
 * Alpine 3.x images, and the one that sorted the osv-scalibr generated vectors (13,979 pairs, all agree).
 *
 *   {digit}{.digit}...{letter}{_suf{#}}...{-r#}
 *
 * Suffixes order alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p. The strings are walked token by token
 * through apk's small state machine; at the first token whose kind differs, the string that ended is older unless
 * the other continues with a pre-release suffix.
 *
 * Known difference from apk-tools 2.14/3.x (rewritten tokenizer): there an invalid tail sorts *below* everything,
 * here (2.x) it sorts above, so e.g. "1-r-0" > "1-r0". Only malformed versions are affected; see apk.test.ts.
 * Never throws: every string gets some order, as in apk.
 */

const enum T {
  Invalid = -1,
  DigitOrZero,
  Digit,
  Letter,
  Suffix,
  SuffixNo,
  RevisionNo,
  End,
}

const PRE = ['alpha', 'beta', 'pre', 'rc'];
const POST = ['cvs', 'svn', 'git', 'hg', 'p'];

/** The cursor: what apk keeps in its blob plus the expected kind of the next token. */
interface Cursor {
  s: string;
  p: number;
  t: T;
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isLower = (c: string | undefined): boolean => c !== undefined && c >= 'a' && c <= 'z';

/** Decides the kind of the token at the cursor from the separator (or the character class change) before it. */
function nextToken(b: Cursor): void {
  let n = T.Invalid;
  const c = b.s[b.p];
  if (c === undefined) n = T.End;
  else if ((b.t === T.Digit || b.t === T.DigitOrZero) && isLower(c)) n = T.Letter;
  else if (b.t === T.Letter && isDigit(c)) n = T.Digit;
  else if (b.t === T.Suffix && isDigit(c)) n = T.SuffixNo;
  else {
    if (c === '.') n = T.DigitOrZero;
    else if (c === '_') n = T.Suffix;
    else if (c === '-' && b.s[b.p + 1] === 'r') {
      n = T.RevisionNo;
      b.p++;
    }
    b.p++;
  }
  // Tokens only move forward through the grammar, except for these repeats.
  const repeat =
    (n === T.DigitOrZero && b.t === T.Digit) || (n === T.Suffix && b.t === T.SuffixNo) || (n === T.Digit && b.t === T.Letter);
  b.t = n < b.t && !repeat ? T.Invalid : n;
}

/** Reads the value of the token at the cursor and advances to the next one. */
function getToken(b: Cursor): bigint {
  if (b.p >= b.s.length) {
    b.t = T.End;
    return 0n;
  }
  let v = 0n;
  let i = b.p;
  let nt = T.Invalid;
  // A component with leading zeros: the zeros count negatively (1.01 < 1.1) and the rest is read as a new token.
  // apk then takes the *end* of the string over that pending token, which is why 1.0 < 1.0_alpha in apk 2.x (with a
  // -rN after it, as real packages have, the usual 1.0_alpha-r0 < 1.0-r0 holds).
  const kind = b.t === T.DigitOrZero && b.s[i] !== '0' ? T.Digit : b.t;
  switch (kind) {
    case T.DigitOrZero:
      while (b.s[i] === '0') i++;
      nt = T.Digit;
      v = -BigInt(i - b.p);
      break;
    case T.Digit:
    case T.SuffixNo:
    case T.RevisionNo:
      // bigint: apk's int would overflow on 14-digit dates, which real versions do carry (…_pre20191002222144).
      while (isDigit(b.s[i])) v = v * 10n + BigInt(b.s.charCodeAt(i++) - 48);
      break;
    case T.Letter:
      v = BigInt(b.s.charCodeAt(i++));
      break;
    case T.Suffix: {
      // apk matches suffix words by prefix (strncmp), pre-release words first.
      const rest = b.s.slice(i);
      const pi = PRE.findIndex((w) => rest.startsWith(w));
      if (pi >= 0) {
        v = BigInt(pi - PRE.length);
        i += PRE[pi]!.length;
        break;
      }
      const qi = POST.findIndex((w) => rest.startsWith(w));
      if (qi >= 0) {
        v = BigInt(qi);
        i += POST[qi]!.length;
        break;
      }
      b.t = T.Invalid;
      return -1n;
    }
    default:
      b.t = T.Invalid;
      return -1n;
  }
  b.p = i;
  if (b.p >= b.s.length) b.t = T.End;
  else if (nt !== T.Invalid) b.t = nt;
  else nextToken(b);
  return v;
}

/** -1, 0 or 1 as `apk version -t a b` (apk-tools 2.x) answers <, = or >. */
export function compareApk(x: string, y: string): number {
  const a: Cursor = { s: x, p: 0, t: T.Digit };
  const b: Cursor = { s: y, p: 0, t: T.Digit };
  let av = 0n;
  let bv = 0n;
  while (a.t === b.t && a.t !== T.End && a.t !== T.Invalid && av === bv) {
    av = getToken(a);
    bv = getToken(b);
  }
  if (av !== bv) return av < bv ? -1 : 1;
  if (a.t === b.t) return 0;
  // Same so far and one goes on: longer is newer, unless what follows is a pre-release suffix (1.0_rc1 < 1.0).
  if (a.t === T.Suffix && getToken({ ...a }) < 0n) return -1;
  if (b.t === T.Suffix && getToken({ ...b }) < 0n) return 1;
  if (a.t !== b.t) return a.t > b.t ? -1 : 1;
  return 0;
}

/** apk's validity check: the string tokenizes to the end without an invalid token. */
export function isValidApkVersion(s: string): boolean {
  const c: Cursor = { s, p: 0, t: T.Digit };
  while (c.t !== T.End && c.t !== T.Invalid) getToken(c);
  return c.t === T.End;
}
