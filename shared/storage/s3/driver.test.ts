import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { ensureCeph } from '../../../test/support/ceph.js';
import { withBase } from '../base.js';
import { runDriverConformance } from '../testsuite/conformance.js';
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

runDriverConformance('s3 (Ceph RGW)', async () => {
  // A fresh bucket per test; every other one also exercises rootPrefix.
  const bucket = `${run}-${++n}`;
  const rootPrefix = n % 2 === 0 ? 'wharf/root' : undefined;
  const params = {
    endpoint: ceph.endpoint, region: ceph.region, bucket, accessKeyId: ceph.accessKeyId,
    secretAccessKey: ceph.secretAccessKey, rootPrefix, partSize: 5 * 1024 * 1024, presign: true,
    // Low enough that the suite's 40 MiB move takes the multipart UploadPartCopy path.
    multipartCopyThreshold: 8 * 1024 * 1024, copyPartSize: 5 * 1024 * 1024,
  };
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
