/**
 * The one behavioural suite every EventBus passes (like the storage driver conformance suite): the JetStream bus
 * against a real nats-server and the memory bus run exactly these cases. Each case uses its own regions and
 * durable names, so cases share one bus (and one stream) without seeing each other's messages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { digestOf } from '../../oci/index.js';
import {
  EventValidationError,
  outcome,
  type DeliveryControl,
  type EventBus,
  type EventInput,
  type EventNames,
  type Outcome,
  type WharfEvent,
} from '../index.js';
import type { RepoName } from '../../oci/index.js';

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string | undefined;
}

export interface BusHarness {
  bus: EventBus;
  names: EventNames;
  /** Source the bus stamps on events. */
  source: string;
  /** Everything the bus logged. */
  logs: LogRecord[];
  /** Put raw bytes on a subject, bypassing the bus's validation (a buggy or foreign producer). */
  publishRaw(subject: string, data: Uint8Array, msgId?: string): Promise<void>;
  cleanup(): Promise<void>;
}

export function recordingLogger(logs: LogRecord[]) {
  const at = (level: LogRecord['level']) => (obj: object, msg?: string) => void logs.push({ level, obj, msg });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

interface Received {
  event: WharfEvent;
  deliveryCount: number;
  subject: string;
  at: number;
}

/** Collects deliveries; next() waits for the next one, with a timeout that fails the test clearly. */
class Inbox {
  readonly all: Received[] = [];
  private readIndex = 0;
  private waiter: (() => void) | undefined;

  push(ev: WharfEvent, ctl: DeliveryControl): void {
    this.all.push({ event: ev, deliveryCount: ctl.deliveryCount, subject: ctl.subject, at: Date.now() });
    this.waiter?.();
  }

  async next(timeoutMs = 5_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    while (this.readIndex >= this.all.length) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no delivery within ${timeoutMs} ms (got ${this.all.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.all[this.readIndex++] as Received;
  }

  /** Assert nothing more arrives for a while (used to prove "not redelivered"). */
  async quiet(ms: number): Promise<void> {
    const before = this.all.length;
    await new Promise((r) => setTimeout(r, ms));
    assert.equal(this.all.length, before, `unexpected delivery: ${JSON.stringify(this.all.slice(before).map((r) => r.event.id))}`);
  }
}

let counter = 0;
/** A region token unique to this process and case. */
function region(tag: string): string {
  return `${tag}-${process.pid}-${++counter}`;
}

function blobWritten(regionName: string, n: number): EventInput {
  return {
    type: 'wharf.blob.written.v1',
    data: {
      region: regionName,
      digest: digestOf(`blob-${regionName}-${n}`),
      size: 100 + n,
      repository: 'library/alpine' as RepoName,
      storageKey: `blobs/sha256/xx/${n}/data`,
      uploadId: `upload-${n}`,
    },
  };
}

function manifestPushed(regionName: string, n: number): EventInput {
  const layer = digestOf(`layer-${n}`);
  return {
    type: 'wharf.manifest.pushed.v1',
    data: {
      region: regionName,
      repository: 'library/alpine' as RepoName,
      digest: digestOf(`manifest-${regionName}-${n}`),
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 500,
      references: [{ digest: layer, size: 10, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }],
      actor: 'alice',
      requestId: `req-${n}`,
    },
  };
}

export function runBusConformance(label: string, makeHarness: () => Promise<BusHarness>): void {
  describe(`EventBus conformance: ${label}`, () => {
    let h: BusHarness;
    const subs: Array<{ close(): Promise<void> }> = [];

    before(async () => {
      h = await makeHarness();
    });
    after(async () => {
      await Promise.all(subs.map((s) => s.close()));
      await h.cleanup();
    });

    async function subscribe(
      durable: string,
      filterSubjects: string[],
      decide: (ev: WharfEvent, ctl: DeliveryControl) => Outcome | Promise<Outcome> = () => outcome.ack(),
      extra: { maxInFlight?: number; signal?: AbortSignal; ackWaitMs?: number } = {},
    ) {
      const inbox = new Inbox();
      const sub = await h.bus.subscribe({
        durable,
        filterSubjects,
        ...extra,
        handler: async (ev, ctl) => {
          inbox.push(ev, ctl);
          return decide(ev, ctl);
        },
      });
      subs.push(sub);
      return { inbox, sub };
    }

    it('round-trips an event with envelope fields set by the bus', async () => {
      const r = region('rt');
      const { inbox } = await subscribe(`rt-${r}`, [h.names.blobWrittenSubject(r)]);
      const input = blobWritten(r, 1);
      await h.bus.publish(input);
      const got = await inbox.next();
      assert.equal(got.event.type, 'wharf.blob.written.v1');
      assert.equal(got.event.specversion, '1.0');
      assert.equal(got.event.id, `blob:${r}:${input.data.digest}:upload-1`);
      assert.equal(got.event.source, h.source);
      assert.ok(Math.abs(Date.parse(got.event.time) - Date.now()) < 60_000);
      assert.deepEqual(got.event.data, input.data);
      assert.equal(got.deliveryCount, 1);
      assert.equal(got.subject, h.names.blobWrittenSubject(r));
    });

    it('delivers a message id published twice only once', async () => {
      const r = region('dup');
      const { inbox } = await subscribe(`dup-${r}`, [h.names.blobWrittenSubject(r)]);
      await h.bus.publish(blobWritten(r, 1));
      await h.bus.publish(blobWritten(r, 1)); // same fact, e.g. a retried publish after a lost ack
      await h.bus.publish(blobWritten(r, 2)); // sentinel: once it arrives, any duplicate would have too
      const ids = [(await inbox.next()).event.id, (await inbox.next()).event.id];
      assert.deepEqual(ids, [`blob:${r}:${digestOf(`blob-${r}-1`)}:upload-1`, `blob:${r}:${digestOf(`blob-${r}-2`)}:upload-2`]);
      await inbox.quiet(200);
    });

    it('redelivers after nak with delay, with deliveryCount 2', async () => {
      const r = region('nak');
      const { inbox } = await subscribe(`nak-${r}`, [h.names.blobWrittenSubject(r)], (_ev, ctl) =>
        ctl.deliveryCount === 1 ? outcome.nak(300) : outcome.ack(),
      );
      await h.bus.publish(blobWritten(r, 1));
      const first = await inbox.next();
      const second = await inbox.next();
      assert.equal(first.deliveryCount, 1);
      assert.equal(second.deliveryCount, 2);
      assert.equal(second.event.id, first.event.id);
      assert.ok(second.at - first.at >= 250, `redelivered after ${second.at - first.at} ms, expected >= 300`);
      await inbox.quiet(200);
    });

    it('honours the nak delay on every redelivery, not only the first', async () => {
      const r = region('naks');
      const { inbox } = await subscribe(`naks-${r}`, [h.names.blobWrittenSubject(r)], (_ev, ctl) =>
        ctl.deliveryCount < 4 ? outcome.nak(200) : outcome.ack(),
      );
      await h.bus.publish(blobWritten(r, 1));
      const times = [];
      for (let i = 1; i <= 4; i++) {
        const got = await inbox.next();
        assert.equal(got.deliveryCount, i);
        times.push(got.at);
      }
      for (let i = 1; i < times.length; i++) {
        const gap = (times[i] as number) - (times[i - 1] as number);
        assert.ok(gap >= 150 && gap < 1_500, `redelivery ${i} came ${gap} ms after the nak(200)`);
      }
    });

    it('naks with backoff when the handler throws', async () => {
      const r = region('throw');
      const { inbox } = await subscribe(`throw-${r}`, [h.names.blobWrittenSubject(r)], (_ev, ctl) => {
        if (ctl.deliveryCount === 1) throw new Error('region store down');
        return outcome.ack();
      });
      await h.bus.publish(blobWritten(r, 1));
      const first = await inbox.next();
      const second = await inbox.next(5_000);
      assert.equal(second.deliveryCount, 2);
      assert.ok(second.at - first.at >= 900, 'first retry waits retryDelayMs(1) = 1 s');
      assert.ok(h.logs.some((l) => l.level === 'warn' && l.msg?.includes('handler failed')));
    });

    // A short ack wait makes "left pending" (redelivered after 1 s) distinguishable from "termed" (never again).
    it('does not redeliver a termed message', async () => {
      const r = region('term');
      const { inbox } = await subscribe(
        `term-${r}`,
        [h.names.blobWrittenSubject(r)],
        (ev) => (ev.id.includes(digestOf(`blob-${r}-1`)) ? outcome.term('blob gone') : outcome.ack()),
        { ackWaitMs: 1_000 },
      );
      await h.bus.publish(blobWritten(r, 1));
      await h.bus.publish(blobWritten(r, 2));
      assert.equal((await inbox.next()).deliveryCount, 1);
      assert.equal((await inbox.next()).deliveryCount, 1);
      await inbox.quiet(1_500);
    });

    it('resumes a durable consumer after the subscriber restarts: only unacked and new messages arrive', async () => {
      const r = region('durable');
      const durable = `durable-${r}`;
      const filter = [h.names.blobWrittenSubject(r)];
      const one = await subscribe(durable, filter, (ev) =>
        ev.id.includes(digestOf(`blob-${r}-2`)) ? outcome.nak(200) : outcome.ack(),
      );
      await h.bus.publish(blobWritten(r, 1));
      await h.bus.publish(blobWritten(r, 2));
      await one.inbox.next();
      await one.inbox.next();
      await one.sub.close();
      await h.bus.publish(blobWritten(r, 3)); // published while nobody listens

      const two = await subscribe(durable, filter);
      const got = [await two.inbox.next(), await two.inbox.next()].sort((a, b) => a.event.id.localeCompare(b.event.id));
      assert.deepEqual(
        got.map((g) => [g.event.id, g.deliveryCount]),
        [
          [`blob:${r}:${digestOf(`blob-${r}-2`)}:upload-2`, 2],
          [`blob:${r}:${digestOf(`blob-${r}-3`)}:upload-3`, 1],
        ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
      await two.inbox.quiet(300);
    });

    it('terminates invalid payloads and logs them, without calling the handler', async () => {
      const r = region('invalid');
      const subject = h.names.blobWrittenSubject(r);
      const { inbox } = await subscribe(`invalid-${r}`, [subject], () => outcome.ack(), { ackWaitMs: 1_000 });
      const errorsBefore = h.logs.filter((l) => l.level === 'error').length;
      await h.publishRaw(subject, new TextEncoder().encode('{not json'));
      const futureVersion = { ...JSON.parse(JSON.stringify(blobWritten(r, 9))), type: 'wharf.blob.written.v2' };
      await h.publishRaw(subject, new TextEncoder().encode(JSON.stringify({ specversion: '1.0', id: 'x', source: 's', time: new Date().toISOString(), ...futureVersion })));
      await h.bus.publish(blobWritten(r, 1));
      const got = await inbox.next();
      assert.equal(got.event.data.digest, digestOf(`blob-${r}-1`));
      await inbox.quiet(1_500); // past the ack wait: a message left pending would be redelivered and logged again
      const errors = h.logs.filter((l) => l.level === 'error').slice(errorsBefore);
      assert.equal(errors.filter((l) => l.msg?.includes('invalid event payload')).length, 2);
    });

    it('honours filters: one region, several kinds, and wildcards', async () => {
      const a = region('fa');
      const b = region('fb');
      const onlyA = await subscribe(`filter-a-${a}`, [h.names.blobWrittenSubject(a), h.names.manifestPushedSubject(a)]);
      await h.bus.publish(blobWritten(b, 1));
      await h.bus.publish(manifestPushed(b, 1));
      await h.bus.publish(blobWritten(a, 1));
      await h.bus.publish(manifestPushed(a, 1));
      const got = [await onlyA.inbox.next(), await onlyA.inbox.next()].map((g) => g.event.type).sort();
      assert.deepEqual(got, ['wharf.blob.written.v1', 'wharf.manifest.pushed.v1']);
      await onlyA.inbox.quiet(300);
      for (const g of onlyA.inbox.all) assert.equal((g.event.data as { region: string }).region, a);

      // A new durable on "every region" sees the retained history of both regions (DeliverPolicy.All).
      const wildcard = await subscribe(`filter-any-${a}`, [`${h.names.prefix}.manifest.pushed.*`]);
      const seen = new Set<string>();
      const deadline = Date.now() + 5_000;
      while (!(seen.has(a) && seen.has(b)) && Date.now() < deadline) {
        const g = await wildcard.inbox.next();
        seen.add((g.event.data as { region: string }).region);
        assert.equal(g.event.type, 'wharf.manifest.pushed.v1');
      }
      assert.ok(seen.has(a) && seen.has(b));
    });

    it('runs up to maxInFlight handlers at once', async () => {
      const r = region('par');
      let running = 0;
      let peak = 0;
      const { inbox } = await subscribe(
        `par-${r}`,
        [h.names.blobWrittenSubject(r)],
        async (_ev, ctl) => {
          running++;
          peak = Math.max(peak, running);
          ctl.working(); // must be callable at any time
          await new Promise((res) => setTimeout(res, 150));
          running--;
          return outcome.ack();
        },
        { maxInFlight: 3 },
      );
      for (let i = 0; i < 6; i++) await h.bus.publish(blobWritten(r, i));
      for (let i = 0; i < 6; i++) await inbox.next();
      assert.ok(peak >= 2 && peak <= 3, `peak concurrency ${peak}`);
    });

    it('closes a subscription when its signal aborts', async () => {
      const r = region('abort');
      const ac = new AbortController();
      const { inbox } = await subscribe(`abort-${r}`, [h.names.blobWrittenSubject(r)], () => outcome.ack(), { signal: ac.signal });
      await h.bus.publish(blobWritten(r, 1));
      await inbox.next();
      ac.abort();
      await new Promise((res) => setTimeout(res, 100));
      await h.bus.publish(blobWritten(r, 2));
      await inbox.quiet(400);
    });

    it('rejects invalid events and subscriptions before any I/O', async () => {
      const bad = blobWritten(region('bad'), 1);
      (bad.data as { digest: string }).digest = 'sha256:nothex';
      await assert.rejects(h.bus.publish(bad), EventValidationError);
      await assert.rejects(
        h.bus.subscribe({ durable: 'x', filterSubjects: ['other.blob.written.*'], handler: async () => outcome.ack() }),
        /not a subject of this stream/,
      );
      await assert.rejects(
        h.bus.subscribe({ durable: 'bad.name', filterSubjects: [h.names.filter('blob.written')], handler: async () => outcome.ack() }),
        /durable/,
      );
    });

    it('reports healthy', async () => {
      const health = await h.bus.health();
      assert.equal(health.ok, true, health.detail);
    });
  });
}
