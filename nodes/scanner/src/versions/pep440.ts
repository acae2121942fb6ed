/**
 * Python version ordering: PEP 440 as the `packaging` library implements it (Version and its _cmpkey), plus the
 * LegacyVersion ordering packaging < 22 used for strings that are not PEP 440 (setuptools-era "0.1-bulbasaur").
 * Legacy versions sort before every valid one, as they did there. Never throws.
 */

// packaging's VERSION_PATTERN, anchored, case-insensitive, surrounding whitespace allowed.
const PEP440 = new RegExp(
  '^\\s*v?' +
    '(?:(?<epoch>[0-9]+)!)?' +
    '(?<release>[0-9]+(?:\\.[0-9]+)*)' +
    '(?<pre>[-_.]?(?<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?<pre_n>[0-9]+)?)?' +
    '(?<post>(?:-(?<post_n1>[0-9]+))|(?:[-_.]?(?<post_l>post|rev|r)[-_.]?(?<post_n2>[0-9]+)?))?' +
    '(?<dev>[-_.]?(?<dev_l>dev)[-_.]?(?<dev_n>[0-9]+)?)?' +
    '(?:\\+(?<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?' +
    '\\s*$',
  'i',
);

export interface Pep440Version {
  epoch: bigint;
  release: bigint[];
  /** Normalised letter: a, b or rc. */
  pre?: { l: 'a' | 'b' | 'rc'; n: bigint };
  post?: bigint;
  dev?: bigint;
  /** Split on . - _, numeric parts as bigint, others lower-cased. */
  local?: (bigint | string)[];
}

const PRE_L: Record<string, 'a' | 'b' | 'rc'> = { a: 'a', alpha: 'a', b: 'b', beta: 'b', c: 'rc', pre: 'rc', preview: 'rc', rc: 'rc' };

/** Parses a PEP 440 version (normalising spellings such as 1.0RC1, 1.0-1, 1.0.post, v1.0); null if it is not one. */
export function parsePep440(s: string): Pep440Version | null {
  const g = PEP440.exec(s)?.groups;
  if (!g) return null;
  const v: Pep440Version = {
    epoch: BigInt(g.epoch ?? '0'),
    release: g.release!.split('.').map((x) => BigInt(x)),
  };
  if (g.pre_l) v.pre = { l: PRE_L[g.pre_l.toLowerCase()]!, n: BigInt(g.pre_n ?? '0') };
  if (g.post) v.post = BigInt(g.post_n1 ?? g.post_n2 ?? '0');
  if (g.dev) v.dev = BigInt(g.dev_n ?? '0');
  if (g.local) v.local = g.local.toLowerCase().split(/[-_.]/).map((p) => (/^[0-9]+$/.test(p) ? BigInt(p) : p));
  return v;
}

const cmp = <T extends bigint | string | number>(a: T, b: T): number => (a < b ? -1 : a > b ? 1 : 0);
const PRE_RANK = { a: 0, b: 1, rc: 2 };

/** Ranks for packaging's ±Infinity sentinels. */
const NEG = -1;
const POS = 1;

function comparePre(a: Pep440Version, b: Pep440Version): number {
  // A dev release of a final (1.0.dev1) sorts before its pre-releases; a final sorts after them.
  const rank = (v: Pep440Version) => (v.pre ? 0 : v.post === undefined && v.dev !== undefined ? NEG : POS);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== 0 || rb !== 0) return cmp(ra, rb);
  return cmp(PRE_RANK[a.pre!.l], PRE_RANK[b.pre!.l]) || cmp(a.pre!.n, b.pre!.n);
}

/** A missing value sorts `missing` (NEG or POS) relative to any present one. */
function compareOpt(a: bigint | undefined, b: bigint | undefined, missing: number): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? missing : -missing;
  return cmp(a, b);
}

function compareLocal(a: (bigint | string)[] | undefined, b: (bigint | string)[] | undefined): number {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!;
    const y = b[i]!;
    // Numeric segments sort above alphanumeric ones.
    if (typeof x !== typeof y) return typeof x === 'bigint' ? 1 : -1;
    const r = cmp(x, y);
    if (r !== 0) return r;
  }
  return cmp(a.length, b.length);
}

export function comparePep440Parsed(a: Pep440Version, b: Pep440Version): number {
  let r = cmp(a.epoch, b.epoch);
  if (r !== 0) return r;
  // Trailing zeros do not count: 1.0 == 1.0.0.
  const ra = stripZeros(a.release);
  const rb = stripZeros(b.release);
  for (let i = 0; i < Math.min(ra.length, rb.length); i++) if ((r = cmp(ra[i]!, rb[i]!))) return r;
  if ((r = cmp(ra.length, rb.length))) return r;
  return comparePre(a, b) || compareOpt(a.post, b.post, NEG) || compareOpt(a.dev, b.dev, POS) || compareLocal(a.local, b.local);
}

function stripZeros(r: bigint[]): bigint[] {
  let n = r.length;
  while (n > 0 && r[n - 1] === 0n) n--;
  return r.slice(0, n);
}

/** packaging's LegacyVersion key parts (epoch -1, so below every PEP 440 version). */
export function legacyParts(s: string): string[] {
  const REPL: Record<string, string> = { pre: 'c', preview: 'c', '-': 'final-', rc: 'c', dev: '@' };
  const parts: string[] = [];
  const pieces: string[] = [];
  // A capturing split keeps both the tokens and whatever lies between them, like Python's re.split.
  for (let p of s.toLowerCase().split(/(\d+|[a-z]+|\.|-)/)) {
    p = REPL[p] ?? p;
    if (!p || p === '.') continue;
    pieces.push(/^[0-9]/.test(p) ? p.padStart(8, '0') : '*' + p);
  }
  pieces.push('*final');
  for (const part of pieces) {
    if (part.startsWith('*')) {
      if (part < '*final') while (parts.length && parts[parts.length - 1] === '*final-') parts.pop();
      while (parts.length && parts[parts.length - 1] === '00000000') parts.pop();
    }
    parts.push(part);
  }
  return parts;
}

function compareLegacy(a: string, b: string): number {
  const x = legacyParts(a);
  const y = legacyParts(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const r = cmp(x[i]!, y[i]!);
    if (r !== 0) return r;
  }
  return cmp(x.length, y.length);
}

/** -1, 0 or 1 as packaging orders `Version(a)` and `Version(b)` (legacy strings below all valid versions). */
export function comparePep440(a: string, b: string): number {
  const x = parsePep440(a);
  const y = parsePep440(b);
  if (x && y) return comparePep440Parsed(x, y);
  if (x || y) return x ? 1 : -1;
  return compareLegacy(a, b);
}
