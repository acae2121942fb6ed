import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareGem,
  gemCanonicalSegments,
  gemEql,
  gemRelease,
  gemSegments,
  isGemPrerelease,
  isValidGemVersion,
} from './gem.js';
import { compareVersions, isAffected } from './index.js';
import { checkVectors, type Vector } from './test-vectors.js';

/*
 * Ruby is not on this machine, so the oracle is RubyGems' own test suite: every vector below is transcribed from
 * rubygems/rubygems test/rubygems/test_gem_version.rb (commit f0d9440234a3a91bc0218242e8e2f9bf269c7d86), named by
 * its test method. Gem::Version.new(1) (an Integer) is written "1".
 */
const T = 'rubygems test_gem_version.rb';
const vec = (method: string, a: string, op: Vector['op'], b: string): Vector => ({ a, op, b, where: `${T} ${method}` });

// Ordering: <=> results, == / != (Comparable#== is <=> == 0), assert_less_than.
const ORDER: Vector[] = [
  // test_spaceship
  vec('test_spaceship', '1.0', '=', '1.0.0'),
  vec('test_spaceship', '1.0', '>', '1.0.a'),
  vec('test_spaceship', '1.8.2', '>', '0.0.0'),
  vec('test_spaceship', '1.8.2', '>', '1.8.2.a'),
  vec('test_spaceship', '1.8.2.b', '>', '1.8.2.a'),
  vec('test_spaceship', '1.8.2.a', '<', '1.8.2'),
  vec('test_spaceship', '1.8.2.a10', '>', '1.8.2.a9'),
  vec('test_spaceship', '', '=', '0'),
  vec('test_spaceship', '0.beta.1', '=', '0.0.beta.1'),
  vec('test_spaceship', '0.0.beta', '<', '0.0.beta.1'),
  vec('test_spaceship', '0.0.beta', '<', '0.beta.1'),
  vec('test_spaceship', '5.a', '<', '5.0.0.rc2'),
  vec('test_spaceship', '5.x', '>', '5.0.0.rc2'),
  // test_semver (assert_less_than)
  vec('test_semver', '1.0.0-alpha', '<', '1.0.0-alpha.1'),
  vec('test_semver', '1.0.0-alpha.1', '<', '1.0.0-beta.2'),
  vec('test_semver', '1.0.0-beta.2', '<', '1.0.0-beta.11'),
  vec('test_semver', '1.0.0-beta.11', '<', '1.0.0-rc.1'),
  vec('test_semver', '1.0.0-rc1', '<', '1.0.0'),
  vec('test_semver', '1.0.0-1', '<', '1'),
  // test_frozen_version
  vec('test_frozen_version', '1.freeze.test', '<', '1'),
  // test_equals2 (assert_version_equal / refute_version_equal)
  vec('test_equals2', '1.2', '=', '1.2'),
  vec('test_equals2', '1.2', '<', '1.3'),
  vec('test_equals2', '1.2.b1', '=', '1.2.b.1'),
  // test_initialize: each spelling == "1.0"; Gem::Version.new(1) == "1"
  vec('test_initialize', '1.0', '=', '1.0'),
  vec('test_initialize', '1.0', '=', '1.0 '),
  vec('test_initialize', '1.0', '=', ' 1.0 '),
  vec('test_initialize', '1.0', '=', '1.0\n'),
  vec('test_initialize', '1.0', '=', '\n1.0\n'),
  vec('test_initialize', '1', '=', '1'),
  // test_segments: refute_version_equal "9.8.8", "9.8.7"
  vec('test_segments', '9.8.8', '>', '9.8.7'),
  vec('test_eql_eh', '1.2', '=', '1.2.0'), // refute eql?, but == (test_hash: same hash)
  vec('test_eql_eh', '1.2', '<', '1.3'),
  vec('test_eql_eh', '1.2.b1', '=', '1.2.b.1'), // refute eql?, but == per test_equals2
  // test_hash: equal hashes ⇔ equal canonical segments ⇔ ==
  vec('test_hash', '1.2', '=', '1.2'),
  vec('test_hash', '1.2', '<', '1.3'),
  vec('test_hash', '1.2', '=', '1.2.0'),
  vec('test_hash', '1.2.pre.1', '=', '1.2.0.pre.1.0'),
  // test_release: release(version) == expected, and a prerelease sorts below its release
  vec('test_release', '1.2.0.a', '<', '1.2.0'),
  vec('test_release', '1.1.rc10', '<', '1.1'),
  vec('test_release', '1.9.3.alpha.5', '<', '1.9.3'),
  vec('test_release', '1.9.3', '=', '1.9.3'),
];

