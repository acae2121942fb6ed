/**
 * In-process EventBus for the embedded default (`npm start` without NATS). It keeps JetStream's semantics that
 * callers rely on: dedupe by message id within a window, durable consumers that resume where they stopped,
 * nak-with-delay redelivery, term, maxDeliver, NATS wildcard filters, and validation on receive (messages are
 * stored as bytes, exactly as on the wire). It is not durable across process restarts: the reconciler covers that.
 * Not emulated: ack-wait redelivery of a handler that hangs (an in-process handler cannot die without the bus).
 */
import { Waker, linkedAbort } from './async-util.js';
import {
  EventBusClosedError,
  resolveSubscribeOptions,
  type BusHealth,
  type EventBus,
  type Outcome,
  type SubscribeOptions,
  type Subscription,
} from './bus.js';
import { dispatchDelivery } from './dispatch.js';
import type { EventLogger } from './logger.js';
import { createEvent, encodeEvent, eventSubject, type EventInput } from './payloads.js';
import { assertDurableName, isValidSubject, subjectMatches, type EventNames } from './subjects.js';

export interface MemoryBusOptions {
  names: EventNames;
  logger: EventLogger;
  /** CloudEvents source of this node (see eventSource). */
  source: string;
  /** Same role as the JetStream duplicate window. Default 5 min. */
  duplicateWindowMs?: number;
  /** Messages kept for consumers created later, and cap on each consumer's backlog. Default 10 000. */
  maxMessages?: number;
}

export interface MemoryEventBus extends EventBus {
  /** Store raw bytes on a subject, bypassing validation: lets tests prove that bad payloads are termed. */
  publishRaw(subject: string, data: Uint8Array, msgId?: string): void;
}

interface StoredMessage {
  seq: number;
  subject: string;
  data: Uint8Array;
}

interface PendingDelivery {
  msg: StoredMessage;
  deliveries: number;
  notBefore: number;
  inFlight: boolean;
}

/** State of one durable name; it outlives its subscriptions, which is what makes it durable. */
interface ConsumerState {
  filters: string[];
  pending: Map<number, PendingDelivery>;
  waker: Waker;
}

