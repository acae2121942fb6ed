import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A Ceph RGW for S3 tests. Reuses one already answering on the port (e.g. started by hand or by CI) and
 * otherwise starts a throwaway memstore cluster with start-ceph.sh. Test processes that would start their own
 * take turns through a lock, so one process's stop() never pulls a cluster from under another.
 */
export interface CephS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Stops the daemons this call started; a no-op when an existing server was reused. */
  stop(): Promise<void>;
}

const START_SCRIPT = fileURLToPath(new URL('./start-ceph.sh', import.meta.url));
const REQUIRED_BINARIES = ['radosgw', 'radosgw-admin', 'ceph-mon', 'ceph-osd', 'ceph', 'monmaptool'];
const START_TIMEOUT_MS = 120_000;

let shared: { ceph: Promise<CephS3>; refs: number } | undefined;

export async function ensureCeph(): Promise<CephS3> {
  // Several suites in one process share one cluster; the last stop() stops it.
  if (!shared) shared = { ceph: acquire(), refs: 0 };
  const entry = shared;
  entry.refs++;
  let ceph: CephS3;
  try {
    ceph = await entry.ceph;
  } catch (err) {
    if (shared === entry) shared = undefined;
    throw err;
  }
  let stopped = false;
  return {
    ...ceph,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (--entry.refs > 0) return;
      if (shared === entry) shared = undefined;
      await ceph.stop();
    },
  };
}

async function acquire(): Promise<CephS3> {
  const port = Number(process.env['WHARF_TEST_CEPH_PORT'] ?? 7480);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`WHARF_TEST_CEPH_PORT is not a port: ${port}`);
  const monPort = Number(process.env['WHARF_TEST_CEPH_MON_PORT'] ?? (port === 7480 ? 6789 : port + 1));
  const endpoint = `http://127.0.0.1:${port}`;
  const creds = { endpoint, accessKeyId: 'test', secretAccessKey: 'test', region: 'us-east-1' };
  const lockDir = join(tmpdir(), `wharf-ceph-${port}.lock`);

  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    if (!(await lockHeldByLiveProcess(lockDir)) && (await answers(endpoint))) {
      return { ...creds, stop: async () => undefined };
    }
    if (await tryLock(lockDir)) break;
    if (Date.now() > deadline) throw new Error(`timed out waiting for another test process's Ceph on port ${port} (${lockDir})`);
    await sleep(500);
  }

  try {
    checkBinaries();
    const runDir = await mkdtemp(join(tmpdir(), 'wharf-ceph-'));
    const pids = await start(runDir, port, monPort);
    const killNow = (): void => killAll(pids, 'SIGKILL');
    process.once('exit', killNow);
    return {
      ...creds,
      stop: async () => {
        process.removeListener('exit', killNow);
        await stopPids(pids);
        await rm(runDir, { recursive: true, force: true });
        await rm(lockDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(lockDir, { recursive: true, force: true });
    throw err;
  }
}

function checkBinaries(): void {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/bin', '/usr/sbin', '/sbin', '/bin'];
  const missing = REQUIRED_BINARIES.filter(
    (bin) =>
      !dirs.some((d) => {
        try {
          accessSync(join(d, bin), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
  if (missing.length > 0) {
    throw new Error(
      `Ceph is not installed (missing ${missing.join(', ')}): the S3 driver tests need a real RGW. ` +
        'Install it with: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common ' +
        '(or point WHARF_TEST_CEPH_PORT at a running RGW with access key/secret "test").',
    );
  }
}

async function start(runDir: string, port: number, monPort: number): Promise<number[]> {
  const child = spawn('bash', [START_SCRIPT], {
    env: { ...process.env, CEPH_RUN: runDir, CEPH_RGW_PORT: String(port), CEPH_MON_PORT: String(monPort) },
    // The daemons inherit nothing from us, so 'exit' comes when the script is done, not when they stop.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, START_TIMEOUT_MS);
    child.once('error', reject);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  const pids = await readPids(runDir);
  if (code !== 0) {
    await stopPids(pids);
    const rgwLog = await readFile(join(runDir, 'log', 'rgw.out'), 'utf8').catch(() => '');
    throw new Error(
      `start-ceph.sh failed (exit ${code ?? 'timeout'}); logs in ${join(runDir, 'log')}\n${output.trim()}\n${rgwLog.slice(-2000)}`,
    );
  }
  return pids;
}

async function readPids(runDir: string): Promise<number[]> {
  const text = await readFile(join(runDir, 'pids'), 'utf8').catch(() => '');
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // Reparented daemons may linger as zombies if nothing reaps them; those are gone for our purposes.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}

function killAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

async function stopPids(pids: number[]): Promise<void> {
  killAll(pids, 'SIGTERM');
  // Memstore data is throwaway, so there is no reason to wait out ceph-osd's slow shutdown.
  for (let i = 0; i < 30 && pids.some(alive); i++) await sleep(100);
  killAll(pids.filter(alive), 'SIGKILL');
  for (let i = 0; i < 50 && pids.some(alive); i++) await sleep(100);
}

async function answers(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(endpoint, { signal: AbortSignal.timeout(1500) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

async function tryLock(lockDir: string): Promise<boolean> {
  try {
    await mkdir(lockDir);
  } catch {
    return false;
  }
  await writeFile(join(lockDir, 'owner'), String(process.pid));
  return true;
}

async function lockHeldByLiveProcess(lockDir: string): Promise<boolean> {
  let createdAt: number;
  try {
    createdAt = (await stat(lockDir)).mtimeMs;
  } catch {
    return false;
  }
  const owner = Number(await readFile(join(lockDir, 'owner'), 'utf8').catch(() => 'NaN'));
  if (Number.isInteger(owner) && owner > 0) {
    if (alive(owner)) return true;
  } else if (Date.now() - createdAt < 10_000) {
    return true; // being created this instant: the owner file follows the mkdir
  }
  await rm(lockDir, { recursive: true, force: true });
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
