/**
 * One delivery, decided the same way by every bus: decode + validate, run the handler, map exceptions to a
 * retry. Keeping it here is what makes "invalid payload is termed" and "a throw is a nak" identical on both buses.
 */
import { outcome, retryDelayMs, type DeliveryControl, type EventHandler, type Outcome } from './bus.js';
import type { EventLogger } from './logger.js';
import { decodeEvent } from './payloads.js';

export interface Delivery extends DeliveryControl {
  readonly data: Uint8Array;
  /** Stream sequence, for logs. */
  readonly seq: number;
}

export async function dispatchDelivery(
  d: Delivery,
  ctx: { durable: string; handler: EventHandler; maxDeliver: number; logger: EventLogger },
): Promise<Outcome> {
  const where = { durable: ctx.durable, subject: d.subject, seq: d.seq, deliveryCount: d.deliveryCount };
  let event;
  try {
    event = decodeEvent(d.data);
  } catch (err) {
    // Redelivering a malformed message can never succeed; term it and make noise so the producer gets fixed.
    ctx.logger.error({ ...where, err }, 'invalid event payload; terminating message');
    return outcome.term(`invalid payload: ${(err as Error).message}`.slice(0, 200));
  }
  let result: Outcome;
  try {
    result = await ctx.handler(event, d);
  } catch (err) {
    const retryInMs = retryDelayMs(d.deliveryCount);
    result = outcome.nak(retryInMs);
    ctx.logger.warn({ ...where, eventId: event.id, err, retryInMs }, 'event handler failed; will retry');
  }
  if (result.type === 'nak' && d.deliveryCount >= ctx.maxDeliver) {
    // The broker will not redeliver past maxDeliver; the reconciler is now the only path for this fact.
    ctx.logger.error({ ...where, eventId: event.id }, 'event delivery attempts exhausted; giving up on message');
  } else if (result.type === 'term') {
    ctx.logger.warn({ ...where, eventId: event.id, reason: result.reason }, 'event handler terminated message');
  }
  return result;
}
