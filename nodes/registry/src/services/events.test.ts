import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { startTestRegistry, type TestRegistry } from '../../../../test/support/registry.js';
import { pushImage } from '../../../../test/support/oci-client.js';
import {
  connectJetStreamBus, eventNames, silentLogger, type EventBus, type WharfEvent,
} from '../../../../shared/events/index.js';

const NATS_URL = process.env.WHARF_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

describe('registry events over JetStream', () => {
  const prefix = `wt${randomBytes(4).toString('hex')}`;
  const names = eventNames(prefix);
  let reg: TestRegistry;
  let bus: EventBus;

  before(async () => {
    reg = await startTestRegistry({ WHARF_NATS_URL: NATS_URL, WHARF_NATS_PREFIX: prefix, WHARF_NODE_REGION: 'eu-west' });
    bus = await connectJetStreamBus({ servers: NATS_URL, names, logger: silentLogger, source: 'wharf://test/eu-west/t' });
  });
  after(async () => {
    await bus.close();
    await reg.stop();
    const nc = await connect({ servers: NATS_URL });
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(names.stream).catch(() => {});
    await nc.close();
  });

  it('publishes blob.written for each new blob and manifest.pushed with every reference, after commit', async () => {
    const img = await pushImage(reg.url, 'ev/app', 'v1');
    const seen: WharfEvent[] = [];
    const want = 1 + img.layers.length + 1; // config + layers + manifest
    const done = new Promise<void>((resolve) => {
      void bus.subscribe({
        durable: 'test-observer',
        filterSubjects: [names.filter('blob.written', 'eu-west'), names.filter('manifest.pushed', 'eu-west')],
        handler: async (ev) => {
          seen.push(ev);
          if (seen.length >= want) resolve();
          return { type: 'ack' };
        },
      });
    });
    await done;
    const blobs = seen.filter((e) => e.type === 'wharf.blob.written.v1');
    assert.deepEqual(new Set(blobs.map((e) => e.data.digest)), new Set([img.config, ...img.layers]));
    for (const e of blobs) {
      assert.equal(e.data.region, 'eu-west');
      assert.equal(e.data.repository, 'ev/app');
      assert.match(e.data.storageKey, /^blobs\/sha256\//);
    }
    const pushed = seen.find((e) => e.type === 'wharf.manifest.pushed.v1');
    assert.ok(pushed && pushed.type === 'wharf.manifest.pushed.v1');
    assert.equal(pushed.data.digest, img.digest);
    assert.equal(pushed.data.tag, 'v1');
    assert.deepEqual(pushed.data.references.map((r) => r.digest), [img.config, ...img.layers]);
    assert.equal(pushed.id, `manifest:eu-west:ev/app@${img.digest}:v1`);
  });
});

describe('registry with its event broker down', () => {
  let reg: TestRegistry;
  before(async () => {
    // Nothing listens on port 1: every publish fails.
    reg = await startTestRegistry({ WHARF_NATS_URL: 'nats://127.0.0.1:1' });
  });
  after(async () => {
    await reg.stop();
  });

  it('still accepts pushes (publishing never fails a request) and reports itself not ready', async () => {
    const img = await pushImage(reg.url, 'ev/down', 'v1');
    const r = await fetch(`${reg.url}/v2/ev/down/manifests/v1`, { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('docker-content-digest'), img.digest);
    const ready = await fetch(`${reg.url}/readyz`);
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { checks: Record<string, { ok: boolean }> };
    assert.equal(body.checks.events?.ok, false);
    assert.equal(body.checks.database?.ok, true);
  });
});
