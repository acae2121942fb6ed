/** Public surface of shared/events. Internals (dispatch, async-util) stay private to the package. */
export {
  EVENT_KINDS,
  EventNameError,
  assertDurableName,
  assertRegion,
  eventNames,
  isRegion,
  isValidSubject,
  replicatorDurable,
  scannerDurable,
  subjectMatches,
  type EventKind,
  type EventNames,
} from './subjects.js';
export {
  EVENT_TYPES,
  EventValidationError,
  createEvent,
  decodeEvent,
  encodeEvent,
  eventId,
  eventKind,
  eventSource,
  eventSubject,
  routingRegion,
  validateEvent,
  type BlobDeletedData,
  type BlobDeletedEvent,
  type BlobWrittenData,
  type BlobWrittenEvent,
  type EventDataOf,
  type EventDescriptor,
  type EventEnvelope,
  type EventInput,
  type EventOf,
  type EventType,
  type ManifestDeletedData,
  type ManifestDeletedEvent,
  type ManifestPushedData,
  type ManifestPushedEvent,
  type ReplicationDoneData,
  type ReplicationDoneEvent,
  type WharfEvent,
} from './payloads.js';
export {
  EventBusClosedError,
  EventBusUnavailableError,
  SUBSCRIBE_DEFAULTS,
  outcome,
  retryDelayMs,
  type BusHealth,
  type DeliveryControl,
  type EventBus,
  type EventHandler,
  type Outcome,
  type SubscribeOptions,
  type Subscription,
} from './bus.js';
export { connectJetStreamBus, type JetStreamBusOptions } from './jetstream-bus.js';
export { createMemoryBus, type MemoryBusOptions, type MemoryEventBus } from './memory-bus.js';
export { publishSafely, type PublishSafelyOptions } from './publisher.js';
export { STREAM_DEFAULTS, ensureConsumer, ensureStream, type ConsumerSpec, type StreamSettings } from './streams.js';
export { silentLogger, type EventLogger } from './logger.js';
