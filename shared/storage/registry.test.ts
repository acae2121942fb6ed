import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InvalidKeyError } from './driver.js';
import { createDriver } from './registry.js';

describe('createDriver', () => {
  it('fails fast on an unknown driver name', async () => {
    await assert.rejects(createDriver('azure-but-misspelt', {}), /unknown storage driver "azure-but-misspelt" \(known: filesystem, inmemory, s3(, \w+)*\)/);
  });

  it('rejects unknown and missing parameters', async () => {
    await assert.rejects(createDriver('inmemory', { root: '/x' }), /inmemory: unknown parameter\(s\) root/);
    await assert.rejects(createDriver('filesystem', {}), /filesystem: parameter root is required/);
    await assert.rejects(createDriver('filesystem', { root: '/tmp/x', rootdir: '/y' }), /unknown parameter\(s\) rootdir/);
    await assert.rejects(createDriver('filesystem', { root: 42 }), /root must be a string/);
    await assert.rejects(createDriver('s3', { region: 'us-east-1' }), /s3: parameter bucket is required/);
    await assert.rejects(
      createDriver('s3', { region: 'r', bucket: 'bkt', partSize: 1024 }),
      /partSize must be between 5242880/,
    );
    await assert.rejects(createDriver('s3', { region: 'r', bucket: 'bkt', acessKeyId: 'typo' }), /unknown parameter\(s\) acessKeyId/);
    await assert.rejects(createDriver('s3', { region: 'r', bucket: 'bkt', accessKeyId: 'only-half' }), /secretAccessKey/);
  });

  it('returns drivers already wrapped with key checks', async () => {
    const root = await mkdtemp(join(tmpdir(), 'wharf-reg-'));
    try {
      const fs = await createDriver('filesystem', { root, fsync: 'false' });
      assert.match(fs.name, /^filesystem:/);
      assert.throws(() => fs.list('../..'), InvalidKeyError);
      await fs.writeSmall('a/b', new Uint8Array([1]));
      assert.equal((await fs.stat('a/b')).size, 1);
      const mem = await createDriver('inmemory');
      await assert.rejects(mem.stat('/abs'), InvalidKeyError);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
