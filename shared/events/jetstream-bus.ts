/**
 * EventBus over NATS JetStream (data plane; streams.ts holds the management plane).
 *
 * - The connection is made in the background and retried forever (see connectLoop), so a node starts, serves
 *   and reports unhealthy while NATS is down instead of crashing; publish waits a bounded time for it.
 * - Publishes carry the deterministic envelope id as Nats-Msg-Id, so a retried publish inside the duplicate window
 *   is stored once.
 * - Subscriptions are durable pull consumers with explicit ack. Several filters become one consumer per filter
 *   (`<durable>_<filter slug>`), because multi-filter consumers need nats-server 2.10 and the fan-out works on any.
 */
import { setMaxListeners } from 'node:events';
import { connect, ErrorCode, NatsError, type JetStreamClient, type JetStreamManager, type JsMsg, type NatsConnection } from 'nats';
import { Semaphore, aborted, linkedAbort, sleep } from './async-util.js';
import {
  EventBusClosedError,
  EventBusUnavailableError,
  resolveSubscribeOptions,
  type BusHealth,
  type EventBus,
  type SubscribeOptions,
  type Subscription,
} from './bus.js';
import { dispatchDelivery } from './dispatch.js';
import type { EventLogger } from './logger.js';
import { createEvent, encodeEvent, eventSubject, type EventInput } from './payloads.js';
import { STREAM_DEFAULTS, ensureConsumer, ensureStream, isStreamNotFound, type StreamSettings } from './streams.js';
import { assertDurableName, type EventNames } from './subjects.js';

export interface JetStreamBusOptions {
  /** NATS URLs, e.g. ["nats://127.0.0.1:4222"]; all cluster members may be listed. */
  servers: string | string[];
  names: EventNames;
  logger: EventLogger;
  /** CloudEvents source of this node (see eventSource); also the NATS connection name. */
  source: string;
  /** Stream replicas: 1 on one server, 3 on the geo cluster. Default 1. */
  streamReplicas?: number;
  /** Nats-Msg-Id dedupe window. Default 5 min. */
  duplicateWindowMs?: number;
  /** Events older than this leave the stream. Default 7 days. */
  maxAgeMs?: number;
  /** Longest publish() waits for a connection plus the stream's ack. Default 5 s. */
  publishTimeoutMs?: number;
}

interface Ready {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

export async function connectJetStreamBus(opts: JetStreamBusOptions): Promise<EventBus> {
  const bus = new JetStreamBus(opts);
  bus.start();
  return bus;
}

/** Consumer name for one filter of a multi-filter subscription, e.g. replicator-eu_blob_written_any. */
export function consumerNameFor(durable: string, filter: string, names: EventNames, filterCount: number): string {
  if (filterCount === 1) return durable;
  const slug = filter
    .slice(names.prefix.length + 1)
    .split('.')
    .map((t) => (t === '*' ? 'any' : t === '>' ? 'all' : t))
    .join('_');
  return assertDurableName(`${durable}_${slug}`);
}

class JetStreamBus implements EventBus {
  private readonly names: EventNames;
  private readonly logger: EventLogger;
  private readonly settings: StreamSettings;
  private readonly publishTimeoutMs: number;
  private readonly stop = new AbortController();
  private readonly subs = new Set<JetStreamSubscription>();
  private nc: NatsConnection | undefined;
  private connected = false;
  private streamReady = false;
  private lastError: string | undefined;
  private resolveReady!: (r: Ready) => void;
  private readonly ready: Promise<Ready> = new Promise((resolve) => (this.resolveReady = resolve));

  constructor(private readonly opts: JetStreamBusOptions) {
    // Every live subscription listens on the bus's stop signal (and detaches on close): many is normal, not a leak.
    setMaxListeners(0, this.stop.signal);
    this.names = opts.names;
    this.logger = opts.logger;
    this.publishTimeoutMs = opts.publishTimeoutMs ?? 5_000;
    this.settings = {
      replicas: opts.streamReplicas ?? STREAM_DEFAULTS.replicas,
      duplicateWindowMs: opts.duplicateWindowMs ?? STREAM_DEFAULTS.duplicateWindowMs,
      maxAgeMs: opts.maxAgeMs ?? STREAM_DEFAULTS.maxAgeMs,
    };
  }

