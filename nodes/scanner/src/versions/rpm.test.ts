import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareNevra, compareRpm, parseEVR, parseNevra, rpmvercmp } from './rpm.js';
import { checkVectors, opOf, readLines, readVectors } from './test-vectors.js';

test('rpm: rpmvercmp cases ported from rpm tests/rpmvercmp.at (claircore)', () => {
  const v = readVectors('rpmver-rpmvercmp.claircore.txt');
  assert.equal(v.length, 113);
  assert.deepEqual(checkVectors(v, rpmvercmp), []);
});

test('rpm: osv-scalibr Red Hat EVR vectors', () => {
  const v = readVectors('redhat-versions.osv-scalibr.txt');
  assert.equal(v.length, 165);
  assert.deepEqual(checkVectors(v, compareRpm), []);
});

test('rpm: claircore NEVRA compare vectors', () => {
  const v = readVectors('rpmver-compare.claircore.txt');
  assert.equal(v.length, 12);
  assert.deepEqual(checkVectors(v, compareNevra), []);
});

test('rpm: claircore NEVRA parse vectors', () => {
  const lines = readLines('rpmver-parse.claircore.txt');
  assert.equal(lines.length, 4);
  // `in n e v r a`, with '' or "" for an absent part.
  const opt = (s: string | undefined) => (s === "''" || s === '""' ? undefined : s);
  for (const { text, where } of lines) {
    const [input, n, e, v, r, a] = text.split(/\s+/);
    assert.ok(input && v && r, where);
    const want: Record<string, string> = { version: v, release: r };
    if (opt(n) !== undefined) want.name = n!;
    if (opt(e) !== undefined) want.epoch = e!;
    if (opt(a) !== undefined) want.arch = a!;
    assert.deepEqual(parseNevra(input), want, where);
  }
});

test('rpm: EVR parsing and release handling', () => {
  assert.deepEqual(parseEVR('1:2.0-3.el8'), { epoch: '1', version: '2.0', release: '3.el8' });
  assert.deepEqual(parseEVR(':2.0'), { epoch: '0', version: '2.0' });
  assert.deepEqual(parseEVR('1.m+e2:1'), { epoch: '0', version: '1.m+e2:1' }); // not an epoch
  assert.deepEqual(parseEVR('2.4-3-1.fc39'), { epoch: '0', version: '2.4-3', release: '1.fc39' });
  assert.equal(opOf(compareRpm('0:1.0-1', '1.0-1')), '=');
  assert.equal(opOf(compareRpm('1:1.0-1', '2.0-1')), '>');
  assert.equal(opOf(compareRpm('1.0', '1.0-1')), '<'); // total order: missing release first
  assert.equal(opOf(compareRpm('1.0-1.el8_8', '1.0-1.el8')), '>');
  assert.equal(opOf(compareRpm('2.32.1-42.el8_8', '2.32.1-43.el8')), '<');
});
