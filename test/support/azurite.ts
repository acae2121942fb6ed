import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * A throwaway Azurite blob service (npm devDependency `azurite`) for the Azure driver tests: its own free port,
 * its own temp directory, data in memory. Started as `node <azurite-blob>` directly (no npx wrapper), so the PID
 * we hold is the server's and stop() ends exactly that process. Fails — never skips — when it cannot start.
 */
export interface Azurite {
  /** The blob endpoint including the account, e.g. http://127.0.0.1:41234/devstoreaccount1 */
  endpoint: string;
  accountName: string;
  accountKey: string;
  connectionString: string;
  stop(): Promise<void>;
}

/** Azurite's documented development account and key (not a secret). */
const ACCOUNT_NAME = 'devstoreaccount1';
const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const START_TIMEOUT_MS = 30_000;
const ATTEMPTS = 3;

export async function startAzurite(): Promise<Azurite> {
  const bin = azuriteBlobBin();
  let lastError: unknown;
  // A free port found by binding port 0 may be taken again before Azurite binds it; try a few times.
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      return await startOnce(bin, await freePort());
    } catch (err) {
      lastError = err;
      if (!/EADDRINUSE/.test((err as Error).message)) break;
    }
  }
  throw new Error(
    `cannot start Azurite for the Azure storage tests: ${(lastError as Error).message}`,
    { cause: lastError },
  );
}

function azuriteBlobBin(): string {
  const require = createRequire(import.meta.url);
  let pkgPath: string;
  try {
    pkgPath = require.resolve('azurite/package.json');
  } catch (err) {
    throw new Error(
      'Azurite is not installed: the Azure driver tests need it (npm devDependency "azurite"). Run `npm ci` ' +
        '(or `npm install --save-dev azurite@3.35.0`).',
      { cause: err },
    );
  }
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { bin?: Record<string, string> };
  const rel = pkg.bin?.['azurite-blob'];
  if (!rel) throw new Error(`the installed azurite package (${pkgPath}) has no azurite-blob executable`);
  return join(dirname(pkgPath), rel);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function startOnce(bin: string, port: number): Promise<Azurite> {
  const location = await mkdtemp(join(tmpdir(), 'wharf-azurite-'));
  const child = spawn(
    process.execPath,
    [
      bin,
      '--blobHost', '127.0.0.1',
      '--blobPort', String(port),
      // @azure/storage-blob 12.32 speaks a newer service version than Azurite 3.35 knows.
      '--skipApiVersionCheck',
      '--silent',
      '--inMemoryPersistence',
    ],
    // Data lives in memory (Azurite refuses --location with --inMemoryPersistence); the temp dir is its cwd for
    // anything it may still write.
    { cwd: location, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(`exited (${signal ?? `code ${code}`})`));
    child.once('error', (err) => resolve(`failed to spawn: ${err.message}`));
  });
  const killNow = (): void => void child.kill('SIGKILL');
  process.once('exit', killNow);

  const endpoint = `http://127.0.0.1:${port}/${ACCOUNT_NAME}`;
  const giveUp = new AbortController();
  const outcome = await Promise.race([
    waitUntilAnswering(endpoint, giveUp.signal).then(() => 'up'),
    exited,
    new Promise<string>((r) => setTimeout(() => r(`did not answer within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS).unref()),
  ]);
  giveUp.abort();
  if (outcome !== 'up') {
    process.removeListener('exit', killNow);
    await stopChild(child);
    await rm(location, { recursive: true, force: true });
    throw new Error(`Azurite (${bin}, port ${port}) ${outcome}\n${output.trim()}`);
  }

  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    accountName: ACCOUNT_NAME,
    accountKey: ACCOUNT_KEY,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT_NAME};AccountKey=${ACCOUNT_KEY};BlobEndpoint=${endpoint};`,
    stop: () =>
      (stopped ??= (async () => {
        process.removeListener('exit', killNow);
        await stopChild(child);
        await rm(location, { recursive: true, force: true });
      })()),
  };
}

async function waitUntilAnswering(endpoint: string, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      // Any HTTP answer (an auth error included) means the service is listening.
      const res = await fetch(`${endpoint}?comp=list`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** SIGTERM by PID, SIGKILL if it lingers. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}
