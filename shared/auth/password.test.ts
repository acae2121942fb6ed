import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createSecretToken, decodePasswordHash, hashPassword, hashSecretToken, needsRehash, parseSecretToken, verifyPassword, verifySecretToken,
  DEFAULT_SCRYPT_PARAMS, PasswordHashFormatError,
} from './password.js';

// Small parameters keep the tests fast; the production defaults are checked once.
const FAST = { N: 1024, r: 8, p: 1 };

describe('password hashing', () => {
  it('hashes in the self-describing format and verifies', async () => {
    const h = await hashPassword('correct horse', FAST);
    assert.match(h, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.equal(await verifyPassword('correct horse', h), true);
  });
  it('refuses a wrong password', async () => {
    const h = await hashPassword('correct horse', FAST);
    assert.equal(await verifyPassword('correct horsf', h), false);
    assert.equal(await verifyPassword('', h), false);
  });
  it('salts: two hashes of one password differ', async () => {
    assert.notEqual(await hashPassword('pw', FAST), await hashPassword('pw', FAST));
  });
  it('normalises unicode (NFC) before hashing', async () => {
    const h = await hashPassword('caf\u00e9', FAST);
    assert.equal(await verifyPassword('cafe\u0301', h), true);
  });
  it('refuses a tampered hash, salt or parameter without throwing', async () => {
    const h = await hashPassword('pw', FAST);
    const parts = h.split('$');
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const tampered = [
      [...parts.slice(0, 5), flip(parts[5]!)].join('$'),
      [...parts.slice(0, 4), flip(parts[4]!), parts[5]].join('$'),
      ['scrypt', '2048', '8', '1', parts[4], parts[5]].join('$'),
      ['scrypt', '1024', '4', '1', parts[4], parts[5]].join('$'),
      h.slice(0, -2),
      h.replace('scrypt$', 'bcrypt$'),
      h + '$',
      '',
      'scrypt$1024$8$1$$',
      'scrypt$1000$8$1$' + parts[4] + '$' + parts[5],
      'scrypt$01024$8$1$' + parts[4] + '$' + parts[5],
      'scrypt$1073741824$8$1$' + parts[4] + '$' + parts[5],
      'scrypt$1024$8$1$' + parts[4] + '$' + parts[5] + '==',
    ];
    for (const t of tampered) assert.equal(await verifyPassword('pw', t), false, t);
  });
  it('verifies hashes made with other parameters, and flags them for rehash', async () => {
    const old = await hashPassword('pw', { N: 512, r: 4, p: 2 });
    assert.equal(await verifyPassword('pw', old), true);
    assert.equal(needsRehash(old, FAST), true);
    assert.equal(needsRehash(await hashPassword('pw', FAST), FAST), false);
    assert.equal(needsRehash('garbage', FAST), true);
    assert.deepEqual(decodePasswordHash(old).params, { N: 512, r: 4, p: 2 });
  });
  it('rejects bad parameters when hashing', async () => {
    await assert.rejects(hashPassword('pw', { N: 1000, r: 8, p: 1 }), PasswordHashFormatError);
    await assert.rejects(hashPassword('pw', { N: 2 ** 22, r: 8, p: 1 }), PasswordHashFormatError);
    await assert.rejects(hashPassword('x'.repeat(2000), FAST), RangeError);
  });
  it('the production defaults work', async () => {
    const h = await hashPassword('pw');
    assert.ok(h.startsWith(`scrypt$${DEFAULT_SCRYPT_PARAMS.N}$8$1$`));
    assert.equal(await verifyPassword('pw', h), true);
    assert.equal(needsRehash(h), false);
  });
});

describe('secret tokens', () => {
  it('creates a token with a lookup prefix and a SHA-256 hash', () => {
    const t = createSecretToken('wharfr');
    assert.match(t.token, /^wharfr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.equal(t.token.split('_')[1], t.lookup);
    assert.equal(t.hash, hashSecretToken(t.token));
    assert.match(t.hash, /^[0-9a-f]{64}$/);
    assert.ok(!t.hash.includes(t.token));
    assert.deepEqual(parseSecretToken(t.token), { kind: 'wharfr', lookup: t.lookup });
  });
  it('tokens are unique', () => {
    const seen = new Set(Array.from({ length: 200 }, () => createSecretToken().token));
    assert.equal(seen.size, 200);
  });
  it('verifies only the exact token', () => {
    const t = createSecretToken();
    assert.equal(verifySecretToken(t.token, t.hash), true);
    const last = t.token.at(-1) === 'A' ? 'B' : 'A';
    assert.equal(verifySecretToken(t.token.slice(0, -1) + last, t.hash), false);
    assert.equal(verifySecretToken(createSecretToken().token, t.hash), false);
    assert.equal(verifySecretToken(t.token, 'not-a-hash'), false);
    assert.equal(verifySecretToken(t.token, t.hash.toUpperCase()), false);
  });
  it('rejects malformed tokens before any lookup', () => {
    for (const bad of ['', 'wharf', 'wharf_123_abc', 'WHARF_0123456789ab_' + 'a'.repeat(43), 'wharf_0123456789ab_' + 'a'.repeat(42), 'x'.repeat(500)]) {
      assert.equal(parseSecretToken(bad), null, bad);
    }
    assert.throws(() => createSecretToken('Bad_Kind'), RangeError);
  });
});
