/**
 * Publishing from request paths. An event follows a committed DB write; if it cannot be published the request
 * has still succeeded, and the reconciler repairs the gap (distribution's rule: never fail a request for an
 * event). Retries are safe because the message id is deterministic: a retry of a publish whose ack was lost is
 * dropped by the duplicate window.
 */
import { sleep } from './async-util.js';
import { EventBusClosedError, type EventBus } from './bus.js';
import type { EventLogger } from './logger.js';
import { EventValidationError, eventId, type EventInput } from './payloads.js';

export interface PublishSafelyOptions {
  /** Total tries. Default 3. */
  attempts?: number;
  /** Delay before the first retry; doubled for each further one. Default 200 ms. */
  retryDelayMs?: number;
}

/**
 * Publish and never throw. Resolves true when stored (or deduplicated), false when given up (logged at error
 * level with the event id, so the gap is traceable). Awaiting it adds latency while NATS is down (each attempt
 * waits up to the bus's publish timeout); request handlers may call it without awaiting.
 */
export async function publishSafely(
  bus: EventBus,
  event: EventInput,
  logger: EventLogger,
  opts: PublishSafelyOptions = {},
): Promise<boolean> {
  const attempts = Math.max(1, opts.attempts ?? 3);
  let delay = opts.retryDelayMs ?? 200;
  let id: string;
  try {
    id = eventId(event);
  } catch {
    id = '(unidentifiable)';
  }
  for (let attempt = 1; ; attempt++) {
    try {
      await bus.publish(event);
      return true;
    } catch (err) {
      // Bad data or a closed bus will not get better by retrying.
      const final = attempt >= attempts || err instanceof EventValidationError || err instanceof EventBusClosedError;
      if (final) {
        logger.error({ err, eventId: id, type: event.type, attempt }, 'event publish failed; giving up (reconciler will repair)');
        return false;
      }
      logger.warn({ err, eventId: id, type: event.type, attempt }, 'event publish failed; retrying');
      await sleep(delay);
      delay *= 2;
    }
  }
}
