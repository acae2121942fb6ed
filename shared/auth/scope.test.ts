import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { covers, formatScope, formatScopes, intersectAccess, parseScope, parseScopes, ScopeError, type Access } from './scope.js';

const repo = (name: string, ...actions: string[]): Access => ({ type: 'repository', name, actions });

describe('parseScope', () => {
  it('parses a repository scope', () => {
    assert.deepEqual(parseScope('repository:library/ubuntu:pull,push'), repo('library/ubuntu', 'pull', 'push'));
  });
  it('parses the class form', () => {
    const a = parseScope('repository(plugin):sample/plugin:pull');
    assert.deepEqual(a, { type: 'repository', class: 'plugin', name: 'sample/plugin', actions: ['pull'] });
    assert.equal(formatScope(a), 'repository(plugin):sample/plugin:pull');
  });
  it('parses the catalog scope', () => {
    assert.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
  });
  it('dedupes actions', () => assert.deepEqual(parseScope('repository:a:pull,pull,push').actions, ['pull', 'push']));
  it('round-trips through formatScope', () => {
    for (const s of ['repository:a/b/c:pull', 'repository:x:delete,*', 'registry:catalog:*']) assert.equal(formatScope(parseScope(s)), s);
  });

  const hostile = [
    '', ':', '::', 'repository', 'repository:foo', 'repository:foo:', 'repository::pull', ':foo:pull',
    'repository:foo:bar:pull', 'repository:localhost:5000/foo:pull', 'repository:Foo:pull', 'repository:../etc:pull',
    'repository:a//b:pull', 'repository:foo:pull,', 'repository:foo:,pull', 'repository:foo:pull,,push',
    'repository:foo:pull,fly', 'repository:foo:PULL', 'repository:foo:admin', 'registry:catalog:pull', 'registry:other:*',
    'widget:foo:pull', 'Repository:foo:pull', 'repository(Plugin):foo:pull', 'repository(plugin:foo:pull', 'repository()):foo:pull',
    'repository:foo bar:pull', 'repository:foo\n:pull', `repository:${'a'.repeat(256)}:pull`, `repository:a:${'pull,'.repeat(2000)}pull`,
  ];
  for (const s of hostile) {
    it(`rejects ${JSON.stringify(s.slice(0, 40))}`, () => assert.throws(() => parseScope(s), ScopeError));
  }
});

describe('parseScopes', () => {
  it('handles absent and empty scope params', () => {
    assert.deepEqual(parseScopes(undefined), []);
    assert.deepEqual(parseScopes([]), []);
    assert.deepEqual(parseScopes(['', ' ']), []);
  });
  it('accepts several params and space-separated scopes, merging the same resource', () => {
    const got = parseScopes(['repository:a:pull registry:catalog:*', 'repository:a:push', 'repository:b:pull']);
    assert.deepEqual(got, [repo('a', 'pull', 'push'), { type: 'registry', name: 'catalog', actions: ['*'] }, repo('b', 'pull')]);
    assert.equal(formatScopes(got), 'repository:a:pull,push registry:catalog:* repository:b:pull');
  });
  it('keeps class forms apart from the plain type', () => {
    assert.equal(parseScopes(['repository(plugin):a:pull', 'repository:a:push']).length, 2);
  });
  it('fails the whole request on one bad scope', () => {
    assert.throws(() => parseScopes(['repository:a:pull', 'repository:A:pull']), ScopeError);
  });
  it('caps the number of scopes', () => {
    const many = Array.from({ length: 65 }, (_, i) => `repository:r${i}:pull`).join(' ');
    assert.throws(() => parseScopes(many), /more than 64/);
  });
});

describe('covers', () => {
  const granted = [repo('a', 'pull'), repo('b', '*'), { type: 'registry', name: 'catalog', actions: ['*'] } as Access];
  it('matches type, name and action', () => {
    assert.equal(covers(granted, 'repository', 'a', 'pull'), true);
    assert.equal(covers(granted, 'repository', 'a', 'push'), false);
    assert.equal(covers(granted, 'repository', 'ab', 'pull'), false);
    assert.equal(covers(granted, 'registry', 'a', 'pull'), false);
  });
  it('treats a granted * as every action', () => {
    assert.equal(covers(granted, 'repository', 'b', 'delete'), true);
    assert.equal(covers(granted, 'registry', 'catalog', '*'), true);
  });
  it('requires a granted * for a requested *', () => assert.equal(covers(granted, 'repository', 'a', '*'), false));
  it('nothing granted covers nothing', () => assert.equal(covers([], 'repository', 'a', 'pull'), false));
});

describe('intersectAccess (down-scoping)', () => {
  it('keeps pull and drops push on a read-only grant', () => {
    assert.deepEqual(intersectAccess(parseScopes('repository:a:pull,push'), [repo('a', 'pull')]), [repo('a', 'pull')]);
  });
  it('drops resources with nothing granted, never erroring', () => {
    assert.deepEqual(intersectAccess(parseScopes('repository:a:push repository:b:pull'), [repo('b', 'pull')]), [repo('b', 'pull')]);
    assert.deepEqual(intersectAccess(parseScopes('repository:a:push'), []), []);
  });
  it('catalog only when granted', () => {
    const req = parseScopes('registry:catalog:*');
    assert.deepEqual(intersectAccess(req, []), []);
    assert.deepEqual(intersectAccess(req, [{ type: 'registry', name: 'catalog', actions: ['*'] }]), req);
  });
  it('a requested * becomes the granted actions unless * is granted', () => {
    assert.deepEqual(intersectAccess(parseScopes('repository:a:*'), [repo('a', 'pull', 'push')]), [repo('a', 'pull', 'push')]);
    assert.deepEqual(intersectAccess(parseScopes('repository:a:*'), [repo('a', '*')]), [repo('a', '*')]);
  });
  it('keeps the requested class', () => {
    assert.deepEqual(intersectAccess(parseScopes('repository(plugin):a:pull,push'), [repo('a', 'pull')]), [
      { type: 'repository', class: 'plugin', name: 'a', actions: ['pull'] },
    ]);
  });
  it('grants for another type or name do not leak', () => {
    assert.deepEqual(intersectAccess(parseScopes('repository:catalog:pull'), [{ type: 'registry', name: 'catalog', actions: ['*'] }]), []);
  });
});
