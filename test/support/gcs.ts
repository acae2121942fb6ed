import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A throwaway Cloud Storage emulator (firebase-tools', see gcs-emulator.cjs) for the GCS driver tests: its own
 * process on a free loopback port, blobs in a fresh temp dir. Fails — never skips — when it cannot start.
 */
export interface GcsEmulator {
  /** e.g. http://127.0.0.1:41234; give it to the driver with `emulator: true`. */
  apiEndpoint: string;
  projectId: string;
  /** Stops the process (by PID) and removes its blobs. */
  stop(): Promise<void>;
}

const LAUNCHER = fileURLToPath(new URL('./gcs-emulator.cjs', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const PROJECT_ID = 'demo-wharf';

export async function startGcsEmulator(): Promise<GcsEmulator> {
  const dataDir = await mkdtemp(join(tmpdir(), 'wharf-gcs-'));
  let lastError: Error | undefined;
  try {
    // A port found free can be taken before the emulator binds it; a couple of tries cover that race.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      try {
        return await launch(port, dataDir);
      } catch (err) {
        lastError = err as Error;
        if (!/EADDRINUSE/.test(lastError.message)) break;
      }
    }
  } catch (err) {
    lastError = err as Error;
  }
  await rm(dataDir, { recursive: true, force: true });
  throw lastError ?? new Error('GCS emulator did not start');
}

async function launch(port: number, dataDir: string): Promise<GcsEmulator> {
  const apiEndpoint = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [LAUNCHER], {
    env: {
      ...process.env,
      GCS_HOST: '127.0.0.1',
      GCS_PORT: String(port),
      GCS_PROJECT: PROJECT_ID,
      GCS_DATA_DIR: dataDir,
      // Our end of its stdin closes when this process dies, however it dies: the emulator then exits too.
      GCS_EXIT_WITH_STDIN: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (d: Buffer): void => {
    output = (output + d.toString()).slice(-8000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(`could not be spawned: ${err.message}`));
    child.once('exit', (code, signal) => resolve(`exited (${signal ?? `code ${code}`})`));
  });
  const killNow = (): void => void child.kill('SIGKILL');
  process.once('exit', killNow);

  const deadline = Date.now() + START_TIMEOUT_MS;
  let why: string | undefined;
  for (;;) {
    const state = await Promise.race([exited, sleep(150).then(() => undefined)]);
    if (state !== undefined) {
      why = state;
      break;
    }
    if (/^ready /m.test(output) && (await answers(apiEndpoint))) break;
    if (Date.now() > deadline) {
      why = `did not answer within ${START_TIMEOUT_MS / 1000} s`;
      break;
    }
  }
  if (why !== undefined) {
    process.removeListener('exit', killNow);
    await stopChild(child, exited);
    throw new Error(
      `GCS emulator (firebase-tools, ${LAUNCHER}) ${why} on ${apiEndpoint}. The GCS driver tests need it: ` +
        `is the devDependency firebase-tools installed (npm install)?\n${output.trim()}`,
    );
  }
  let stopped = false;
  return {
    apiEndpoint,
    projectId: PROJECT_ID,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', killNow);
      await stopChild(child, exited);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function stopChild(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const pid = child.pid;
  const signal = (s: NodeJS.Signals): void => {
    try {
      process.kill(pid, s);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(5000, false).then(() => false)]);
  if (!done) {
    signal('SIGKILL');
    await Promise.race([exited, sleep(2000, false)]);
  }
  child.stdin?.destroy();
}

/** Any HTTP answer will do: the bucket listing is the cheapest route the emulator has. */
async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/b`, { signal: AbortSignal.timeout(1500) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/** `ref: false` for a timeout that must not keep the process alive once what it guards is done. */
function sleep(ms: number, ref = true): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    if (!ref) t.unref();
  });
}
