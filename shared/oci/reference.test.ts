import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isRepoName, isTag } from './reference.js';

describe('repository names (distribution-spec grammar)', () => {
  for (const ok of ['a', 'library/ubuntu', 'a/b/c/d/e', 'my-app', 'my__app', 'my.app', 'a-----b', 'x1/y2', '0']) {
    it(`accepts ${ok}`, () => assert.equal(isRepoName(ok), true));
  }
  for (const bad of ['', 'Foo', 'foo/Bar', '../x', 'a//b', '/a', 'a/', 'a-', '-a', 'a___b', 'a..b', 'a/.b', 'a b', 'a:b', 'x'.repeat(256)]) {
    it(`rejects ${JSON.stringify(bad.slice(0, 30))}`, () => assert.equal(isRepoName(bad), false));
  }
});

describe('tags', () => {
  for (const ok of ['latest', 'v1.0.0', '_x', 'A-b.c_d', 'x'.repeat(128)]) it(`accepts ${ok.slice(0, 20)}`, () => assert.equal(isTag(ok), true));
  for (const bad of ['', '.x', '-x', 'a/b', 'a:b', 'x'.repeat(129), 'ä']) it(`rejects ${JSON.stringify(bad.slice(0, 20))}`, () => assert.equal(isTag(bad), false));
});
