/**
 * JetStream management plane: make the stream and durable consumers exist with the configuration this code
 * expects. Kept apart from the data plane (STYLE §5b). Every function is an idempotent add-or-update, so all node
 * instances can call it at start-up and after reconnects without coordination.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  NatsError,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  nanos,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from 'nats';
import type { EventLogger } from './logger.js';
import type { EventNames } from './subjects.js';

// NATS server error codes (JSStreamNotFoundErr, JSConsumerNotFoundErr, JSStreamNameExistErr).
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;
const STREAM_NAME_IN_USE = 10058;

export function jsErrorCode(err: unknown): number | undefined {
  return err instanceof NatsError ? err.api_error?.err_code : undefined;
}

export function isStreamNotFound(err: unknown): boolean {
  return jsErrorCode(err) === STREAM_NOT_FOUND;
}

export interface StreamSettings {
  /** 1 for a single server; 3 on the geo cluster so losing one server loses no events. */
  replicas: number;
  /** Window in which a repeated Nats-Msg-Id is dropped. */
  duplicateWindowMs: number;
  /** Events older than this are discarded; consumers that far behind rely on the reconciler. */
  maxAgeMs: number;
}

export const STREAM_DEFAULTS: Readonly<StreamSettings> = Object.freeze({
  replicas: 1,
  duplicateWindowMs: 5 * 60_000,
  maxAgeMs: 7 * 24 * 3600_000,
});

function desiredStream(names: EventNames, s: StreamSettings): Partial<StreamConfig> {
  return {
    name: names.stream,
    subjects: [...names.streamSubjects],
    storage: StorageType.File,
    // Limits (not work-queue) retention: several consumers (replicators, scanners) read the same messages.
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: s.replicas,
    duplicate_window: nanos(s.duplicateWindowMs),
    max_age: nanos(s.maxAgeMs),
  };
}

/** Create the stream, or bring an existing one to the desired settings. */
export async function ensureStream(
  jsm: JetStreamManager,
  names: EventNames,
  settings: StreamSettings,
  logger: EventLogger,
): Promise<void> {
  const want = desiredStream(names, settings);
  for (let attempt = 0; ; attempt++) {
    let current: StreamConfig;
    try {
      current = (await jsm.streams.info(names.stream)).config;
    } catch (err) {
      if (jsErrorCode(err) !== STREAM_NOT_FOUND) throw err;
      try {
        await jsm.streams.add(want);
        logger.info({ stream: names.stream, replicas: settings.replicas }, 'created event stream');
        return;
      } catch (addErr) {
        // Another instance created it between our info and add: loop once and compare with theirs.
        if (jsErrorCode(addErr) === STREAM_NAME_IN_USE && attempt === 0) continue;
        throw addErr;
      }
    }
    if (current.storage !== StorageType.File) {
      throw new Error(`stream ${names.stream} uses ${current.storage} storage; Wharf needs file storage (recreate it)`);
    }
    const drift =
      current.num_replicas !== want.num_replicas ||
      current.duplicate_window !== want.duplicate_window ||
      current.max_age !== want.max_age ||
      current.subjects.join(',') !== want.subjects?.join(',');
    if (drift) {
      await jsm.streams.update(names.stream, { ...current, ...want });
      logger.info({ stream: names.stream, replicas: settings.replicas }, 'updated event stream configuration');
    }
    return;
  }
}

export interface ConsumerSpec {
  name: string;
  filterSubject: string;
  ackWaitMs: number;
  maxDeliver: number;
}

/**
 * Durable, pull, explicit-ack consumer on one filter subject.
 *
 * No server-side `backoff`: on nats-server 2.9 a consumer with backoff stretches explicit nak delays (measured:
 * nak(500) on the second delivery came back after 3.5 s with a 3 s backoff, and not within 5 s with a 30 s one),
 * which breaks the handlers' own retry schedule. Retries are paced by the nak delays handlers (or retryDelayMs)
 * choose; an ack timeout (crashed or stuck handler) is redelivered after ack_wait.
 */
export async function ensureConsumer(jsm: JetStreamManager, stream: string, spec: ConsumerSpec): Promise<void> {
  const update = {
    ack_wait: nanos(spec.ackWaitMs),
    max_deliver: spec.maxDeliver,
    filter_subject: spec.filterSubject,
  };
  let current: ConsumerConfig | undefined;
  try {
    current = (await jsm.consumers.info(stream, spec.name)).config;
  } catch (err) {
    if (jsErrorCode(err) !== CONSUMER_NOT_FOUND) throw err;
  }
  if (!current) {
    // Adding an identical consumer twice is accepted by the server, so concurrent instances are safe here.
    await jsm.consumers.add(stream, {
      durable_name: spec.name,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      replay_policy: ReplayPolicy.Instant,
      ...update,
    });
    return;
  }
  const hasBackoff = (current.backoff ?? []).length > 0;
  const same =
    current.ack_wait === update.ack_wait &&
    current.max_deliver === update.max_deliver &&
    current.filter_subject === update.filter_subject &&
    !hasBackoff;
  if (!same) await jsm.consumers.update(stream, spec.name, { ...update, ...(hasBackoff ? { backoff: [] } : {}) });
}
