import { findBinary, portOpen, sleep, spawnLogged, tail, type Spawned } from '../local/processes.js';

export const HAPROXY_INSTALL_HINT = 'the locality front needs HAProxy 2.6 or newer (Debian: apt-get install -y haproxy)';

/** The haproxy executable; throws a clear error naming the package when it is missing. */
export function haproxyBinary(): string {
  return findBinary('haproxy', HAPROXY_INSTALL_HINT);
}

/** `haproxy -c`: throws with HAProxy's own message when the configuration is invalid. */
export async function checkHaproxyConfig(cfgFile: string, logFile: string): Promise<void> {
  const p = spawnLogged(haproxyBinary(), ['-c', '-f', cfgFile], { name: 'haproxy -c', logFile });
  const how = await p.exited;
  if (how !== 'exited (code 0)') throw new Error(`haproxy -c -f ${cfgFile} ${how}:\n${tail(logFile)}`);
}

/**
 * HAProxy in the foreground (`-db`) as a child, output to `logFile`; resolves once it accepts connections on
 * `port`. `detached` lets it outlive the caller (the local geo cluster); stop it by PID.
 */
export async function startHaproxy(opts: { cfgFile: string; port: number; host?: string; logFile: string; detached?: boolean; timeoutMs?: number }): Promise<Spawned> {
  await checkHaproxyConfig(opts.cfgFile, opts.logFile);
  if (await portOpen(opts.port, opts.host ?? '127.0.0.1')) throw new Error(`cannot start haproxy: port ${opts.port} is already in use`);
  const p = spawnLogged(haproxyBinary(), ['-f', opts.cfgFile, '-db'], { name: 'haproxy', logFile: opts.logFile, detached: opts.detached ?? false });
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  while (!(await portOpen(opts.port, opts.host ?? '127.0.0.1'))) {
    if (!p.running()) throw new Error(`haproxy ${await p.exited} before listening on ${opts.port}:\n${tail(opts.logFile)}`);
    if (Date.now() > deadline) throw new Error(`haproxy did not listen on ${opts.port} within ${opts.timeoutMs ?? 10_000} ms:\n${tail(opts.logFile)}`);
    await sleep(50);
  }
  return p;
}
