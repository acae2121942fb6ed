import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { startAzurite } from '../../../test/support/azurite.js';
import { withBase } from '../base.js';
import type { DriverParams } from '../params.js';
import { runDriverConformance } from '../testsuite/conformance.js';
import { prngBytes, prngSha256, sha256OfStream } from '../testsuite/prng.js';
import { createAzureDriver, type AzureDriverOptions } from './driver.js';
import { adminService, leftovers } from './test-helpers.js';

// Fails (never skips) when Azurite cannot start: startAzurite throws with the reason.
const azurite = await startAzurite();
const admin = adminService(azurite.connectionString);
const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
let n = 0;
after(() => azurite.stop());
const MiB = 1024 * 1024;
const { accountName, accountKey, endpoint } = azurite;
const dropContainer = async (name: string) => void (await admin.getContainerClient(name).deleteIfExists());

/** A fresh container per test. */
function conformance(title: string, extra: DriverParams, opts: AzureDriverOptions = {}): void {
  runDriverConformance(title, async () => {
    const container = `wharf-${run}-${++n}`;
    const rootPrefix = extra['rootPrefix'] as string | undefined;
    const open = async () => withBase(await createAzureDriver({ accountName, accountKey, endpoint, container, presign: true, ...extra }, opts));
    return {
      store: await open(),
      reopen: open,
      leftovers: () => leftovers(admin.getContainerClient(container), rootPrefix),
      cleanup: () => dropContainer(container),
    };
  });
}

conformance('azure (Azurite), 5 MiB blocks', { blockSize: 5 * MiB });
// Tiny blocks, a root prefix, and the asynchronous Copy Blob path for every copy above 1 MiB.
conformance('azure (Azurite), 1 MiB blocks, rootPrefix, async copies', { blockSize: MiB, rootPrefix: 'wharf/root' }, {
  syncCopyMaxBytes: MiB,
  copyPollMs: 20,
});

describe('azure params', () => {
  const base = { accountName, accountKey, container: 'c-1', createContainer: false };
  it('are parsed strictly', async () => {
    await assert.rejects(createAzureDriver({ ...base, contianer: 'x' }), /azure: unknown parameter\(s\) contianer/);
    await assert.rejects(createAzureDriver({ ...base, container: undefined }), /azure: parameter container is required/);
    await assert.rejects(createAzureDriver({ ...base, container: 'Bad_Name' }), /not a valid container name/);
    await assert.rejects(createAzureDriver({ ...base, container: 'a--b' }), /not a valid container name/);
    await assert.rejects(createAzureDriver({ ...base, accountName: 'Dev-Account' }), /not a valid storage account name/);
    await assert.rejects(createAzureDriver({ ...base, accountKey: 'not base64!' }), /accountKey is not base64/);
    await assert.rejects(createAzureDriver({ ...base, blockSize: 1024 }), /blockSize must be between 1048576 and 4194304000/);
    await assert.rejects(createAzureDriver({ ...base, endpoint: 'ftp://x' }), /endpoint must be an http\(s\) URL/);
    await assert.rejects(createAzureDriver({ ...base, rootPrefix: 'a/../b' }), /rootPrefix/);
    const d = await createAzureDriver({ ...base, blockSize: '2097152', presign: 'true', rootPrefix: '/r/' });
    assert.equal(d.name, 'azure:devstoreaccount1/c-1/r');
    assert.equal(d.params.endpoint, 'https://devstoreaccount1.blob.core.windows.net');
    assert.equal(d.params.blockSize, 2 * MiB);
    assert.equal(d.params.presign, true);
  });
});

