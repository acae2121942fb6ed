import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { compareDpkg, parseDpkgVersion, VersionParseError } from './dpkg.js';
import { checkVectors, opOf, readVectors, type Vector } from './test-vectors.js';

const handWritten = readVectors('debian-versions.osv-scalibr.txt');
const generated = readVectors('debian-versions-generated.osv-scalibr.txt');

test('dpkg: osv-scalibr hand-written vectors', () => {
  assert.equal(handWritten.length, 30);
  assert.deepEqual(checkVectors(handWritten, compareDpkg), []);
});

test('dpkg: consecutive pairs of the list sorted by dpkg', () => {
  // Every line of the generated file is one "a < b" pair taken from a list sorted by python-apt/dpkg.
  assert.equal(generated.length, 14442);
  assert.ok(generated.every((v) => v.op === '<'));
  assert.deepEqual(checkVectors(generated, compareDpkg), []);
});

test('dpkg: policy corner cases', () => {
  const cases: [string, '<' | '=' | '>', string][] = [
    ['1.0~rc1', '<', '1.0'], // tilde sorts before the end of the string
    ['1.0~~', '<', '1.0~'],
    ['1.0~', '<', '1.0'],
    ['1.0a', '>', '1.0'], // a letter after the end of the string sorts after it
    ['1.0a', '<', '1.0+'], // letters before non-letters
    ['1.0+', '<', '1.0.'], // then ASCII order among non-letters
    ['1:0.1', '>', '9.9'], // epoch first
    ['1.0-1', '=', '1.0-01'],
    ['1.0', '=', '1.0-0'], // missing revision compares as "0"
    ['1.2.3-1ubuntu1', '>', '1.2.3-1'],
    ['1.99999999999999999999', '<', '1.100000000000000000000'], // numeric runs beyond 2^53
  ];
  for (const [a, op, b] of cases) assert.equal(opOf(compareDpkg(a, b)), op, `${a} ${op} ${b}`);
});

test('dpkg: strict parse reports errors with a typed error; compare never throws', () => {
  assert.deepEqual(parseDpkgVersion('1:2.30-1+deb12u1'), { epoch: 1, upstream: '2.30', revision: '1+deb12u1' });
  assert.deepEqual(parseDpkgVersion('2.4-3-1'), { epoch: 0, upstream: '2.4-3', revision: '1' });
  assert.deepEqual(parseDpkgVersion(' 1.0 '), { epoch: 0, upstream: '1.0', revision: '' });
  for (const bad of ['', '   ', '1 0', 'a:1.0', ':1.0', '1:', '1.0-', '-1', '99999999999:1']) {
    assert.throws(() => parseDpkgVersion(bad), VersionParseError, JSON.stringify(bad));
    assert.doesNotThrow(() => compareDpkg(bad, '1.0'));
  }
  // dpkg only warns about these, and so must we accept them.
  assert.doesNotThrow(() => parseDpkgVersion('abc'));
  assert.doesNotThrow(() => parseDpkgVersion('1.0_bad!chars'));
});

/** Runs the real dpkg on many pairs in one shell, answering <, = or > per pair. */
function dpkgAnswers(pairs: [string, string][]): string[] {
  const script = pairs
    .map(([a, b]) => {
      const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
      return `if dpkg --compare-versions ${q(a)} lt ${q(b)} 2>/dev/null; then echo '<'; elif dpkg --compare-versions ${q(a)} eq ${q(b)} 2>/dev/null; then echo '='; else echo '>'; fi`;
    })
    .join('\n');
  const r = spawnSync('bash', ['-s'], { input: script, encoding: 'utf8', maxBuffer: 1 << 24 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n');
}


test('dpkg: agrees with the real dpkg --compare-versions', () => {
  // Deterministic sample: versions drawn from both vector files, paired with a fixed-seed LCG so pairs span
  // packages (wild cross-package comparisons exercise more of the character ordering than sorted neighbours).
  const all = [...new Set([...handWritten, ...generated].flatMap((v: Vector) => [v.a, v.b]))];
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const pairs: [string, string][] = [];
  for (let k = 0; k < 400; k++) pairs.push([all[rnd(all.length)]!, all[rnd(all.length)]!]);
  // Hand-picked shapes the sample may miss: tildes, letters vs symbols, epochs, zero runs, odd characters.
  const extra = ['1.0~rc1', '1.0~', '1.0~~', '1.0', '1.0a', '1.0+', '1.0.', '1:0', '0:1.0-0', '1.0-00', '1.0-1~bpo1',
    '1.0+dfsg-1', '1.0-1+b1', '2:1', '1.0~rc1-1', 'a1.0', '1.0-a', '001.000', '1.0.0', '1.0A', '1.0z', '1.0-1.1',
    '1.0-1~', '1.0-1a', '7.88.1-10+deb12u5', '7.88.1-10+deb12u12'];
  for (const a of extra) for (const b of extra) pairs.push([a, b]);
  const want = dpkgAnswers(pairs);
  assert.equal(want.length, pairs.length);
  assert.ok(pairs.length > 1000);
  const failures = pairs.flatMap(([a, b], i) => {
    const got = opOf(compareDpkg(a, b));
    return got === want[i] ? [] : [`dpkg says ${a} ${want[i]} ${b}, we say ${got}`];
  });
  assert.deepEqual(failures, []);
});
