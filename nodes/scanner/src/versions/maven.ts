/**
 * Maven version ordering: org.apache.maven.artifact.versioning.ComparableVersion as in Maven 3.8 (the maven on this
 * machine, which the tests compare against). Versions become nested lists: '.' separates items, '-' (and a switch
 * between digits and letters) opens a sub-list; trailing nulls (0, "", ga/final/release) are dropped per list.
 *
 * Qualifier order: alpha < beta < milestone < rc = cr < snapshot < "" = ga = final = release < sp < anything
 * else (lexical). Numbers sort above qualifiers; a sub-list sorts below a number and above a qualifier. Never throws.
 */

type Item = { k: 'int'; v: string } | { k: 'str'; v: string } | { k: 'list'; v: Item[] };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const ALIASES: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
const RELEASE_INDEX = String(QUALIFIERS.indexOf(''));

function strItem(value: string, followedByDigit: boolean): Item {
  // "1a1" means 1-alpha-1: one-letter a/b/m are abbreviations only when a number follows.
  if (followedByDigit && value.length === 1) {
    const abbr: Record<string, string> = { a: 'alpha', b: 'beta', m: 'milestone' };
    value = abbr[value] ?? value;
  }
  return { k: 'str', v: ALIASES[value] ?? value };
}

const parseItem = (isDigit: boolean, buf: string): Item =>
  isDigit ? { k: 'int', v: buf.replace(/^0+/, '') || '0' } : strItem(buf, false);

/** Sorts known qualifiers by index and unknown ones after them, lexically (Maven's "7-" + qualifier trick). */
function comparable(q: string): string {
  const i = QUALIFIERS.indexOf(q);
  return i >= 0 ? String(i) : `${QUALIFIERS.length}-${q}`;
}

const isNull = (it: Item): boolean =>
  it.k === 'int' ? it.v === '0' : it.k === 'str' ? comparable(it.v) === RELEASE_INDEX : it.v.length === 0;

function normalize(list: Item[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const last = list[i]!;
    if (isNull(last)) list.splice(i, 1);
    else if (last.k !== 'list') break;
  }
}

export function parseMaven(version: string): Item[] {
  const s = version.toLowerCase();
  const items: Item[] = [];
  let list = items;
  const stack: Item[][] = [items];
  const push = () => {
    const sub: Item[] = [];
    list.push({ k: 'list', v: sub });
    list = sub;
    stack.push(sub);
  };
  let isDigit = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '.' || c === '-') {
      list.push(i === start ? { k: 'int', v: '0' } : parseItem(isDigit, s.slice(start, i)));
      start = i + 1;
      if (c === '-') push();
    } else if (c >= '0' && c <= '9') {
      if (!isDigit && i > start) {
        // A qualifier after '.' opens a sub-list, as after '-': 1.0.RC1 == 1.0-RC1 (Maven 3.8.7+, MNG-7644).
        if (list.length > 0) push();
        list.push(strItem(s.slice(start, i), true));
        start = i;
        push();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.push(parseItem(true, s.slice(start, i)));
        start = i;
        push();
      }
      isDigit = false;
    }
  }
  if (s.length > start) {
    if (!isDigit && list.length > 0) push(); // the same rule for a trailing qualifier: 1.foo == 1-foo
    list.push(parseItem(isDigit, s.slice(start)));
  }
  while (stack.length) normalize(stack.pop()!);
  return items;
}

const cmp = (a: string | number, b: string | number): number => (a < b ? -1 : a > b ? 1 : 0);

/** Item.compareTo(other), with undefined for "no item here" (the shorter list padded). */
function compareItem(a: Item, b: Item | undefined): number {
  switch (a.k) {
    case 'int':
      if (b === undefined) return a.v === '0' ? 0 : 1;
      if (b.k === 'int') return cmp(a.v.length, b.v.length) || cmp(a.v, b.v);
      return 1;
    case 'str':
      if (b === undefined) return cmp(comparable(a.v), RELEASE_INDEX);
      if (b.k === 'int' || b.k === 'list') return -1;
      return cmp(comparable(a.v), comparable(b.v));
    case 'list':
      // The whole list against nothing, not just its head (MNG-6964): 1-0.1 > 1.
      if (b === undefined) {
        for (const it of a.v) {
          const r = compareItem(it, undefined);
          if (r !== 0) return r;
        }
        return 0;
      }
      if (b.k === 'int') return -1;
      if (b.k === 'str') return 1;
      return compareLists(a.v, b.v);
  }
}

function compareLists(a: Item[], b: Item[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    const r = x === undefined ? (y === undefined ? 0 : -compareItem(y, undefined)) : compareItem(x, y);
    if (r !== 0) return r;
  }
  return 0;
}

export function compareMaven(a: string, b: string): number {
  return Math.sign(compareLists(parseMaven(a), parseMaven(b)));
}

/** Maven's canonical form (what ComparableVersion prints), handy in test failures and logs. */
export function canonicalMaven(version: string): string {
  const render = (list: Item[]): string => {
    let out = '';
    list.forEach((it, i) => {
      if (i > 0) out += it.k === 'list' ? '-' : '.';
      out += it.k === 'list' ? render(it.v) : it.v;
    });
    return out;
  };
  return render(parseMaven(version));
}