describe('azure writer: a failed block staging loses no bytes', () => {
  it('suspend retries the block; the write resumes and commits intact', async () => {
    const container = `wharf-${run}-faults`;
    const raw = await createAzureDriver({ accountName, accountKey, endpoint, container, blockSize: MiB });
    let failures = 1;
    const blockBlob = raw.blockBlob.bind(raw);
    raw.blockBlob = (name) => {
      const client = blockBlob(name);
      const stage = client.stageBlock.bind(client);
      client.stageBlock = async (...args) => {
        if (failures-- > 0) throw new Error('injected Put Block failure');
        return stage(...args);
      };
      return client;
    };
    const store = withBase(raw);
    try {
      const w = await store.openWriter('f/blob');
      await w.write(prngBytes(7, 0, MiB)); // block 0 starts staging (and fails) in the background
      await assert.rejects(w.write(prngBytes(7, MiB, MiB)), /injected Put Block failure/);
      assert.equal(w.size, 2 * MiB);
      const state = JSON.parse(JSON.stringify(await w.suspend()));
      const w2 = await store.openWriter('f/blob', { resume: state });
      await w2.write(prngBytes(7, 2 * MiB, 1000));
      await w2.commit();
      const got = await sha256OfStream(await store.read('f/blob'));
      assert.equal(got.size, 2 * MiB + 1000);
      assert.equal(got.sha256, prngSha256(7, 0, 2 * MiB + 1000));
      assert.deepEqual(await leftovers(admin.getContainerClient(container)), ['f/blob']);
    } finally {
      await dropContainer(container);
    }
  });
});

describe('azure sweepScratch', () => {
  it('stays inside its root prefix', async () => {
    const container = `wharf-${run}-sweep`;
    const open = async (rootPrefix: string) =>
      withBase(await createAzureDriver({ accountName, accountKey, endpoint, container, rootPrefix, blockSize: MiB }));
    const a = await open('a');
    const b = await open('b');
    try {
      await a.writeSmall('kept', new Uint8Array([1]));
      const w = await b.openWriter('lost');
      await w.write(prngBytes(8, 0, MiB + 5));
      await w.suspend();
      const bScratch = (await leftovers(admin.getContainerClient(container))).filter((k) => k.startsWith('b/'));
      assert.equal(bScratch.length, 2, `b's writer left its staging blob and a tail: ${bScratch.join(', ')}`);
      assert.equal((await a.sweepScratch(new Date(Date.now() + 2000))).removed, 0);
      assert.equal((await b.sweepScratch(new Date(Date.now() - 60_000))).removed, 0);
      assert.equal((await b.sweepScratch(new Date(Date.now() + 2000))).removed, 2);
      assert.deepEqual(await leftovers(admin.getContainerClient(container)), ['a/kept']);
    } finally {
      await dropContainer(container);
    }
  });
});

describe('azure asynchronous copy', () => {
  // Azurite finishes every Copy Blob at once; a real account may answer "pending" and finish later, or fail.
  it('polls a pending copy to success, and removes the destination of a failed one', async () => {
    const container = `wharf-${run}-copy`;
    const raw = await createAzureDriver({ accountName, accountKey, endpoint, container }, { syncCopyMaxBytes: 1, copyPollMs: 10 });
    const statuses: string[] = [];
    const getBlobClient = raw.container.getBlobClient.bind(raw.container);
    raw.container.getBlobClient = (name) => {
      const client = getBlobClient(name);
      const begin = client.beginCopyFromURL.bind(client);
      client.beginCopyFromURL = async (...args) => {
        const poller = await begin(...args);
        const state = poller.getOperationState();
        poller.getOperationState = () => ({ ...state, isCompleted: false });
        return poller;
      };
      const props = client.getProperties.bind(client);
      client.getProperties = async (...args) => {
        const p = await props(...args);
        const status = statuses.shift();
        return status ? { ...p, copyStatus: status as 'pending', copyStatusDescription: 'injected' } : p;
      };
      return client;
    };
    const store = withBase(raw);
    try {
      await store.writeSmall('src', prngBytes(9, 0, 1000));
      statuses.push('pending', 'pending');
      await store.move('src', 'dst');
      assert.equal(statuses.length, 0, 'polled through both pending answers');
      assert.deepEqual(Buffer.from(await store.readSmall('dst')), Buffer.from(prngBytes(9, 0, 1000)));
      statuses.push('pending', 'failed');
      await assert.rejects(store.move('dst', 'again'), /copy failed: injected/);
      assert.deepEqual(await leftovers(admin.getContainerClient(container)), ['dst'], 'no half-copied destination');
    } finally {
      await dropContainer(container);
    }
  });
});
