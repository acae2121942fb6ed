import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ReplicatorMetrics {
  registry: Registry;
  /** One per blob the replicator decided about: copied, already-present, gone, no-source, unavailable, corrupt, aborted. */
  copies: Counter<'outcome'>;
  bytesCopied: Counter;
  copyDuration: Histogram;
  inFlight: Gauge;
  /** Failed attempts against one source: corrupt (bad digest/size or bytes missing), unavailable, permanent. */
  failures: Counter<'kind'>;
  /** Handled events by type and what the handler told the broker (ack, nak, term, skip). */
  events: Counter<'type' | 'result'>;
}

/** One registry per node instance (tests run several in one process). */
export function createReplicatorMetrics(opts: { defaultMetrics: boolean }): ReplicatorMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'wharf_process_' });
  const registers = [registry];
  return {
    registry,
    copies: new Counter({ name: 'wharf_replication_copies_total', help: 'Blob replications by outcome', labelNames: ['outcome'], registers }),
    bytesCopied: new Counter({ name: 'wharf_replication_bytes_copied_total', help: 'Bytes copied into this region and verified', registers }),
    copyDuration: new Histogram({
      name: 'wharf_replication_copy_duration_seconds', help: 'Duration of successful blob copies (stream, verify, commit, stat)', registers,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 600, 1800],
    }),
    inFlight: new Gauge({ name: 'wharf_replication_copies_in_flight', help: 'Blob copies currently streaming', registers }),
    failures: new Counter({ name: 'wharf_replication_failures_total', help: 'Failed copy attempts by kind', labelNames: ['kind'], registers }),
    events: new Counter({ name: 'wharf_replicator_events_total', help: 'Events handled, by type and result', labelNames: ['type', 'result'], registers }),
  };
}
