// The JetStream bus on its own nats-servers: a node that starts before NATS, and a 3-node cluster (stream R3)
// that keeps publishing and consuming after its stream leader is killed. Servers are stopped by PID in after().
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect, type JetStreamManager } from 'nats';
import { digestOf } from '../oci/index.js';
import { freePort, startNatsCluster, type NatsCluster } from '../../test/support/nats-cluster.js';
import {
  EventBusUnavailableError,
  connectJetStreamBus,
  eventNames,
  outcome,
  publishSafely,
  type EventBus,
  type EventInput,
} from './index.js';
import { recordingLogger, type LogRecord } from './testsuite/bus-conformance.js';

const blobDeleted = (region: string, n: number): EventInput => ({
  type: 'wharf.blob.deleted.v1',
  data: { region, digest: digestOf(`cluster-${n}`) },
});

/** Label failures with the phase they happened in: a bare NatsError TIMEOUT says nothing about where. */
async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`, { cause: err });
  }
}

async function until(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('JetStream bus on its own servers', () => {
  const clusters: NatsCluster[] = [];
  const buses: EventBus[] = [];
  after(async () => {
    await Promise.all(buses.map((b) => b.close()));
    await Promise.all(clusters.map((c) => c.stop()));
  });

  it('starts before NATS: unhealthy and failing publishes fast, then works once a server appears', async () => {
    const logs: LogRecord[] = [];
    const port = await freePort();
    const names = eventNames('wharf');
    const bus = await connectJetStreamBus({
      servers: `nats://127.0.0.1:${port}`,
      names,
      logger: recordingLogger(logs),
      source: 'wharf://test/eu/early',
      publishTimeoutMs: 300,
    });
    buses.push(bus);
    const health = await bus.health();
    assert.equal(health.ok, false);
    assert.match(health.detail ?? '', /not connected/);
    await assert.rejects(bus.publish(blobDeleted('early', 0)), EventBusUnavailableError);
    assert.equal(await publishSafely(bus, blobDeleted('early', 0), recordingLogger(logs), { attempts: 1 }), false);

    const seen: string[] = [];
    const sub = await bus.subscribe({
      durable: 'early',
      filterSubjects: [names.blobDeletedSubject('early')],
      handler: async (ev) => {
        seen.push(ev.id);
        return outcome.ack();
      },
    });

    clusters.push(await startNatsCluster({ size: 1, clientPorts: [port], name: 'wharf-test-late' }));
    await until(async () => (await bus.health()).ok, 'bus healthy after the server started');
    await bus.publish(blobDeleted('early', 1));
    await until(() => seen.length === 1, 'delivery');
    assert.equal(seen[0], `blob-del:early:${digestOf('cluster-1')}`);
    await sub.close();
  });

  it('a bus closed before NATS ever came up lets the process exit', () => {
    // Run in a child: a leaked reconnect timer would show up as a hang, which a test in this process cannot see.
    const index = fileURLToPath(new URL('./index.ts', import.meta.url));
    const code = `
      const { connectJetStreamBus, eventNames, silentLogger } = await import(${JSON.stringify(index)});
      const bus = await connectJetStreamBus({ servers: 'nats://127.0.0.1:1', names: eventNames(), logger: silentLogger, source: 'x' });
      await new Promise((r) => setTimeout(r, 300));
      await bus.close();`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { timeout: 10_000, encoding: 'utf8' });
    assert.equal(r.error, undefined, 'child did not exit within 10 s');
    assert.equal(r.status, 0, r.stderr);
  });

  it('3-node cluster: stream with 3 replicas survives killing its leader', async () => {
    const cluster = await startNatsCluster({ size: 3, name: 'wharf-test-cluster' });
    clusters.push(cluster);
    const logs: LogRecord[] = [];
    const names = eventNames('wharf');
    const bus = await connectJetStreamBus({
      servers: cluster.urls,
      names,
      logger: recordingLogger(logs),
      source: 'wharf://test/eu/cluster',
      streamReplicas: 3,
    });
    buses.push(bus);
    await until(async () => (await bus.health()).ok, 'bus healthy on the cluster');

    const admin = await connect({ servers: cluster.urls });
    const jsm = await phase('admin before the failure', () => admin.jetstreamManager());
    const info = await phase('stream info before the failure', () => jsm.streams.info(names.stream));
    assert.equal(info.config.num_replicas, 3);
    assert.equal((info.cluster?.replicas ?? []).length, 2, 'a leader plus two replicas');
    const leader = info.cluster?.leader ?? '';
    await admin.close();

    const seen = new Set<string>();
    const sub = await bus.subscribe({
      durable: 'cluster-consumer',
      filterSubjects: [names.blobDeletedSubject('ha')],
      handler: async (ev) => {
        seen.add(ev.id);
        return outcome.ack();
      },
    });
    for (let i = 0; i < 5; i++) await phase(`publish ${i} before the failure`, () => bus.publish(blobDeleted('ha', i)));
    await until(() => seen.size === 5, 'deliveries before the failure');

    const victim = cluster.indexOfServer(leader);
    assert.ok(victim >= 0, `leader ${leader} is one of ours`);
    const pid = cluster.nodes[victim]?.pid;
    await cluster.kill(victim); // SIGKILL by PID: a crash, not a graceful leadership hand-off
    assert.equal(cluster.nodes[victim]?.running, false, `server ${leader} (pid ${pid}) is gone`);

    // While the remaining two elect a new stream leader, publishes may time out; publishSafely-style retries cover
    // that window. Each publish must eventually be stored exactly once.
    for (let i = 5; i < 10; i++) {
      const ok = await publishSafely(bus, blobDeleted('ha', i), recordingLogger(logs), { attempts: 10, retryDelayMs: 250 });
      assert.equal(ok, true, `publish ${i} after the leader died`);
    }
    await until(() => seen.size === 10, 'deliveries after the failure', 20_000);

    // The test's own admin requests may time out while the meta group re-elects (the victim may have led it too).
    const admin2 = await connect({ servers: cluster.urls.filter((_, i) => i !== victim) });
    let afterInfo: Awaited<ReturnType<JetStreamManager['streams']['info']>> | undefined;
    await until(async () => {
      afterInfo = await admin2.jetstreamManager({ timeout: 2_000 }).then((m) => m.streams.info(names.stream)).catch(() => undefined);
      return afterInfo !== undefined;
    }, 'stream info after the failure');
    assert.ok(afterInfo);
    assert.notEqual(afterInfo.cluster?.leader, leader, 'a new leader was elected');
    assert.equal(afterInfo.state.messages, 10, 'every event stored exactly once');
    await admin2.close();
    assert.equal((await bus.health()).ok, true);
    await sub.close();
  });
});
