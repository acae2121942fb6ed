import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparePep440, parsePep440 } from './pep440.js';
import { checkVectors, opOf, readVectors } from './test-vectors.js';

test('pep440: osv-scalibr hand-written vectors (incl. legacy versions)', () => {
  const v = readVectors('pypi-versions.osv-scalibr.txt');
  assert.equal(v.length, 37);
  assert.deepEqual(checkVectors(v, comparePep440), []);
});

test('pep440: consecutive pairs of the list sorted by packaging', () => {
  const v = readVectors('pypi-versions-generated.osv-scalibr.txt');
  assert.equal(v.length, 12375);
  assert.ok(v.every((x) => x.op === '<'));
  assert.deepEqual(checkVectors(v, comparePep440), []);
});

test('pep440: normalisation and ordering rules', () => {
  const eq: [string, string][] = [['1.0RC1', '1.0rc1'], ['1.0c1', '1.0rc1'], ['1.0-1', '1.0.post1'], ['1.0.post', '1.0.post0'],
    ['v1.0', '1.0'], ['1.0', '1.0.0'], ['1.0alpha', '1.0a0'], ['0!1.0', '1.0'], ['1.0.DEV', '1.0.dev0'], [' 1.0 ', '1.0'],
    ['1.0_preview-2', '1.0rc2'], ['1.0+UBUNTU.1', '1.0+ubuntu-1']];
  for (const [a, b] of eq) assert.equal(opOf(comparePep440(a, b)), '=', `${a} = ${b}`);
  const ascending = ['1.0.dev0', '1.0a1.dev1', '1.0a1', '1.0a1.post1', '1.0b1', '1.0rc1', '1.0', '1.0+abc', '1.0+1',
    '1.0.post1.dev1', '1.0.post1', '1.1', '1!0.1'];
  assert.deepEqual([...ascending].reverse().sort(comparePep440), ascending);
  assert.equal(parsePep440('not a version'), null);
  assert.equal(opOf(comparePep440('not a version', '0.0.1')), '<'); // legacy sorts first
});
