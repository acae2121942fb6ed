import { Gauge, type Registry } from 'prom-client';

export interface RegionSnapshot {
  region: string;
  backlog: { blobs: number; bytes: number; oldestPendingAgeSeconds: number };
  failedBlobs: number;
  lag: { p50Ms: number | null; p99Ms: number | null };
  placed: { blobs: number; bytes: number };
}

/**
 * Replication state as Prometheus gauges, read from Postgres at scrape time (every node of every region sees the
 * same global numbers, so any node can be scraped).
 */
export function registerReplicationMetrics(registry: Registry, snapshot: () => Promise<RegionSnapshot[]>): void {
  let pending: Promise<RegionSnapshot[]> | undefined;
  // One query round per scrape, however many gauges ask.
  const current = () => (pending ??= snapshot().finally(() => setTimeout(() => (pending = undefined), 1000).unref()));
  const gauge = (name: string, help: string, pick: (r: RegionSnapshot) => number | null, extra: string[] = []) =>
    new Gauge({
      name, help, labelNames: ['region', ...extra], registers: [registry],
      async collect() {
        this.reset();
        for (const r of await current()) {
          const v = pick(r);
          if (v !== null) this.set({ region: r.region }, v);
        }
      },
    });
  gauge('wharf_replication_backlog_blobs', 'Blobs a region must hold but does not yet', (r) => r.backlog.blobs);
  gauge('wharf_replication_backlog_bytes', 'Bytes a region must hold but does not yet', (r) => r.backlog.bytes);
  gauge('wharf_replication_oldest_pending_seconds', 'Age of the oldest blob a region still lacks', (r) => r.backlog.oldestPendingAgeSeconds);
  gauge('wharf_replication_failed_blobs', 'Blobs whose copy into the region is failing', (r) => r.failedBlobs);
  gauge('wharf_replication_placed_blobs', 'Blobs held by the region', (r) => r.placed.blobs);
  gauge('wharf_replication_lag_p50_seconds', 'Median replication lag (commit to placement) over the status window', (r) => (r.lag.p50Ms === null ? null : r.lag.p50Ms / 1000));
  gauge('wharf_replication_lag_p99_seconds', '99th percentile replication lag over the status window', (r) => (r.lag.p99Ms === null ? null : r.lag.p99Ms / 1000));
}
