import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import { ensureCeph } from '../../../test/support/ceph.js';
import { withBase } from '../base.js';
import { runDriverConformance } from '../testsuite/conformance.js';
import { prngBytes, prngSha256, sha256OfStream } from '../testsuite/prng.js';
import { createS3Driver } from './driver.js';
import { adminClient, dropBucket, leftovers } from './test-helpers.js';

// Fails (never skips) when Ceph is not installed: ensureCeph throws with install instructions.
const ceph = await ensureCeph();
const admin = adminClient(ceph);
const run = `wharf-test-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
let n = 0;
after(async () => {
  admin.destroy();
  await ceph.stop();
});

function paramsFor(bucket: string, rootPrefix?: string) {
  return {
    endpoint: ceph.endpoint, region: ceph.region, bucket, accessKeyId: ceph.accessKeyId,
    secretAccessKey: ceph.secretAccessKey, rootPrefix, partSize: 5 * 1024 * 1024, presign: true,
    // Low enough that the suite's 40 MiB move takes the multipart UploadPartCopy path.
    multipartCopyThreshold: 8 * 1024 * 1024, copyPartSize: 5 * 1024 * 1024,
  };
}

runDriverConformance('s3 (Ceph RGW)', async () => {
  // A fresh bucket per test; every other one also exercises rootPrefix.
  const bucket = `${run}-${++n}`;
  const rootPrefix = n % 2 === 0 ? 'wharf/root' : undefined;
  const params = paramsFor(bucket, rootPrefix);
  const open = async () => withBase(await createS3Driver(params));
  const store = await open();
  return {
    store,
    reopen: open,
    leftovers: () => leftovers(admin, bucket, rootPrefix),
    cleanup: async () => {
      await store.close?.();
      await dropBucket(admin, bucket);
    },
  };
});

describe('s3 writer: a failed part upload loses no bytes', () => {
  it('suspend retries the part; the write resumes and commits intact', async () => {
    const bucket = `${run}-faults`;
    const raw = await createS3Driver(paramsFor(bucket));
    let failures = 1;
    // Injected before the SDK's retry step, so this failure is final for that request.
    raw.client.middlewareStack.add(
      (next, ctx) => async (args) => {
        if (ctx.commandName === 'UploadPartCommand' && failures-- > 0) throw new Error('injected UploadPart failure');
        return next(args);
      },
      { step: 'initialize', name: 'injectFailure' },
    );
    const store = withBase(raw);
    const MiB = 1024 * 1024;
    try {
      const w = await store.openWriter('f/blob');
      await w.write(prngBytes(7, 0, 5 * MiB)); // part 1 starts uploading (and fails) in the background
      await assert.rejects(w.write(prngBytes(7, 5 * MiB, 5 * MiB)), /injected UploadPart failure/);
      assert.equal(w.size, 10 * MiB);
      const state = JSON.parse(JSON.stringify(await w.suspend()));
      const w2 = await store.openWriter('f/blob', { resume: state });
      await w2.write(prngBytes(7, 10 * MiB, 1000));
      await w2.commit();
      const got = await sha256OfStream(await store.read('f/blob'));
      assert.equal(got.size, 10 * MiB + 1000);
      assert.equal(got.sha256, prngSha256(7, 0, 10 * MiB + 1000));
      assert.deepEqual(await leftovers(admin, bucket), ['f/blob']);
    } finally {
      await store.close?.();
      await dropBucket(admin, bucket);
    }
  });
});

describe('s3 sweepScratch', () => {
  it('aborts old uploads no writer marker names, and stays inside its root prefix', async () => {
    const bucket = `${run}-sweep`;
    const a = withBase(await createS3Driver(paramsFor(bucket, 'a')));
    const b = withBase(await createS3Driver(paramsFor(bucket, 'b')));
    const MiB = 1024 * 1024;
    try {
      // A crash between CreateMultipartUpload and the marker (or during a large move) leaves an unmarked upload.
      await admin.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'a/orphan/blob' }));
      // Data of something else sharing the bucket.
      await admin.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'elsewhere/thing' }));
      await a.writeSmall('kept', new Uint8Array([1]));
      const w = await b.openWriter('lost');
      await w.write(prngBytes(8, 0, 6 * MiB));
      await w.suspend();
      const bScratch = (await leftovers(admin, bucket)).filter((k) => k.startsWith('b/') || k === 'multipart-upload:b/lost');
      assert.ok(bScratch.length >= 3, `b's writer left an upload, its marker and a tail: ${bScratch.join(', ')}`);

      assert.equal((await a.sweepScratch(new Date(Date.now() - 60_000))).removed, 0);
      assert.equal((await a.sweepScratch(new Date(Date.now() + 1000))).removed, 1);
      assert.deepEqual(await leftovers(admin, bucket), ['a/kept', ...bScratch, 'multipart-upload:elsewhere/thing'].sort());
      assert.equal((await b.sweepScratch(new Date(Date.now() + 1000))).removed, bScratch.length);
      assert.deepEqual(await leftovers(admin, bucket), ['a/kept', 'multipart-upload:elsewhere/thing']);
    } finally {
      await a.close?.();
      await b.close?.();
      await dropBucket(admin, bucket);
    }
  });
});
