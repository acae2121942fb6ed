/**
 * Test-only helper: reads the version-ordering vectors under the shared data tree (see shared/data/vuln/README.md §3).
 * The data lives beside the checkout (../shared from the repo root), so the path is resolved from this file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VULN_DATA } from '../../../../test/support/vuln-data.js';

export const VECTOR_DIR = join(VULN_DATA, 'versions') + '/';

export type Op = '<' | '=' | '>';
export interface Vector {
  a: string;
  op: Op;
  b: string;
  /** file:line, so a failure names the vector. */
  where: string;
}

export function readLines(file: string): { text: string; where: string }[] {
  const raw = readFileSync(VECTOR_DIR + file, 'utf8');
  const out: { text: string; where: string }[] = [];
  raw.split('\n').forEach((line, i) => {
    const text = line.trim();
    if (text === '' || text.startsWith('#') || text.startsWith('//')) return;
    out.push({ text, where: `${file}:${i + 1}` });
  });
  return out;
}

/**
 * Lines of the form `a <op> b` (op one of < = == >). Any other shape throws, so a format slip fails loudly
 * instead of silently dropping vectors.
 */
export function readVectors(file: string): Vector[] {
  return readLines(file).map(({ text, where }) => {
    const parts = text.split(/\s+/);
    if (parts.length !== 3) throw new Error(`${where}: expected "a op b", got ${JSON.stringify(text)}`);
    const [a, rawOp, b] = parts as [string, string, string];
    const op = rawOp === '==' ? '=' : rawOp;
    if (op !== '<' && op !== '=' && op !== '>') throw new Error(`${where}: unknown operator ${rawOp}`);
    return { a, op, b, where };
  });
}

export const opOf = (n: number): Op => (n < 0 ? '<' : n > 0 ? '>' : '=');
const flip: Record<Op, Op> = { '<': '>', '=': '=', '>': '<' };

/**
 * Checks every vector both ways round (antisymmetry catches comparators that only look right in one direction) and
 * returns the failures as readable lines, so one run reports them all.
 */
export function checkVectors(vectors: Vector[], cmp: (a: string, b: string) => number): string[] {
  const failures: string[] = [];
  for (const v of vectors) {
    let got: Op;
    let back: Op;
    try {
      got = opOf(cmp(v.a, v.b));
      back = opOf(cmp(v.b, v.a));
    } catch (e) {
      failures.push(`${v.where}: ${v.a} ${v.op} ${v.b} threw ${(e as Error).message}`);
      continue;
    }
    if (got !== v.op || back !== flip[v.op]) {
      failures.push(`${v.where}: want ${v.a} ${v.op} ${v.b}, got ${got} (reverse ${back})`);
    }
  }
  return failures;
}