  start(): void {
    void this.connectLoop();
  }

  /**
   * First connection, retried until it succeeds or the bus closes; after it, the client reconnects by itself
   * forever. This is what waitOnFirstConnect would do, but its retry loop cannot be cancelled: a bus closed
   * before NATS ever came up would keep the process alive. Here each attempt is bounded and close() ends the loop.
   */
  private async connectLoop(): Promise<void> {
    const servers = this.opts.servers;
    for (let failures = 0; !this.stop.signal.aborted; failures++) {
      let nc: NatsConnection;
      try {
        nc = await connect({ servers, name: this.opts.source, timeout: 5_000, maxReconnectAttempts: -1, reconnectTimeWait: 1_000 });
      } catch (err) {
        this.lastError = (err as Error).message;
        // Expected while NATS is still starting; say it once, then only occasionally.
        if (failures % 30 === 0) this.logger.warn({ err, servers, failures }, 'nats not reachable yet; retrying');
        await sleep(Math.min(250 * 2 ** failures, 2_000), this.stop.signal);
        continue;
      }
      if (this.stop.signal.aborted) {
        await nc.close();
        return;
      }
      this.nc = nc;
      this.connected = true;
      this.logger.info({ server: nc.getServer() }, 'connected to nats');
      void this.watchStatus(nc);
      try {
        const r: Ready = { nc, js: nc.jetstream(), jsm: await nc.jetstreamManager() };
        await this.ensureStreamUntilDone(r.jsm);
        this.resolveReady(r);
        return;
      } catch (err) {
        // JetStream disabled or not permitted on this account: a deployment error, but keep trying (it may be
        // enabled by a server restart) rather than take the node down.
        this.lastError = (err as Error).message;
        this.logger.error({ err, servers }, 'nats JetStream unavailable; retrying');
        this.nc = undefined;
        this.connected = false;
        await nc.close().catch(() => {});
        await sleep(5_000, this.stop.signal);
      }
    }
  }

