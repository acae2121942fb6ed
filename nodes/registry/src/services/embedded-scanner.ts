import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../../../shared/logging/logger.js';

/**
 * The scanner beside a node that has none configured (`npm start`): the scanner node's own entry point run as a
 * child process on the same database and stores, so a pushed image is scanned with no other set-up. A separate
 * process, not an import: nodes never import each other, and a crashing scanner must not take the registry down.
 */
export interface EmbeddedScanner {
  url: string;
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('../../../scanner/src/main.ts', import.meta.url));
const READY_TIMEOUT_MS = 60_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** `port` 0 picks a free loopback port. Resolves undefined (logged) when the scanner does not come up. */
export async function startEmbeddedScanner(opts: { env: Record<string, string | undefined>; databaseUrl: string; port: number; log: Logger }): Promise<EmbeddedScanner | undefined> {
  const port = opts.port || (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    env: { ...opts.env, WHARF_DATABASE_URL: opts.databaseUrl, WHARF_SCANNER_PORT: String(port), WHARF_SERVER_HOST: '127.0.0.1' },
    // The IPC channel ties the scanner's life to this process: it exits when the channel closes, even after a
    // SIGKILL here. Its output shares this process's stdout and stderr (not a pipe through this process, which
    // would break with it and leave the scanner unable to log its own shutdown).
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.unref();
  child.channel?.unref();
  let exited = false;
  const gone = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
    exited = true;
    opts.log.warn({ code, signal }, 'embedded scanner exited');
    resolve();
  }));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let ready = false;
  while (!exited && !ready && Date.now() < deadline) {
    ready = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (!ready) await new Promise((r) => setTimeout(r, 200));
  }
  if (!ready) {
    opts.log.error('the embedded scanner did not start; images will not be scanned');
    if (!exited) child.kill('SIGKILL');
    return undefined;
  }
  opts.log.info({ url, pid: child.pid }, 'embedded scanner started');
  return {
    url,
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(t);
    },
  };
}
