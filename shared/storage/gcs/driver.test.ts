import { generateKeyPairSync } from 'node:crypto';
import { after } from 'node:test';
import { startGcsEmulator } from '../../../test/support/gcs.js';
import { withBase } from '../base.js';
import { runDriverConformance } from '../testsuite/conformance.js';
import { createGcsDriver } from './driver.js';
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
