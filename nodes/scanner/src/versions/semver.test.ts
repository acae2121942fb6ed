import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareSemver, parseSemver } from './semver.js';
import { checkVectors, opOf, readVectors } from './test-vectors.js';

test('semver: osv-scalibr vectors (SemVer 2.0, Go v-prefix, huge numbers)', () => {
  const v = readVectors('semver-versions.osv-scalibr.txt');
  assert.equal(v.length, 86);
  assert.deepEqual(checkVectors(v, compareSemver), []);
});

test('semver: loose npm input and Go module versions', () => {
  const cases: [string, '<' | '=' | '>', string][] = [
    ['1.0', '=', '1.0.0'], // node-fetch's OSV range says introduced "1.0"
    ['1', '=', '1.0.0'],
    ['1.0', '<', '1.0.1'],
    ['2.6.0', '>', '1.0'],
    ['v2.0.0+incompatible', '=', 'v2.0.0'],
    ['v2.0.0+incompatible', '<', 'v2.0.1+incompatible'],
    ['v0.0.0-20191109021931-daa7c04131f5', '<', 'v0.0.0-20200101000000-000000000000'],
    ['v0.0.0-20191109021931-daa7c04131f5', '<', 'v0.0.1'],
    ['v1.2.4-0.20191109021931-daa7c04131f5', '>', 'v1.2.3'], // pseudo-version after v1.2.3
    ['v1.2.4-0.20191109021931-daa7c04131f5', '<', 'v1.2.4'],
    ['1.2.3-alpha.01', '=', '1.2.3-alpha.1'], // loose: leading zeros read as numbers
    ['01.02.03', '=', '1.2.3'],
  ];
  for (const [a, op, b] of cases) assert.equal(opOf(compareSemver(a, b)), op, `${a} ${op} ${b}`);
  assert.deepEqual(parseSemver('v1.2.3-rc.1+build.5'), { major: '1', minor: '2', patch: '3', prerelease: ['rc', '1'] });
  assert.doesNotThrow(() => compareSemver('not-a-version', '1.0.0'));
  assert.equal(opOf(compareSemver('not-a-version', '0.0.0')), '<');
});
