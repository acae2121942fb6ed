/**
 * Spawn, wait and stop helpers for the local geo cluster (and the front tests). Every process is tracked by PID;
 * detached ones lead their own process group, so stopping one also stops whatever it started (`-pid`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync, readdirSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { delimiter, join } from 'node:path';

/** Absolute path of an executable on PATH (or the sbin dirs, where Debian puts daemons); throws `hint` if absent. */
export function findBinary(name: string, hint: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  throw new Error(`${name} is not installed: ${hint}`);
}

export interface Spawned {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** Resolves with a description ("exited (code 1)") when the process ends. */
  exited: Promise<string>;
  running(): boolean;
}

export interface SpawnOptions {
  name: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** stdout and stderr go here (appended). */
  logFile: string;
  /**
   * Own process group, no tie to this process: it outlives the caller (geo:up returns, the cluster runs). Stopped
   * by PID with stopPid(pid, { group: true }). The child stays referenced (so awaiting its exit keeps this process
   * alive); a CLI that leaves it running ends with process.exit().
   */
  detached?: boolean;
}

export function spawnLogged(cmd: string, args: string[], opts: SpawnOptions): Spawned {
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, {
      env: opts.env ? (Object.fromEntries(Object.entries(opts.env).filter(([, v]) => v !== undefined)) as Record<string, string>) : process.env,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      stdio: ['ignore', fd, fd],
      detached: opts.detached ?? false,
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`cannot start ${opts.name} (${cmd})`);
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(`could not be spawned: ${err.message}`));
    child.once('exit', (code, signal) => resolve(`exited (${signal ?? `code ${code}`})`));
  });
  const pid = child.pid;
  return { name: opts.name, pid, child, logFile: opts.logFile, exited, running: () => child.exitCode === null && child.signalCode === null && alive(pid) };
}

/** True while the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

function signal(pid: number, sig: NodeJS.Signals, group: boolean): void {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch {
    if (group) {
      try {
        process.kill(pid, sig);
      } catch {
        // gone
      }
    }
  }
}

/** Whether a process group still has a live (non-zombie) member. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch {
    return false;
  }
  // Zombies keep the group "alive" for kill(0); look for a live member.
  for (const entry of readdirProc()) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const m = /^\d+ \(.*\) (\S) \d+ (\d+)/s.exec(stat);
    if (m && Number(m[2]) === pgid && m[1] !== 'Z') return true;
  }
  return false;
}

function readdirProc(): string[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n));
}

/**
 * SIGTERM, then SIGKILL after `graceMs`, and wait until gone. `group`: the whole process group the PID leads
 * (a detached process and everything it started).
 */
export async function stopPid(pid: number, opts: { group?: boolean; graceMs?: number } = {}): Promise<void> {
  const group = opts.group ?? false;
  const isAlive = (): boolean => (group ? groupAlive(pid) : alive(pid));
  if (!isAlive()) return;
  signal(pid, 'SIGTERM', group);
  const deadline = Date.now() + (opts.graceMs ?? 10_000);
  while (isAlive() && Date.now() < deadline) await sleep(100);
  if (isAlive()) signal(pid, 'SIGKILL', group);
  for (let i = 0; i < 50 && isAlive(); i++) await sleep(100);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Waits until `url` answers `status` (default 200). Fails early when `proc` exits, naming its log file, and after
 * `timeoutMs` with the last answer seen.
 */
export async function waitHttp(url: string, opts: { timeoutMs?: number; status?: number; proc?: Spawned; what?: string } = {}): Promise<void> {
  const want = opts.status ?? 200;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let last = 'no answer';
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      if (res.status === want) return;
      last = `${res.status} ${body.slice(0, 300)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    const what = opts.what ?? url;
    if (opts.proc && !opts.proc.running()) throw new Error(`${what}: ${opts.proc.name} ${await describeExit(opts.proc)} (log: ${opts.proc.logFile})\n${tail(opts.proc.logFile)}`);
    if (Date.now() > deadline) throw new Error(`${what}: ${url} did not answer ${want} within ${opts.timeoutMs ?? 60_000} ms (last: ${last})${opts.proc ? ` (log: ${opts.proc.logFile})` : ''}`);
    await sleep(250);
  }
}

async function describeExit(p: Spawned): Promise<string> {
  return Promise.race([p.exited, sleep(100).then(() => 'is gone')]);
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
