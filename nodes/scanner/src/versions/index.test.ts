import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareVersions, isAffected } from './index.js';
import type { PackageFormat } from '../model.js';

test('compareVersions dispatches on the package format', () => {
  // The same pair orders differently per format: proof that each goes to its own comparator.
  assert.equal(compareVersions('dpkg', '1.0~rc1', '1.0'), -1);
  assert.equal(compareVersions('rpm', '1.0~rc1', '1.0'), -1);
  assert.equal(compareVersions('pypi', '1.0rc1', '1.0'), -1);
  assert.equal(compareVersions('npm', '1.0.0-rc.1', '1.0.0'), -1);
  assert.equal(compareVersions('go', 'v1.0.0-rc.1', 'v1.0.0'), -1);
  assert.equal(compareVersions('maven', '1.0-RC1', '1.0'), -1);
  assert.equal(compareVersions('apk', '1.0_rc1-r0', '1.0-r0'), -1);
  assert.equal(compareVersions('apk', '1.0-r1', '1.0-r0'), 1);
  assert.equal(compareVersions('dpkg', '1.0a', '1.0+'), -1); // dpkg: letters before symbols
  assert.equal(compareVersions('pypi', '1.0.post1', '1.0'), 1);
  assert.equal(compareVersions('maven', '1.0.Final', '1'), 0);
  const formats: PackageFormat[] = ['dpkg', 'apk', 'rpm', 'pypi', 'npm', 'go', 'maven'];
  for (const f of formats) assert.equal(compareVersions(f, '2', '2'), 0, f);
  assert.throws(() => compareVersions('cargo' as PackageFormat, '1', '2'));
});

test('isAffected: introduced inclusive, fixed exclusive, lastAffected inclusive, open-ended without either', () => {
  const r = { introduced: '1.2.0', fixed: '1.4.2' };
  assert.equal(isAffected('npm', '1.1.9', r), false);
  assert.equal(isAffected('npm', '1.2.0', r), true);
  assert.equal(isAffected('npm', '1.4.1', r), true);
  assert.equal(isAffected('npm', '1.4.2', r), false);
  assert.equal(isAffected('npm', '2.0.0', r), false);

  const last = { introduced: '0', lastAffected: '2.0.0' };
  assert.equal(isAffected('npm', '2.0.0', last), true);
  assert.equal(isAffected('npm', '2.0.1', last), false);

  // No fix yet: everything from introduced on.
  assert.equal(isAffected('pypi', '99.0', { introduced: '1.0' }), true);
  assert.equal(isAffected('pypi', '0.9', { introduced: '1.0' }), false);
  assert.equal(isAffected('pypi', '0.1', {}), true);
});

test('isAffected: "0" and absent introduced mean from the beginning, even below "0" in the ordering', () => {
  assert.equal(isAffected('dpkg', '0~pre1', { introduced: '0', fixed: '1.0-1' }), true);
  assert.equal(isAffected('npm', '0.0.0-alpha', { introduced: '0', fixed: '1.0.0' }), true);
  assert.equal(isAffected('dpkg', '0~pre1', { fixed: '1.0-1' }), true);
  // node-fetch's OSV advisory: introduced "1.0" (not semver) must still work.
  assert.equal(isAffected('npm', '2.6.0', { introduced: '1.0', fixed: '2.6.7' }), true);
  assert.equal(isAffected('npm', '2.6.7', { introduced: '1.0', fixed: '2.6.7' }), false);
  assert.equal(isAffected('npm', '0.9.0', { introduced: '1.0', fixed: '2.6.7' }), false);
});

test('isAffected: distribution ranges in their own orderings', () => {
  // Debian tracker: fixed in 7.88.1-10+deb12u5.
  assert.equal(isAffected('dpkg', '7.88.1-10+deb12u4', { fixed: '7.88.1-10+deb12u5' }), true);
  assert.equal(isAffected('dpkg', '7.88.1-10+deb12u12', { fixed: '7.88.1-10+deb12u5' }), false);
  assert.equal(isAffected('dpkg', '1:1.0-1', { fixed: '2.0-1' }), false); // epoch beats upstream
  // Alpine secdb.
  assert.equal(isAffected('apk', '1.1.1d-r2', { fixed: '1.1.1g-r0' }), true);
  assert.equal(isAffected('apk', '1.1.1g-r0', { fixed: '1.1.1g-r0' }), false);
  // RHEL OVAL "less than 0:2.32.1-43.el8".
  assert.equal(isAffected('rpm', '2.32.1-42.el8_8', { fixed: '0:2.32.1-43.el8' }), true);
  assert.equal(isAffected('rpm', '2.32.1-44.el8', { fixed: '0:2.32.1-43.el8' }), false);
  // Both bounds: the narrower one wins.
  assert.equal(isAffected('npm', '1.5.0', { fixed: '2.0.0', lastAffected: '1.4.0' }), false);
});
