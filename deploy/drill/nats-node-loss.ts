/**
 * NATS node loss: mixed load from clients of every region (asynchronous namespace); after a warm-up one NATS
 * server of the 3-node JetStream cluster is killed with SIGKILL. While it is down a blob is pushed and must reach
 * every region (the replicators still get their events: the stream has 3 replicas, 2 keep quorum). Then the server
 * is started again with its config and store dir, and every acknowledged push is read back from every region.
 *
 * Timeline over `durationS` of load: 30 % warm-up, 50 % with the server down, the restart, 20 % after it.
 */
import { randomBytes } from 'node:crypto';
import { request } from '../local/http-request.js';
import { sleep } from '../local/processes.js';
import { killHard, restartNats } from '../local/restart.js';
import type { GeoState } from '../local/state.js';
import { blobStatus, clientsOf, placedEverywhere, pollUntil } from './cluster.js';
import { Load, pool, readBlob, sha256 } from './load.js';
import { failureSample, iso, loadStats, recoverySeconds, secs, summary, type LoadStats } from './report.js';

export interface NatsNodeLossOptions {
  /** Which server, 1-based; default 1. */
  node?: number;
  durationS?: number;
  /** Bound on the wait for the probe blob to reach every region; default 90 s. */
  replicationTimeoutS?: number;
  log?: (line: string) => void;
}

export interface NatsNodeLossReport extends LoadStats {
  drill: 'nats-node-loss';
  node: string;
  repo: string;
  started_at: string | null;
  killed_at: string | null;
  restarted_at: string | null;
  finished_at: string | null;
  failed_pushes_after_kill: number;
  failed_pulls_after_kill: number;
  push_recovery_s: number | null;
  pull_recovery_s: number | null;
  /** A blob pushed with the server down: from its acknowledgement until placed and verified in every region. */
  replicated_after_loss_s: number | null;
  probe_digest: string | null;
  acknowledged_pushes: number;
  acknowledged_pushes_lost: number;
  failures: ReturnType<typeof failureSample>;
}

export async function natsNodeLoss(state: GeoState, opts: NatsNodeLossOptions = {}): Promise<NatsNodeLossReport> {
  const log = opts.log ?? (() => undefined);
  const n = opts.node ?? 1;
  const name = `nats-${n}`;
  const victim = state.processes.find((p) => p.name === name);
  if (!victim) throw new Error(`no NATS server ${name} in the geo state`);
  const durationMs = (opts.durationS ?? 30) * 1000;
  const repo = `drill/nats-${randomBytes(3).toString('hex')}`;
  const front = state.front!.url;
  const [first, ...rest] = state.regions;
  const load = new Load({ front, clients: clientsOf(state), repo });
  load.start();
  await sleep(durationMs * 0.3);
  log(`kill -9 ${name} (${victim.pid})`);
  const killedAt = Date.now();
  await killHard(victim);

  // The probe: pushed with the server down, by a client of the first region; must reach every region.
  const data = randomBytes(256 * 1024);
  const digest = sha256(data);
  let probeAck: number | null = null;
  await pollUntil(20_000, async () => {
    const r = await request(`${front}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      method: 'POST', body: data, headers: { 'Content-Type': 'application/octet-stream' }, localAddress: first!.clientAddress,
    });
    if (r.status === 201) probeAck = Date.now();
    return r.status === 201;
  }, 500);
  let replicatedAt: number | null = null;
  if (probeAck !== null) {
    log(`probe ${digest.slice(0, 19)}… pushed; waiting for it in every region`);
    replicatedAt = await pollUntil(Math.max(durationMs * 0.5, (opts.replicationTimeoutS ?? 90) * 1000), async () =>
      placedEverywhere(await blobStatus(state, digest, rest[0]?.clientAddress ?? first!.clientAddress)));
  }
  const remaining = killedAt + durationMs * 0.5 - Date.now();
  if (remaining > 0) await sleep(remaining);
  log(`restarting ${name}`);
  await restartNats(state, n);
  const restartedAt = Date.now();
  await sleep(durationMs * 0.2);
  await load.stop();

  let lost = 0;
  await pool(load.acked, 8, async (blob) => {
    let readable = false;
    for (const r of state.regions) if ((await readBlob(front, r.clientAddress, blob)).ok) readable = true;
    if (!readable) lost++;
  });
  const after = load.outcomes.filter((o) => o.end >= killedAt && !o.ok);
  return {
    drill: 'nats-node-loss',
    node: name,
    repo,
    ...loadStats(load.outcomes),
    failed_pushes_after_kill: after.filter((o) => o.op === 'push').length,
    failed_pulls_after_kill: after.filter((o) => o.op === 'pull').length,
    push_recovery_s: recoverySeconds(load.outcomes, 'push', killedAt),
    pull_recovery_s: recoverySeconds(load.outcomes, 'pull', killedAt),
    replicated_after_loss_s: replicatedAt !== null && probeAck !== null ? secs(replicatedAt - probeAck) : null,
    probe_digest: probeAck !== null ? digest : null,
    acknowledged_pushes: load.acked.length,
    acknowledged_pushes_lost: lost,
    started_at: iso(load.startedAt),
    killed_at: iso(killedAt),
    restarted_at: iso(restartedAt),
    finished_at: iso(Date.now()),
    failures: failureSample(load.outcomes),
  };
}

export function describeNatsNodeLoss(r: NatsNodeLossReport): string {
  return summary(`NATS node loss drill: ${r.node}, repo ${r.repo}`, [
    ['requests', `${r.requests} (${r.pushes} pushes, ${r.pulls} pulls)`],
    ['failed pushes', `${r.failed_pushes} (${r.failed_pushes_after_kill} after the kill)`],
    ['failed pulls', `${r.failed_pulls} (${r.failed_pulls_after_kill} after the kill)`],
    ['push recovery', r.push_recovery_s === null ? 'never' : `${r.push_recovery_s} s`],
    ['pull recovery', r.pull_recovery_s === null ? 'never' : `${r.pull_recovery_s} s`],
    ['replication with it down', r.replicated_after_loss_s === null ? 'FAILED (probe not in every region)' : `probe in every region ${r.replicated_after_loss_s} s after its push`],
    ['acknowledged pushes', r.acknowledged_pushes],
    ['acknowledged pushes lost', r.acknowledged_pushes_lost],
    ...r.failures.slice(0, 5).map((f, i): [string, unknown] => [`failure ${i + 1}`, `${f.at} ${f.op} by ${f.region}: ${f.status} ${f.error ?? ''}`]),
  ]);
}
