import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The dependency rules of the design, checked on every import statement: nodes never import each other,
 * shared never imports nodes, shared/storage|db|events|auth do not import each other, shared has no HTTP
 * framework, and only main.ts reads process.env.
 */
const ROOT = resolve(import.meta.dirname ?? dirname(new URL(import.meta.url).pathname), '../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'testdata') continue;
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push((m[1] ?? m[2])!);
  return specs;
}

const rel = (p: string) => relative(ROOT, p).split('\\').join('/');
const files = [...sources(join(ROOT, 'shared')), ...sources(join(ROOT, 'nodes'))];
const isTest = (f: string) => f.endsWith('.test.ts') || f.includes('/testsuite/') || f.endsWith('test-helpers.ts');

describe('architecture', () => {
  it('finds the code it checks', () => assert.ok(files.length > 30));

  it('nodes never import another node, and shared never imports nodes', () => {
    const bad: string[] = [];
    for (const f of files) {
      const from = rel(f);
      for (const spec of importsOf(f).filter((s) => s.startsWith('.'))) {
        const target = rel(resolve(dirname(f), spec));
        const node = /^nodes\/([^/]+)/.exec(from)?.[1];
        if (from.startsWith('shared/') && target.startsWith('nodes/')) bad.push(`${from} -> ${target}`);
        if (node && target.startsWith('nodes/') && !target.startsWith(`nodes/${node}/`)) bad.push(`${from} -> ${target}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('shared/storage, db, events and auth do not import each other', () => {
    const peers = ['storage', 'db', 'events', 'auth'];
    const bad: string[] = [];
    for (const f of files.filter((x) => rel(x).startsWith('shared/') && !isTest(x))) {
      const own = rel(f).split('/')[1]!;
      if (!peers.includes(own)) continue;
      for (const spec of importsOf(f).filter((s) => s.startsWith('.'))) {
        const target = rel(resolve(dirname(f), spec)).split('/');
        if (target[0] === 'shared' && peers.includes(target[1]!) && target[1] !== own) bad.push(`${rel(f)} -> ${target.join('/')}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  it('shared imports no HTTP framework', () => {
    const bad = files.filter((f) => rel(f).startsWith('shared/') && importsOf(f).some((s) => s === 'hono' || s.startsWith('hono/') || s.startsWith('@hono/')));
    assert.deepEqual(bad.map(rel), []);
  });

  it('only composition roots read process.env', () => {
    const bad = files.filter((f) => !isTest(f) && !f.endsWith('/main.ts') && /process\.env\b/.test(readFileSync(f, 'utf8')));
    assert.deepEqual(bad.map(rel), []);
  });
});
