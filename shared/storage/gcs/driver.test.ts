import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { File } from '@google-cloud/storage';
import { startGcsEmulator } from '../../../test/support/gcs.js';
import { loadConfig } from '../../config/index.js';
import { openConfiguredStore } from '../from-config.js';
import { withBase } from '../base.js';
import type { WriterState } from '../driver.js';
import { createDriver } from '../registry.js';
import { runDriverConformance } from '../testsuite/conformance.js';
import { prngBytes, prngSha256, sha256OfStream } from '../testsuite/prng.js';
import { createGcsDriver, type GcsDriver } from './driver.js';
import { emptyBucket, leftovers, rawBucket } from './test-helpers.js';

// Fails (never skips) when the emulator cannot start: startGcsEmulator throws with its output.
const emu = await startGcsEmulator();
after(() => emu.stop());
// A throwaway service-account key: URLs are signed locally, and the emulator serves v4 signed URLs.
const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
const credentials = { client_email: 'wharf-test@demo-wharf.iam.gserviceaccount.com', private_key: String(privateKey) };
let n = 0;

runDriverConformance('gcs (firebase-tools emulator)', async () => {
  // A fresh bucket per test (the emulator creates it on first write); every other one also exercises rootPrefix.
  const bucket = `wharf-test-${process.pid}-${++n}`;
  const rootPrefix = n % 2 === 0 ? 'wharf/root' : undefined;
  const params = { bucket, rootPrefix, apiEndpoint: emu.apiEndpoint, emulator: true, projectId: emu.projectId,
    credentials, partSize: 1024 * 1024, presign: true, compose: 'auto' };
  const open = async () => withBase(await createGcsDriver(params));
  const raw = rawBucket(emu.apiEndpoint, bucket);
  const store = await open();
  return { store, reopen: open, leftovers: () => leftovers(raw, rootPrefix), cleanup: () => emptyBucket(raw) };
});

