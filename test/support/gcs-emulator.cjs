'use strict';
// A Google Cloud Storage emulator for driver tests: the Cloud Storage emulator inside npm "firebase-tools" (a
// devDependency), run in this process. `firebase emulators:start` would insist on a Java rules runtime (downloaded at
// start, needs Java >= 21); only Firebase client-SDK requests consult those rules, and the GCS JSON API path the
// driver uses goes through the emulator's admin layer, which never does, so the runtime is stubbed out.
//
// Env: GCS_HOST (default 127.0.0.1), GCS_PORT (required: the caller picks a free one; the emulator treats 0 as
// "use 9199"), GCS_PROJECT (default demo-wharf), GCS_DATA_DIR (required: where blobs are kept; removed on stop).
// Prints one line `ready http://host:port` on stdout once it accepts connections; exits non-zero if it cannot start.
// Stop it with SIGTERM or SIGINT (or, with GCS_EXIT_WITH_STDIN=1, by closing its stdin).
const { mkdirSync } = require('node:fs');

const host = process.env.GCS_HOST || '127.0.0.1';
const port = Number(process.env.GCS_PORT);
const projectId = process.env.GCS_PROJECT || 'demo-wharf';
const dataDir = process.env.GCS_DATA_DIR;

function fail(message) {
  process.stderr.write(`gcs-emulator: ${message}\n`);
  process.exit(2);
}

if (!Number.isInteger(port) || port <= 0 || port > 65535) fail(`GCS_PORT must be a port number, got ${JSON.stringify(process.env.GCS_PORT)}`);
if (!dataDir) fail('GCS_DATA_DIR is required (a directory for the emulator’s blobs)');

let StorageEmulator;
let EmulatorRegistry;
try {
  ({ StorageEmulator } = require('firebase-tools/lib/emulator/storage'));
  ({ EmulatorRegistry } = require('firebase-tools/lib/emulator/registry'));
} catch (err) {
  fail(`cannot load the Cloud Storage emulator from firebase-tools (run npm install): ${err && err.message}`);
}

// Deny-all rules: they are never evaluated (see above), but the emulator wants a ruleset to start.
const rules = "rules_version='2';service firebase.storage{match /b/{bucket}/o{match /{path=**}{allow read, write: if false;}}}";
const emu = new StorageEmulator({ projectId, host, port, auto_download: false, rules: { name: 'deny-all.rules', content: rules } });

// Blobs live in GCS_DATA_DIR instead of the shared $TMPDIR/firebase/storage/blobs, so parallel emulators never
// share (or delete) each other's files. The constructor already created the default directory; it stays empty.
mkdirSync(dataDir, { recursive: true });
emu.getPersistenceTmpDir = () => dataDir;
emu._persistence.reset(dataDir);

for (const part of [emu._rulesRuntime, emu._rulesManager]) {
  part.start = async () => {};
  part.stop = async () => {};
}

// E.g. EADDRINUSE from the emulator's own listen(): exit with a one-line cause the test launcher can match.
process.on('uncaughtException', (err) => fail(`crashed: ${(err && err.stack) || err}`));

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  try {
    await emu.stop();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// GCS_EXIT_WITH_STDIN=1: the parent holds our stdin open; when it dies without stopping us, we go too.
if (process.env.GCS_EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

EmulatorRegistry.start(emu).then(
  () => process.stdout.write(`ready http://${host}:${port}\n`),
  (err) => fail(`cannot start on ${host}:${port}: ${(err && err.stack) || err}`),
);
