/**
 * The event bus every node talks to. Two implementations: JetStream (jetstream-bus.ts) for real deployments and an
 * in-process one (memory-bus.ts) for the zero-setup embedded mode. Both pass the same behavioural suite
 * (bus-suite.ts), so code written against this interface behaves the same on either.
 */
import type { EventInput, WharfEvent } from './payloads.js';

/** What a handler decides about one delivery; mirrors JetStream's ack / nak(delay) / term. */
export type Outcome =
  | { type: 'ack' }
  | { type: 'nak'; delayMs: number }
  | { type: 'term'; reason: string };

/** Outcome constructors, so handlers read `return outcome.nak(5_000)`. */
export const outcome = Object.freeze({
  ack: (): Outcome => ({ type: 'ack' }),
  /** Retry later. The delay is a floor, not a schedule: redelivery may come later if the consumer is busy. */
  nak: (delayMs: number): Outcome => ({ type: 'nak', delayMs: Math.max(0, Math.round(delayMs)) }),
  /** Never redeliver (bad payload, blob gone): the handler should also log why at error level. */
  term: (reason: string): Outcome => ({ type: 'term', reason }),
});

export interface DeliveryControl {
  /** 1 on the first delivery, 2 on the first redelivery, ... */
  readonly deliveryCount: number;
  readonly subject: string;
  /** Aborted when the subscription closes; long handlers (blob copies) should stop and return a nak. */
  readonly signal: AbortSignal;
  /** Extend the ack deadline; call it periodically during long work so the message is not redelivered meanwhile. */
  working(): void;
}

export type EventHandler = (event: WharfEvent, ctl: DeliveryControl) => Promise<Outcome>;

export interface SubscribeOptions {
  /** Durable consumer name (see replicatorDurable/scannerDurable); instances sharing it share the work. */
  durable: string;
  /** NATS subject filters inside the stream ('*' = one token, '>' = the rest); see EventNames.filter. */
  filterSubjects: string[];
  /** Throwing counts as a retryable failure: nak with retryDelayMs(deliveryCount). */
  handler: EventHandler;
  /** Aborting it closes the subscription (same as Subscription.close). */
  signal?: AbortSignal;
  /** Handlers running at once for this subscription. Default 1. */
  maxInFlight?: number;
  /** Redeliver if a handler neither finishes nor calls working() within this time. Default 30 s. */
  ackWaitMs?: number;
  /** Deliveries before the bus gives up on a message (the reconciler covers it then). Default 50. */
  maxDeliver?: number;
}

export interface Subscription {
  readonly durable: string;
  /** Stop receiving, wait for running handlers; undelivered buffered messages are released for redelivery. */
  close(): Promise<void>;
}

export interface BusHealth {
  ok: boolean;
  detail?: string;
}

export interface EventBus {
  /**
   * Publish one fact. The bus stamps id (deterministic), source, time and specversion. Throws on invalid data
   * (EventValidationError) or when the broker cannot confirm storage; use publishSafely on request paths.
   */
  publish(event: EventInput): Promise<void>;
  subscribe(opts: SubscribeOptions): Promise<Subscription>;
  health(): Promise<BusHealth>;
  /** Close all subscriptions (waiting for their handlers), then the connection. Idempotent. */
  close(): Promise<void>;
}

export const SUBSCRIBE_DEFAULTS = Object.freeze({ maxInFlight: 1, ackWaitMs: 30_000, maxDeliver: 50 });

// Retry schedule for handler exceptions, by delivery count: quick first retries for blips (a source blob not yet
// visible), then minutes for real outages, capped so a recovered region is picked up within five minutes.
const RETRY_DELAYS_MS = [1_000, 5_000, 15_000, 60_000, 300_000];

export function retryDelayMs(deliveryCount: number): number {
  const i = Math.min(Math.max(deliveryCount, 1), RETRY_DELAYS_MS.length) - 1;
  return RETRY_DELAYS_MS[i] as number;
}

export class EventBusClosedError extends Error {
  override readonly name = 'EventBusClosedError';
}

export class EventBusUnavailableError extends Error {
  override readonly name = 'EventBusUnavailableError';
}

/** Shared option checks, so both buses reject the same mistakes with the same messages. */
export function resolveSubscribeOptions(
  opts: SubscribeOptions,
  ownsSubject: (s: string) => boolean,
): Required<Omit<SubscribeOptions, 'signal'>> & { signal?: AbortSignal } {
  if (opts.filterSubjects.length === 0) throw new TypeError('subscribe: filterSubjects must not be empty');
  for (const f of opts.filterSubjects) {
    if (!ownsSubject(f)) throw new TypeError(`subscribe: filter "${f}" is not a subject of this stream`);
  }
  const maxInFlight = opts.maxInFlight ?? SUBSCRIBE_DEFAULTS.maxInFlight;
  const ackWaitMs = opts.ackWaitMs ?? SUBSCRIBE_DEFAULTS.ackWaitMs;
  const maxDeliver = opts.maxDeliver ?? SUBSCRIBE_DEFAULTS.maxDeliver;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new TypeError('subscribe: maxInFlight must be >= 1');
  if (!Number.isInteger(ackWaitMs) || ackWaitMs < 100) throw new TypeError('subscribe: ackWaitMs must be >= 100');
  if (!Number.isInteger(maxDeliver) || maxDeliver < 1) throw new TypeError('subscribe: maxDeliver must be >= 1');
  return { ...opts, filterSubjects: [...new Set(opts.filterSubjects)], maxInFlight, ackWaitMs, maxDeliver };
}