describe('gcs specifics', () => {
  const base = (bucket: string, extra: Record<string, unknown> = {}) =>
    ({ bucket, apiEndpoint: emu.apiEndpoint, emulator: true, partSize: 256 * 1024, ...extra });
  /** A writer of `sessions` suspend/resume rounds of `chunk` bytes each: one part per round. */
  async function manyParts(raw: GcsDriver, key: string, sessions: number, chunk: number): Promise<number> {
    const store = withBase(raw);
    let state: WriterState | undefined;
    let at = 0;
    for (let i = 0; i < sessions; i++) {
      const w = await store.openWriter(key, state ? { resume: JSON.parse(JSON.stringify(state)) } : {});
      await w.write(prngBytes(9, at, chunk));
      at += chunk;
      if (i < sessions - 1) state = await w.suspend();
      else await w.commit();
    }
    return at;
  }
  async function assertBlob(raw: GcsDriver, key: string, seed: number, size: number): Promise<void> {
    const got = await sha256OfStream(await withBase(raw).read(key));
    assert.equal(got.size, size);
    assert.equal(got.sha256, prngSha256(seed, 0, size));
  }

  it('compose: auto falls back to a streamed upload on 501 and stops asking; never does not ask', async () => {
    const bucket = `wharf-test-${process.pid}-compose-501`;
    const raw = rawBucket(emu.apiEndpoint, bucket);
    for (const compose of ['auto', 'never'] as const) {
      const d = await createGcsDriver(base(bucket, { compose }));
      const real = d.bucket.combine.bind(d.bucket);
      let calls = 0;
      d.bucket.combine = ((...args: Parameters<typeof real>) => (calls++, real(...args))) as typeof d.bucket.combine;
      const a = await manyParts(d, `${compose}/a`, 3, 1000);
      const b = await manyParts(d, `${compose}/b`, 3, 1000);
      await assertBlob(d, `${compose}/a`, 9, a);
      await assertBlob(d, `${compose}/b`, 9, b);
      assert.equal(calls, compose === 'auto' ? 1 : 0);
    }
    assert.deepEqual(await leftovers(raw), ['auto/a', 'auto/b', 'never/a', 'never/b']);
    await emptyBucket(raw);
  });

  it('compose: more than 32 parts compose through scratch objects (combine emulated), content intact', async () => {
    const bucket = `wharf-test-${process.pid}-compose-tree`;
    const raw = rawBucket(emu.apiEndpoint, bucket);
    const d = await createGcsDriver(base(bucket, { rootPrefix: 'r' }));
    const calls: number[] = [];
    // What GCS does, done by hand: the emulator answers compose with 501.
    d.bucket.combine = (async (sources: File[], dest: File) => {
      calls.push(sources.length);
      assert.ok(sources.length <= 32);
      const parts: Buffer[] = [];
      for (const s of sources) {
        for await (const c of (await d.download(s.name, s.name)).stream) parts.push(c as Buffer);
      }
      await d.upload(dest.name, Buffer.concat(parts));
      return [dest, {}];
    }) as unknown as typeof d.bucket.combine;
    const size = await manyParts(d, 'tree/blob', 70, 777);
    assert.deepEqual(calls, [32, 32, 6, 3]);
    await assertBlob(d, 'tree/blob', 9, size);
    assert.deepEqual(await leftovers(raw, 'r'), ['tree/blob'], 'intermediate and part objects are gone');
    await emptyBucket(raw);
  });

  it('a failed part upload loses no bytes: suspend retries it', async () => {
    const bucket = `wharf-test-${process.pid}-faults`;
    const raw = rawBucket(emu.apiEndpoint, bucket);
    const d = await createGcsDriver(base(bucket));
    const upload = d.upload.bind(d);
    let failures = 1;
    d.upload = async (name, data) => {
      if (name.includes('/part-') && failures-- > 0) throw new Error('injected upload failure');
      return upload(name, data);
    };
    const store = withBase(d);
    const w = await store.openWriter('f/blob');
    await w.write(prngBytes(7, 0, 256 * 1024)); // part 1 starts uploading (and fails) in the background
    await assert.rejects(w.write(prngBytes(7, 256 * 1024, 256 * 1024)), /injected upload failure/);
    const state = JSON.parse(JSON.stringify(await w.suspend()));
    const w2 = await store.openWriter('f/blob', { resume: state });
    await w2.write(prngBytes(7, 512 * 1024, 1000));
    await w2.commit();
    await assertBlob(d, 'f/blob', 7, 512 * 1024 + 1000);
    assert.deepEqual(await leftovers(raw), ['f/blob']);
    await emptyBucket(raw);
  });

  it('parameters are checked strictly', async () => {
    await assert.rejects(createDriver('gcs', {}), /gcs: parameter bucket is required/);
    await assert.rejects(createDriver('gcs', { bucket: 'bkt', emulator: true }), /emulator needs apiEndpoint/);
    await assert.rejects(createDriver('gcs', { bucket: 'bkt', compose: 'always' }), /compose must be "auto" or "never"/);
    await assert.rejects(createDriver('gcs', { bucket: 'bkt', partSize: 1024 }), /partSize must be between 262144/);
    await assert.rejects(createDriver('gcs', { bucket: 'bkt', credentials: '{"client_email":"x"}' }), /client_email and private_key/);
    await assert.rejects(createDriver('gcs', { bucket: 'bkt', keyFilename: '/k.json', credentials }), /exclusive/);
    await assert.rejects(createDriver('gcs', { bucket: 'bkt', region: 'x' }), /unknown parameter\(s\) region/);
    const unsigned = await createDriver('gcs', base(`wharf-test-${process.pid}-nosign`, { presign: true }));
    assert.equal(await unsigned.presignGet('a', { expiresInSec: 60 }), null, 'no key to sign with');
  });

  it('opens from configuration (storage.gcs.*, env spelling)', async () => {
    const bucket = `wharf-test-${process.pid}-config`;
    const config = loadConfig({
      WHARF_STORAGE_DRIVER: 'gcs', WHARF_STORAGE_GCS_BUCKET: bucket, WHARF_STORAGE_GCS_API_ENDPOINT: emu.apiEndpoint,
      WHARF_STORAGE_GCS_EMULATOR: 'true', WHARF_STORAGE_GCS_ROOT_PREFIX: 'cfg', WHARF_STORAGE_REDIRECT: 'true',
    });
    const store = await openConfiguredStore(config.storage, config.dataDir, {});
    assert.equal(store.name, `gcs:${bucket}/cfg`);
    await store.writeSmall('k', new Uint8Array([1]));
    assert.equal(await store.presignGet('k', { expiresInSec: 60 }), null, 'ADC cannot sign on an emulator');
    const raw = rawBucket(emu.apiEndpoint, bucket);
    assert.deepEqual(await leftovers(raw), ['cfg/k']);
    await emptyBucket(raw);
  });
});
