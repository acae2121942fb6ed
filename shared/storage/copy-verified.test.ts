import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createDriver } from './registry.js';
import { CorruptSourceError, copyVerified } from './copy-verified.js';
import { NotFoundError, type BlobStore } from './driver.js';
import type { Digest } from '../oci/digest.js';

const digestOf = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;
const MiB = 1024 * 1024;

async function put(store: BlobStore, key: string, data: Uint8Array): Promise<void> {
  const w = await store.openWriter(key);
  await w.write(data);
  await w.commit();
}

describe('copyVerified', () => {
  const stores = async () => ({ src: await createDriver('inmemory', {}), dst: await createDriver('inmemory', {}) });

  for (const [name, size, opts] of [
    ['streams a small blob in one read', 300_000, {}],
    ['fetches a big blob as parallel ranges and writes them in order', 9 * MiB + 123, { rangeBytes: MiB, parallelism: 3 }],
  ] as const) {
    it(name, async () => {
      const { src, dst } = await stores();
      const data = randomBytes(size);
      await put(src, 'blobs/x', data);
      await copyVerified(src, 'blobs/x', dst, 'blobs/y', { digest: digestOf(data), size }, opts);
      assert.equal(digestOf(await dst.readSmall('blobs/y', { maxBytes: 16 * MiB })), digestOf(data));
    });
  }

  for (const [name, mutate] of [
    ['corrupt bytes', (d: Buffer) => { const c = Buffer.from(d); c[5 * MiB] = c[5 * MiB]! ^ 1; return c; }],
    ['a truncated object', (d: Buffer) => d.subarray(0, 4 * MiB + 7)],
  ] as const) {
    for (const parallelism of [1, 4]) {
      it(`refuses ${name} (parallelism ${parallelism}) and leaves nothing at the target`, async () => {
        const { src, dst } = await stores();
        const data = randomBytes(6 * MiB);
        await put(src, 'blobs/x', mutate(data));
        await assert.rejects(
          copyVerified(src, 'blobs/x', dst, 'blobs/y', { digest: digestOf(data), size: data.length }, { rangeBytes: MiB, parallelism }),
          CorruptSourceError,
        );
        await assert.rejects(dst.stat('blobs/y'), NotFoundError);
      });
    }
  }
});