export function createMemoryBus(opts: MemoryBusOptions): MemoryEventBus {
  const { names, logger, source } = opts;
  const dupWindow = opts.duplicateWindowMs ?? 5 * 60_000;
  const maxMessages = opts.maxMessages ?? 10_000;
  const log: StoredMessage[] = [];
  const seenIds = new Map<string, number>(); // msg id → expiry time
  const consumers = new Map<string, ConsumerState>();
  const active = new Set<MemorySubscription>();
  let seq = 0;
  let closed = false;

  const matches = (filters: string[], subject: string): boolean => filters.some((f) => subjectMatches(f, subject));

  function store(subject: string, data: Uint8Array, msgId?: string): boolean {
    const now = Date.now();
    for (const [id, exp] of seenIds) {
      if (exp > now) break; // insertion order is expiry order
      seenIds.delete(id);
    }
    if (msgId !== undefined) {
      if (seenIds.has(msgId)) return false;
      seenIds.set(msgId, now + dupWindow);
    }
    const msg: StoredMessage = { seq: ++seq, subject, data };
    log.push(msg);
    if (log.length > maxMessages) log.shift();
    for (const [durable, c] of consumers) {
      if (!matches(c.filters, subject)) continue;
      c.pending.set(msg.seq, { msg, deliveries: 0, notBefore: 0, inFlight: false });
      trimBacklog(durable, c);
      c.waker.wake();
    }
    return true;
  }

  function trimBacklog(durable: string, c: ConsumerState): void {
    if (c.pending.size <= maxMessages) return;
    for (const [s, p] of c.pending) {
      if (p.inFlight) continue;
      c.pending.delete(s);
      logger.warn({ durable, seq: s, subject: p.msg.subject }, 'memory bus backlog full; dropping oldest message');
      return;
    }
  }

  function consumerFor(durable: string, filters: string[]): ConsumerState {
    let c = consumers.get(durable);
    if (!c) {
      // A new durable starts from everything retained, like DeliverPolicy.All on a fresh JetStream consumer.
      c = { filters, pending: new Map(), waker: new Waker() };
      for (const m of log) {
        if (matches(filters, m.subject)) c.pending.set(m.seq, { msg: m, deliveries: 0, notBefore: 0, inFlight: false });
      }
      consumers.set(durable, c);
    } else if (c.filters.join('\n') !== filters.join('\n')) {
      // As a JetStream consumer update: the new filters apply to messages stored from now on.
      logger.info({ durable, from: c.filters, to: filters }, 'memory bus consumer filters changed');
      c.filters = filters;
    }
    return c;
  }

  class MemorySubscription implements Subscription {
    private readonly ac: ReturnType<typeof linkedAbort>;
    private readonly running = new Set<Promise<void>>();
    private readonly loop: Promise<void>;
    private inFlight = 0;

    constructor(
      readonly durable: string,
      private readonly c: ConsumerState,
      private readonly o: ReturnType<typeof resolveSubscribeOptions>,
    ) {
      this.ac = linkedAbort(o.signal);
      this.ac.signal.addEventListener('abort', () => c.waker.wake(), { once: true });
      this.loop = this.run();
    }

    private async run(): Promise<void> {
      const { signal } = this.ac;
      while (!signal.aborted) {
        const now = Date.now();
        let next: PendingDelivery | undefined;
        let soonest = Infinity;
        for (const p of this.c.pending.values()) {
          if (p.inFlight) continue;
          if (p.notBefore <= now) {
            next = p;
            break;
          }
          soonest = Math.min(soonest, p.notBefore);
        }
        if (!next || this.inFlight >= this.o.maxInFlight) {
          await this.c.waker.wait(next || soonest === Infinity ? undefined : soonest - now);
          continue;
        }
        next.inFlight = true;
        next.deliveries++;
        this.inFlight++;
        const task = this.deliver(next).finally(() => {
          this.inFlight--;
          this.running.delete(task);
          this.c.waker.wake();
        });
        this.running.add(task);
      }
    }

    private async deliver(p: PendingDelivery): Promise<void> {
      let result: Outcome;
      try {
        result = await dispatchDelivery(
          {
            data: p.msg.data,
            seq: p.msg.seq,
            subject: p.msg.subject,
            deliveryCount: p.deliveries,
            signal: this.ac.signal,
            working: () => {},
          },
          { durable: this.durable, handler: this.o.handler, maxDeliver: this.o.maxDeliver, logger },
        );
      } catch (err) {
        // dispatchDelivery only throws if the logger does; keep the message rather than lose it.
        result = { type: 'nak', delayMs: 1_000 };
        logger.error({ err, durable: this.durable }, 'memory bus delivery failed');
      }
      p.inFlight = false;
      if (result.type === 'nak' && p.deliveries < this.o.maxDeliver) {
        p.notBefore = Date.now() + result.delayMs;
      } else {
        this.c.pending.delete(p.msg.seq);
      }
    }

    async close(): Promise<void> {
      this.ac.abort();
      await this.loop;
      await Promise.all([...this.running]);
      this.ac.dispose();
      active.delete(this);
    }
  }

  return {
    async publish(input: EventInput): Promise<void> {
      if (closed) throw new EventBusClosedError('event bus is closed');
      const ev = createEvent(input, source);
      const stored = store(eventSubject(names, ev), encodeEvent(ev), ev.id);
      logger.debug({ eventId: ev.id, type: ev.type, duplicate: !stored }, 'event published (memory)');
    },

    publishRaw(subject: string, data: Uint8Array, msgId?: string): void {
      if (!isValidSubject(subject) || subject.includes('*') || subject.includes('>')) {
        throw new TypeError(`publishRaw: invalid subject "${subject}"`);
      }
      if (names.ownsSubject(subject)) store(subject, data, msgId);
    },

    async subscribe(so: SubscribeOptions): Promise<Subscription> {
      if (closed) throw new EventBusClosedError('event bus is closed');
      const o = resolveSubscribeOptions(so, names.ownsSubject);
      const durable = assertDurableName(o.durable);
      const sub = new MemorySubscription(durable, consumerFor(durable, o.filterSubjects), o);
      active.add(sub);
      return sub;
    },

    async health(): Promise<BusHealth> {
      return closed ? { ok: false, detail: 'event bus closed' } : { ok: true, detail: 'in-memory event bus' };
    },

    async close(): Promise<void> {
      closed = true;
      await Promise.all([...active].map((s) => s.close()));
    },
  };
}
