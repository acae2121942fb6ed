import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DigestFormatError, HashingTransform, StreamingHasher, digestOf, isDigest, parseDigest } from './digest.js';

describe('digest', () => {
  const hex256 = createHash('sha256').update('x').digest('hex');
  const hex512 = createHash('sha512').update('x').digest('hex');

  it('accepts sha256 and sha512 with the right encoded length', () => {
    assert.deepEqual(parseDigest(`sha256:${hex256}`), { algorithm: 'sha256', hex: hex256, digest: `sha256:${hex256}` });
    assert.equal(parseDigest(`sha512:${hex512}`).algorithm, 'sha512');
  });

  for (const bad of [
    '', 'sha256', `sha256:${hex256.slice(1)}`, `sha256:${hex256.toUpperCase()}`, `sha512:${hex256}`, `md5:${'a'.repeat(32)}`,
    `SHA256:${hex256}`, `sha256:${hex256}\n`, `sha256::${hex256}`, `sha256:${'g'.repeat(64)}`,
  ]) {
    it(`rejects ${JSON.stringify(bad.slice(0, 20))}…`, () => {
      assert.throws(() => parseDigest(bad), DigestFormatError);
      assert.equal(isDigest(bad), false);
    });
  }

  it('names the unsupported algorithm', () => {
    assert.throws(() => parseDigest(`md5:${'a'.repeat(32)}`), /unsupported digest algorithm "md5"/);
  });

  it('digestOf matches node:crypto for both algorithms', () => {
    assert.equal(digestOf('x'), `sha256:${hex256}`);
    assert.equal(digestOf('x', 'sha512'), `sha512:${hex512}`);
  });

  it('a streaming hasher peeks without finalising and keeps counting', () => {
    const h = new StreamingHasher();
    h.update(Buffer.from('hello '));
    assert.equal(h.peek(), digestOf('hello '));
    h.update(Buffer.from('world'));
    assert.equal(h.peek(), digestOf('hello world'));
    assert.equal(h.size, 11);
  });

  it('HashingTransform passes bytes through unchanged while hashing', async () => {
    const t = new HashingTransform('sha512');
    const out: Buffer[] = [];
    await pipeline(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), t, async function* (src) {
      for await (const c of src) out.push(c as Buffer);
    });
    assert.equal(Buffer.concat(out).toString(), 'abcd');
    assert.equal(t.hasher.peek(), digestOf('abcd', 'sha512'));
  });
});
