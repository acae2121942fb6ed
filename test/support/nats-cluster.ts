/**
 * Starts private nats-server processes for tests: a JetStream cluster (default 3 nodes) or a single server.
 * Ports are free ones picked at start unless given, so parallel test runs (and other engineers' suites) do not
 * collide. Every process is tracked by PID and stopped by PID; a process-exit hook kills any still running if a
 * test forgets stop() or crashes.
 *
 *   const cluster = await startNatsCluster({ size: 3 });
 *   ... connect to cluster.urls ...
 *   await cluster.kill(0);      // SIGKILL one node
 *   await cluster.stop();       // all nodes, store dirs removed
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { connect } from 'nats';

export const NATS_SERVER_BIN = process.env.WHARF_NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export interface NatsClusterOptions {
  /** Number of servers; 1 starts a plain server without a cluster block. Default 3. */
  size?: number;
  /** Client ports, one per server; default: free ports. */
  clientPorts?: number[];
  /** Cluster (route) ports, one per server; default: free ports. */
  clusterPorts?: number[];
  /** Cluster name and server-name prefix. Default "wharf-test". */
  name?: string;
  /** Time allowed for all servers to listen and JetStream to answer. Default 20 s. */
  startTimeoutMs?: number;
}

export interface NatsClusterNode {
  readonly serverName: string;
  readonly url: string;
  readonly clientPort: number;
  readonly clusterPort: number;
  readonly storeDir: string;
  readonly logFile: string;
  readonly pid: number | undefined;
  readonly running: boolean;
}

export interface NatsCluster {
  readonly nodes: readonly NatsClusterNode[];
  /** Client URLs of all servers, in node order. */
  readonly urls: string[];
  readonly rootDir: string;
  /** Kill one server by PID (default SIGKILL: a crash, not a clean shutdown) and wait for it to exit. */
  kill(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** Start a killed server again with the same config and store (it rejoins and catches up). */
  restart(index: number): Promise<void>;
  indexOfServer(serverName: string): number;
  /** Stop every server by PID and remove the store dirs. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of live) if (p.pid !== undefined) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

class Node implements NatsClusterNode {
  proc: ChildProcess | undefined;
  exited: Promise<void> = Promise.resolve();
  constructor(
    readonly serverName: string,
    readonly clientPort: number,
    readonly clusterPort: number,
    readonly storeDir: string,
    readonly logFile: string,
    readonly configFile: string,
  ) {}
  get url(): string { return `nats://127.0.0.1:${this.clientPort}`; }
  get pid(): number | undefined { return this.proc?.pid; }
  get running(): boolean { return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null; }

  start(): void {
    const p = spawn(NATS_SERVER_BIN, ['-c', this.configFile], { stdio: 'ignore' });
    this.proc = p;
    live.add(p);
    this.exited = new Promise((resolve) => p.once('exit', () => { live.delete(p); resolve(); }));
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const p = this.proc;
    if (!p || !this.running || p.pid === undefined) return;
    process.kill(p.pid, signal);
    await this.exited;
  }
}

export async function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
  if (!existsSync(NATS_SERVER_BIN)) throw new Error(`nats-server not found at ${NATS_SERVER_BIN} (set WHARF_NATS_SERVER_BIN)`);
  installExitHook();
  const size = opts.size ?? 3;
  const name = opts.name ?? 'wharf-test';
  const clientPorts = opts.clientPorts ?? (await Promise.all(Array.from({ length: size }, freePort)));
  const clusterPorts = opts.clusterPorts ?? (await Promise.all(Array.from({ length: size }, freePort)));
  if (clientPorts.length !== size || clusterPorts.length !== size) throw new Error('one client and cluster port per server');
  const rootDir = mkdtempSync(join(tmpdir(), `wharf-nats-${name}-`));

  const nodes = clientPorts.map((clientPort, i) => {
    const serverName = `${name}-${i + 1}`;
    const clusterPort = clusterPorts[i] as number;
    const storeDir = join(rootDir, serverName, 'store');
    const configFile = join(rootDir, `${serverName}.conf`);
    const logFile = join(rootDir, `${serverName}.log`);
    const routes = clusterPorts.filter((_, j) => j !== i).map((p) => `nats-route://127.0.0.1:${p}`);
    const conf = [
      `server_name: ${JSON.stringify(serverName)}`,
      `listen: "127.0.0.1:${clientPort}"`,
      `log_file: ${JSON.stringify(logFile)}`,
      `jetstream { store_dir: ${JSON.stringify(storeDir)}, max_memory_store: 64MB, max_file_store: 1GB }`,
      ...(size > 1
        ? [`cluster { name: ${JSON.stringify(name)}, listen: "127.0.0.1:${clusterPort}", routes: [${routes.map((r) => JSON.stringify(r)).join(', ')}] }`]
        : []),
    ].join('\n');
    writeFileSync(configFile, `${conf}\n`);
    return new Node(serverName, clientPort, clusterPort, storeDir, logFile, configFile);
  });

  for (const p of clientPorts) {
    if (await portOpen(p)) throw new Error(`port ${p} is already in use; cannot start test nats-server there`);
  }
  nodes.forEach((n) => n.start());

  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((n) => n.url),
    rootDir,
    async kill(index, signal = 'SIGKILL') {
      await nodeAt(index).kill(signal);
    },
    async restart(index) {
      const n = nodeAt(index);
      if (n.running) return;
      n.start();
      await waitListening(n, opts.startTimeoutMs ?? 20_000);
    },
    indexOfServer(serverName) {
      return nodes.findIndex((n) => n.serverName === serverName);
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.kill('SIGTERM')));
      rmSync(rootDir, { recursive: true, force: true });
    },
  };
  function nodeAt(i: number): Node {
    const n = nodes[i];
    if (!n) throw new RangeError(`no server at index ${i}`);
    return n;
  }

  try {
    const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
    await Promise.all(nodes.map((n) => waitListening(n, deadline - Date.now())));
    await waitJetStream(cluster.urls, deadline);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

async function waitListening(n: Node, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(n.clientPort))) {
    if (!n.running) throw new Error(`nats-server ${n.serverName} exited during start-up; see ${n.logFile}`);
    if (Date.now() > deadline) throw new Error(`nats-server ${n.serverName} did not listen on ${n.clientPort}`);
    await delay(50);
  }
}

/** JetStream answers account info only once the meta group has a leader: that is "ready" for a cluster. */
async function waitJetStream(urls: string[], deadline: number): Promise<void> {
  const nc = await connect({ servers: urls, timeout: 2_000 });
  try {
    for (;;) {
      try {
        const jsm = await nc.jetstreamManager({ timeout: 1_000 });
        await jsm.getAccountInfo();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`JetStream not ready: ${(err as Error).message}`);
        await delay(200);
      }
    }
  } finally {
    await nc.close();
  }
}