test('gem: ordering vectors from RubyGems test_gem_version.rb, both ways round', () => {
  assert.equal(ORDER.length, 41);
  assert.deepEqual(checkVectors(ORDER, compareGem), []);
  // The same through the format dispatcher.
  assert.deepEqual(checkVectors(ORDER, (a, b) => compareVersions('gem', a, b)), []);
});

test('gem: test_eql_eh (eql? is the stored string, not the ordering)', () => {
  const eql: [string, string, boolean][] = [
    ['1.2', '1.2', true],
    ['1.2', '1.2.0', false],
    ['1.2', '1.3', false],
    ['1.2.b1', '1.2.b.1', false],
  ];
  assert.equal(eql.length, 4);
  for (const [a, b, want] of eql) {
    assert.equal(gemEql(a, b), want, `${a} eql? ${b}`);
    assert.equal(gemEql(b, a), want, `${b} eql? ${a}`);
  }
});

test('gem: test_prerelease and test_release', () => {
  const pre = ['1.2.0.a', '2.9.b', '22.1.50.0.d', '1.2.d.42', '1.A', '1-1', '1-a'];
  const notPre = ['1.2.0', '2.9', '22.1.50.0'];
  assert.equal(pre.length + notPre.length, 10);
  for (const v of pre) assert.equal(isGemPrerelease(v), true, `${v} is a prerelease`);
  for (const v of notPre) assert.equal(isGemPrerelease(v), false, `${v} is not a prerelease`);

  const release: [string, string][] = [['1.2.0', '1.2.0.a'], ['1.1', '1.1.rc10'], ['1.9.3', '1.9.3.alpha.5'], ['1.9.3', '1.9.3']];
  assert.equal(release.length, 4);
  for (const [want, v] of release) assert.equal(compareGem(gemRelease(v), want), 0, `release of ${v} == ${want}`);
});

test('gem: test_canonical_segments, test_segments, test_hash', () => {
  const canon: [string, (bigint | string)[]][] = [
    ['1.0.0', [1n]],
    ['1.0.0.a.1.0', [1n, 'a', 1n]],
    ['1.2.3-1', [1n, 2n, 3n, 'pre', 1n]],
  ];
  assert.equal(canon.length, 3);
  for (const [v, want] of canon) assert.deepEqual(gemCanonicalSegments(v), want, v);
  assert.deepEqual(gemSegments('9.8.7'), [9n, 8n, 7n]);
  // test_hash: hash is canonical_segments.hash
  const hash: [string, string, boolean][] = [
    ['1.2', '1.2', true],
    ['1.2', '1.3', false],
    ['1.2', '1.2.0', true],
    ['1.2.pre.1', '1.2.0.pre.1.0', true],
  ];
  assert.equal(hash.length, 4);
  for (const [a, b, same] of hash) {
    const key = (v: string) => gemCanonicalSegments(v).map((x) => (typeof x === 'bigint' ? `${x}n` : x)).join('|');
    assert.equal(key(a) === key(b), same, `${a} ~ ${b}`);
  }
});

test('gem: test_class_correct, test_initialize_invalid, test_empty_version', () => {
  const valid = ['5.1', '1.0', '1.0 ', ' 1.0 ', '1.0\n', '\n1.0\n', '', '   ', ' '];
  // test_initialize_invalid's list, incl. the CVE-2013-4287 string; test_class_correct's "an incorrect version".
  const invalid = ['junk', '1.0\n2.0', '1..2', '1.2 3.4', '2.3422222.222.222222222.22222.ads0as.dasd0.ddd2222.2.qd3e.',
    'an incorrect version'];
  assert.equal(valid.length + invalid.length, 15);
  for (const v of valid) assert.equal(isValidGemVersion(v), true, JSON.stringify(v));
  for (const v of invalid) assert.equal(isValidGemVersion(v), false, JSON.stringify(v));
  // test_empty_version: "", "   ", " " all become "0".
  for (const e of ['', '   ', ' ']) assert.deepEqual(gemSegments(e), [0n]);
  // Rejected strings still order (leniently) instead of throwing: the matcher must never crash on feed data.
  assert.equal(compareGem('junk', '1'), -1);
});

test('gem: isAffected in the RubyGems ordering', () => {
  const r = { introduced: '1.13.0', fixed: '1.15.6' };
  assert.equal(isAffected('gem', '1.15.5', r), true);
  assert.equal(isAffected('gem', '1.15.6', r), false);
  assert.equal(isAffected('gem', '1.15.6.rc1', r), true); // prerelease of the fix is still before it
  assert.equal(isAffected('gem', '1.13.0.rc1', r), false);
  assert.equal(isAffected('gem', '1.15.6.0', r), false); // == 1.15.6
  assert.equal(isAffected('gem', '1.9', { fixed: '1.10' }), true); // numeric, not lexical
});
