import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { canonicalMaven, compareMaven } from './maven.js';
import { opOf } from './test-vectors.js';

// No Maven vector file ships in the shared data; the real ComparableVersion (maven-artifact) is the oracle.
const JAR = '/usr/share/maven/lib/maven-artifact-3.x.jar';
const VERSIONS = ['1', '1.0', '1.0.0', '1-0', '1.0-0', '1-alpha', '1-alpha-1', '1-alpha1', '1a1', '1-a1', '1-beta',
  '1-b2', '1-m1', '1-milestone-1', '1-rc', '1-rc1', '1-cr1', '1-CR1', '1-snapshot', '1.0-SNAPSHOT', '1-ga', '1-final',
  '1.0.RELEASE', '1-release', '1-sp', '1-sp1', '1-foo', '1-bar', '1.foo', '1-1', '1.1', '1.0.1', '1.0-1', '1-0.1',
  '2', '2.0.0.Final', '2.0.0.RC1', '2.0.0-RC2', '10', '1.10', '1.9', '1.0.0-alpha.1', '1.0.0-beta.2', '1-xyz',
  '1.2.3.4', '1.2-3.4', '1.0-alpha-SNAPSHOT', '3.1.0.M1', '3.1.0.M2', '3.1.0.RC1', '5.3.18', '5.3.20', '2.13.2.1',
  '2.13.2', '2.13.2.2', '1.0-20230101.120000-1', '0.0.1', '0', '0.0', '1..1', '1--1', '1.0a', '1.0b', '1.0-a',
  '9999999999999999999', '10000000000000000000', '1-SP2', '1-beta-2', '1-beta2', '1.0.0-M3', '2.foo.1', '1.0.x.1', '2.0.x', '2.foo1', '1.0.0.1a1', '1-a.1',
  '1.2.3a', '1.0b1', '1.0-b1'];

test('maven: qualifier order and aliases', () => {
  const ascending = ['1-alpha', '1-beta', '1-milestone', '1-rc', '1-snapshot', '1', '1-sp', '1-abc', '1-xyz', '1-1', '1.1'];
  assert.deepEqual([...ascending].reverse().sort(compareMaven), ascending);
  for (const [a, b] of [['1-cr', '1-rc'], ['1-ga', '1'], ['1.0.final', '1'], ['1.RELEASE', '1.0.0'], ['1a1', '1-alpha-1']]) {
    assert.equal(opOf(compareMaven(a!, b!)), '=', `${a} = ${b}`);
  }
  assert.equal(canonicalMaven('1.0-alpha1'), '1-alpha-1');
});

test('maven: agrees with the real ComparableVersion', () => {
  // ComparableVersion's main() compares each argument with the next; a fixed-seed shuffle gives varied pairs.
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
  const seq: string[] = [];
  for (let k = 0; k < 600; k++) seq.push(VERSIONS[rnd(VERSIONS.length)]!);
  const r = spawnSync('java', ['-cp', JAR, 'org.apache.maven.artifact.versioning.ComparableVersion', ...seq], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n').flatMap((l) => {
    const m = /^ {3}(\S+) (<|>|==) (\S+)$/.exec(l);
    return m ? [{ a: m[1]!, op: m[2] === '==' ? '=' : m[2]!, b: m[3]! }] : [];
  });
  assert.equal(lines.length, seq.length - 1);
  const failures = lines.flatMap(({ a, op, b }) => {
    const got = opOf(compareMaven(a, b));
    return got === op ? [] : [`maven says ${a} ${op} ${b}, we say ${got} (${canonicalMaven(a)} vs ${canonicalMaven(b)})`];
  });
  assert.deepEqual(failures, []);
});
