// JetStream management-plane behaviour against a real nats-server: stream and consumer configuration, and the
// bus repairing a deleted stream or consumer by itself.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AckPolicy, StorageType, connect, nanos, type JetStreamManager, type NatsConnection } from 'nats';
import { digestOf } from '../oci/index.js';
import { testNats, uniqueEventPrefix, type TestNats } from '../../test/support/nats-test-server.js';
import {
  connectJetStreamBus,
  ensureConsumer,
  ensureStream,
  eventNames,
  outcome,
  replicatorDurable,
  type EventBus,
  type EventInput,
  type WharfEvent,
} from './index.js';
import { recordingLogger, type LogRecord } from './testsuite/bus-conformance.js';

const blobDeleted = (region: string, n: number): EventInput => ({
  type: 'wharf.blob.deleted.v1',
  data: { region, digest: digestOf(`s-${n}`) },
});

async function until(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('JetStream streams and consumers', () => {
  let server: TestNats;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let bus: EventBus;
  const logs: LogRecord[] = [];
  const names = eventNames(uniqueEventPrefix());

  before(async () => {
    server = await testNats();
    nc = await connect({ servers: server.url });
    jsm = await nc.jetstreamManager();
    bus = await connectJetStreamBus({ servers: server.url, names, logger: recordingLogger(logs), source: 'wharf://test/eu/1' });
    await until(async () => (await bus.health()).ok, 'bus healthy');
  });
  after(async () => {
    await bus.close();
    await jsm.streams.delete(names.stream).catch(() => false);
    await nc.close();
    await server.release();
  });

  it('creates a file-backed stream with a 5 minute duplicate window', async () => {
    const { config } = await jsm.streams.info(names.stream);
    assert.equal(config.storage, StorageType.File);
    assert.deepEqual(config.subjects, [`${names.prefix}.>`]);
    assert.equal(config.duplicate_window, nanos(5 * 60_000));
    assert.equal(config.num_replicas, 1);
    assert.equal(config.max_age, nanos(7 * 24 * 3600_000));
  });

  it('ensureStream is idempotent and converges changed settings', async () => {
    const l: LogRecord[] = [];
    const settings = { replicas: 1, duplicateWindowMs: 5 * 60_000, maxAgeMs: 7 * 24 * 3600_000 };
    await ensureStream(jsm, names, settings, recordingLogger(l));
    assert.equal(l.length, 0, 'no change, no log');
    await ensureStream(jsm, names, { ...settings, duplicateWindowMs: 60_000 }, recordingLogger(l));
    assert.equal((await jsm.streams.info(names.stream)).config.duplicate_window, nanos(60_000));
    await ensureStream(jsm, names, settings, recordingLogger(l));
    assert.equal((await jsm.streams.info(names.stream)).config.duplicate_window, nanos(5 * 60_000));
  });

  it('makes one durable explicit-ack consumer per filter, with ack wait and max deliver', async () => {
    const durable = replicatorDurable('stream-test');
    const sub = await bus.subscribe({
      durable,
      filterSubjects: names.replicatorFilters(),
      handler: async () => outcome.ack(),
      ackWaitMs: 10_000,
      maxDeliver: 7,
    });
    const infos = await until(
      async () => (await jsm.consumers.list(names.stream).next()).length >= 2,
      'consumers created',
    ).then(() => jsm.consumers.list(names.stream).next());
    const byName = new Map(infos.map((i) => [i.name, i.config]));
    const blob = byName.get(`${durable}_blob_written_any`);
    const manifest = byName.get(`${durable}_manifest_pushed_any`);
    assert.ok(blob && manifest, `consumers: ${[...byName.keys()].join(', ')}`);
    assert.equal(blob.durable_name, `${durable}_blob_written_any`);
    assert.equal(blob.ack_policy, AckPolicy.Explicit);
    assert.equal(blob.filter_subject, names.filter('blob.written'));
    assert.equal(manifest.filter_subject, names.filter('manifest.pushed'));
    assert.equal(blob.ack_wait, nanos(10_000));
    assert.equal(blob.max_deliver, 7);
    assert.deepEqual(blob.backoff ?? [], [], 'no server backoff: it would stretch nak delays on nats-server 2.9');
    await sub.close();
  });

  it('ensureConsumer creates, converges and strips a legacy server backoff', async () => {
    const spec = { name: 'converge', filterSubject: names.blobDeletedSubject('conv'), ackWaitMs: 5_000, maxDeliver: 9 };
    await ensureConsumer(jsm, names.stream, spec);
    await ensureConsumer(jsm, names.stream, spec); // idempotent
    await jsm.consumers.update(names.stream, 'converge', { backoff: [nanos(5_000), nanos(10_000)], ack_wait: nanos(1_000) });
    await ensureConsumer(jsm, names.stream, { ...spec, maxDeliver: 11 });
    const { config } = await jsm.consumers.info(names.stream, 'converge');
    assert.equal(config.ack_wait, nanos(5_000));
    assert.equal(config.max_deliver, 11);
    assert.deepEqual(config.backoff ?? [], []);
  });

  it('recreates a deleted consumer and keeps consuming', async () => {
    const received: WharfEvent[] = [];
    const durable = 'self-heal';
    const sub = await bus.subscribe({
      durable,
      filterSubjects: [names.blobDeletedSubject('heal')],
      handler: async (ev) => {
        received.push(ev);
        return outcome.ack();
      },
    });
    await bus.publish(blobDeleted('heal', 1));
    await until(() => received.length === 1, 'first delivery');
    await jsm.consumers.delete(names.stream, durable);
    await bus.publish(blobDeleted('heal', 2));
    // The re-created consumer starts from the stream's first message again: at-least-once, never a gap.
    const second = blobDeleted('heal', 2).data.digest;
    await until(() => received.some((e) => e.data.digest === second), 'delivery after the consumer was deleted', 45_000);
    assert.ok(logs.some((l) => l.msg?.includes('event consumer failed')));
    await sub.close();
  });

  it('a live subscription recreates a deleted stream and resumes', async () => {
    const received: WharfEvent[] = [];
    const sub = await bus.subscribe({
      durable: 'stream-heal',
      filterSubjects: [names.blobDeletedSubject('sheal')],
      handler: async (ev) => {
        received.push(ev);
        return outcome.ack();
      },
    });
    try {
      await bus.publish(blobDeleted('sheal', 1));
      await until(() => received.length === 1, 'first delivery');
      await jsm.streams.delete(names.stream);
      // Noticed within one pull's `expires` (10 s) plus the retry backoff; bounded generously for a loaded CI machine.
      await until(() => jsm.streams.info(names.stream).then(() => true, () => false), 'stream re-created by the subscription', 45_000);
      // Publish around the bus (its own publish would recreate the stream too and prove nothing here).
      await nc.jetstream().publish(
        names.blobDeletedSubject('sheal'),
        new TextEncoder().encode(JSON.stringify({ specversion: '1.0', type: 'wharf.blob.deleted.v1', id: 'x', source: 's', time: new Date().toISOString(), data: blobDeleted('sheal', 2).data })),
      );
      await until(() => received.length === 2, 'delivery from the re-created stream', 45_000);
    } finally {
      // Closed even on failure, so a still-running repair loop cannot touch the next test's stream.
      await sub.close();
    }
  });

  it('recreates the stream when a publish finds none', async () => {
    await jsm.streams.delete(names.stream);
    await bus.publish(blobDeleted('gone', 1));
    const info = await jsm.streams.info(names.stream);
    assert.equal(info.state.messages, 1);
    assert.ok(logs.some((l) => l.msg?.includes('re-creating stream')));
  });
});
