import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  requests: Counter<'route' | 'method' | 'status'>;
  latency: Histogram<'route' | 'method'>;
  bytesIn: Counter<'route'>;
  bytesOut: Counter<'route'>;
  uploadsInFlight: Gauge;
  eventsPublished: Counter<'type' | 'outcome'>;
  gcDeleted: Counter<'kind'>;
}

/** One metrics registry per app instance (tests build several in one process). */
export function createMetrics(opts: { defaultMetrics: boolean }): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'wharf_process_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({ name: 'wharf_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers }),
    latency: new Histogram({
      name: 'wharf_http_request_duration_seconds', help: 'Request duration until the response finished, by route', labelNames: ['route', 'method'], registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    }),
    bytesIn: new Counter({ name: 'wharf_http_request_bytes_total', help: 'Request body bytes received', labelNames: ['route'], registers }),
    bytesOut: new Counter({ name: 'wharf_http_response_bytes_total', help: 'Response body bytes sent', labelNames: ['route'], registers }),
    uploadsInFlight: new Gauge({ name: 'wharf_uploads_in_flight', help: 'Blob upload requests currently streaming', registers }),
    eventsPublished: new Counter({ name: 'wharf_events_published_total', help: 'Events published, by type and outcome', labelNames: ['type', 'outcome'], registers }),
    gcDeleted: new Counter({ name: 'wharf_gc_deleted_total', help: 'Objects removed by garbage collection', labelNames: ['kind'], registers }),
  };
}