  private async ensureStreamUntilDone(jsm: JetStreamManager): Promise<void> {
    for (let attempt = 0; !this.stop.signal.aborted; attempt++) {
      try {
        await ensureStream(jsm, this.names, this.settings, this.logger);
        this.streamReady = true;
        this.lastError = undefined;
        return;
      } catch (err) {
        // Typical while a cluster is still electing a meta leader or lacks servers for the replica count.
        this.lastError = (err as Error).message;
        this.logger.warn({ err, stream: this.names.stream, attempt }, 'cannot ensure event stream yet; retrying');
        await sleep(Math.min(500 * 2 ** attempt, 10_000), this.stop.signal);
      }
    }
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.connected = false;
        this.logger.warn({ server: s.data }, 'disconnected from nats; reconnecting');
      } else if (s.type === 'reconnect') {
        this.connected = true;
        this.logger.info({ server: s.data }, 'reconnected to nats');
        // A restarted single server without its store dir has lost the stream; recreate it (idempotent otherwise).
        void this.ready.then((r) => this.ensureStreamUntilDone(r.jsm));
      } else if (s.type === 'error') {
        this.logger.warn({ err: s.data }, 'nats connection error');
      }
    }
  }

  private async whenReady(timeoutMs: number): Promise<Ready> {
    if (this.stop.signal.aborted) throw new EventBusClosedError('event bus is closed');
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      t = setTimeout(
        () => reject(new EventBusUnavailableError(`nats not ready after ${timeoutMs} ms: ${this.lastError ?? 'connecting'}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.ready, timeout]);
    } finally {
      clearTimeout(t);
    }
  }

  async publish(input: EventInput): Promise<void> {
    const ev = createEvent(input, this.opts.source); // throws EventValidationError before any I/O
    const subject = eventSubject(this.names, ev);
    const started = Date.now();
    const { js, jsm } = await this.whenReady(this.publishTimeoutMs);
    const send = () =>
      js.publish(subject, encodeEvent(ev), {
        msgID: ev.id,
        timeout: Math.max(500, this.publishTimeoutMs - (Date.now() - started)),
      });
    let ack;
    try {
      ack = await send();
    } catch (err) {
      // No responders: nothing stores this subject, i.e. the stream was deleted under us. Recreate once and retry.
      if (!(err instanceof NatsError && err.code === ErrorCode.NoResponders)) throw err;
      this.logger.warn({ stream: this.names.stream, subject }, 'no stream for event subject; re-creating stream');
      await ensureStream(jsm, this.names, this.settings, this.logger);
      ack = await send();
    }
    this.logger.debug({ eventId: ev.id, type: ev.type, seq: ack.seq, duplicate: ack.duplicate }, 'event published');
  }

  async subscribe(so: SubscribeOptions): Promise<Subscription> {
    if (this.stop.signal.aborted) throw new EventBusClosedError('event bus is closed');
    const o = resolveSubscribeOptions(so, this.names.ownsSubject);
    const durable = assertDurableName(o.durable);
    const consumers = o.filterSubjects.map((filter) => ({
      name: consumerNameFor(durable, filter, this.names, o.filterSubjects.length),
      filterSubject: filter,
      ackWaitMs: o.ackWaitMs,
      maxDeliver: o.maxDeliver,
    }));
    const sub = new JetStreamSubscription(durable, consumers, o, {
      ready: this.ready,
      stream: this.names.stream,
      // A consumer cannot exist without its stream: recreate the stream if someone deleted it.
      repairStream: (jsm) => ensureStream(jsm, this.names, this.settings, this.logger),
      logger: this.logger,
      busStop: this.stop.signal,
    });
    this.subs.add(sub);
    sub.closed.then(() => this.subs.delete(sub));
    return sub;
  }

  async health(): Promise<BusHealth> {
    if (this.stop.signal.aborted) return { ok: false, detail: 'event bus closed' };
    if (!this.nc || !this.connected) return { ok: false, detail: `nats not connected: ${this.lastError ?? 'connecting'}` };
    if (!this.streamReady) return { ok: false, detail: `stream ${this.names.stream} not ready: ${this.lastError ?? 'pending'}` };
    try {
      const { jsm } = await this.whenReady(1_000);
      // A stream info round trip proves JetStream (and, clustered, the stream's leader) answers, not just TCP.
      const info = await jsm.streams.info(this.names.stream);
      return { ok: true, detail: `stream ${this.names.stream}: ${info.state.messages} messages` };
    } catch (err) {
      return { ok: false, detail: `stream ${this.names.stream}: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {
    if (this.stop.signal.aborted) return;
    this.stop.abort();
    await Promise.all([...this.subs].map((s) => s.close()));
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    // Drain flushes pending acks; with no server reachable it would wait for a reconnect, so bound it.
    await Promise.race([nc.drain().catch(() => {}), sleep(2_000)]);
    if (!nc.isClosed()) await nc.close();
  }
}

function termReasonSupported(nc: NatsConnection): boolean {
  const [major = 0, minor = 0] = (nc.info?.version ?? '0.0.0').split('.').map((x) => Number.parseInt(x, 10));
  return major > 2 || (major === 2 && minor >= 11);
}

interface ConsumerRef {
  name: string;
  filterSubject: string;
  ackWaitMs: number;
  maxDeliver: number;
}

class JetStreamSubscription implements Subscription {
  private readonly ac: ReturnType<typeof linkedAbort>;
  private readonly slots: Semaphore;
  private readonly running = new Set<Promise<void>>();
  private readonly iterators = new Set<{ stop(): void }>();
  readonly closed: Promise<void>;

  private readonly stream: string;
  private readonly logger: EventLogger;

  constructor(
    readonly durable: string,
    consumers: ConsumerRef[],
    private readonly o: ReturnType<typeof resolveSubscribeOptions>,
    private readonly env: {
      ready: Promise<Ready>;
      stream: string;
      repairStream: (jsm: JetStreamManager) => Promise<void>;
      logger: EventLogger;
      busStop: AbortSignal;
    },
  ) {
    this.stream = env.stream;
    this.logger = env.logger;
    this.ac = linkedAbort(o.signal, env.busStop);
    this.ac.signal.addEventListener('abort', () => this.iterators.forEach((it) => it.stop()), { once: true });
    this.slots = new Semaphore(o.maxInFlight);
    this.closed = Promise.all(consumers.map((c) => this.consumeLoop(c, env.ready)))
      .then(() => Promise.all([...this.running]))
      .then(() => this.ac.dispose());
  }

  /** Runs until the subscription closes; survives consumer/stream deletion and lost connections by re-ensuring. */
  private async consumeLoop(c: ConsumerRef, ready: Promise<Ready>): Promise<void> {
    const { signal } = this.ac;
    const r = await Promise.race([ready, aborted(signal).then(() => undefined)]);
    if (!r) return;
    for (let failures = 0; !signal.aborted; ) {
      try {
        await ensureConsumer(r.jsm, this.stream, c);
        const consumer = await r.js.consumers.get(this.stream, c.name);
        // Prefetch no more than we can run, so a closing or crashing node strands few messages on ack_wait.
        // expires bounds each pull (idle heartbeats every expires/2), so a consumer or stream deleted while no
        // pull was waiting is noticed within ~expires instead of the default 30 s + missed heartbeats.
        const iter = await consumer.consume({
          max_messages: this.o.maxInFlight,
          expires: 10_000,
          abort_on_missing_resource: true,
        });
        this.iterators.add(iter);
        if (signal.aborted) iter.stop();
        failures = 0;
        for await (const m of iter) {
          if (!(await this.slots.acquire(signal))) {
            m.nak(); // buffered but never started: hand it back now instead of after ack_wait
            continue;
          }
          const task = this.handle(m, c, r).finally(() => {
            this.slots.release();
            this.running.delete(task);
          });
          this.running.add(task);
        }
        this.iterators.delete(iter);
        if (!signal.aborted) this.logger.warn({ consumer: c.name }, 'event consumer stopped; re-creating');
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        this.logger.warn({ err, consumer: c.name, stream: this.stream, failures }, 'event consumer failed; retrying');
        if (isStreamNotFound(err)) await this.env.repairStream(r.jsm).catch(() => {});
      }
      await sleep(Math.min(250 * 2 ** failures, 10_000), signal);
    }
  }

  private async handle(m: JsMsg, c: ConsumerRef, r: Ready): Promise<void> {
    const result = await dispatchDelivery(
      {
        data: m.data,
        seq: m.seq,
        subject: m.subject,
        deliveryCount: m.info.redeliveryCount,
        signal: this.ac.signal,
        working: () => m.working(),
      },
      { durable: c.name, handler: this.o.handler, maxDeliver: c.maxDeliver, logger: this.logger },
    ).catch((err: unknown) => {
      this.logger.error({ err, consumer: c.name }, 'event dispatch failed');
      return { type: 'nak', delayMs: 1_000 } as const;
    });
    switch (result.type) {
      case 'ack':
        m.ack();
        return;
      case 'nak':
        m.nak(result.delayMs);
        return;
      case 'term':
        // Servers before 2.11 do not parse "+TERM <reason>" and leave the message pending (it would come back
        // after ack_wait), so the reason is only sent where it is understood; it is logged either way.
        if (termReasonSupported(r.nc)) m.term(result.reason);
        else m.term();
        return;
    }
  }

  async close(): Promise<void> {
    this.ac.abort();
    await this.closed;
  }
}
