import type { Deps } from '../deps.js';
import { deleteAuditOlderThan } from '../../../../shared/db/audit.js';

const BATCH = 5000;
const LOCK = 0x77617564; // 'waud': one node sweeps at a time
const INTERVAL_MS = 3600_000;

/**
 * Deletes audit rows older than `audit.retentionDays`, in batches so a large backlog (first run after lowering the
 * retention) never holds one long transaction. Returns how many rows went. Stops early when `signal` aborts.
 */
export async function sweepAuditLog(deps: Pick<Deps, 'db' | 'config' | 'log'>, opts: { batch?: number; signal?: AbortSignal } = {}): Promise<number> {
  const batch = opts.batch ?? BATCH;
  let total = 0;
  for (;;) {
    if (opts.signal?.aborted) break;
    const n = await deleteAuditOlderThan(deps.db, deps.config.audit.retentionDays, batch);
    total += n;
    if (n < batch) break;
  }
  if (total > 0) deps.log.info({ deleted: total, retentionDays: deps.config.audit.retentionDays }, 'audit log retention sweep');
  return total;
}

/** Runs the sweep shortly after start and then hourly, on one node at a time (advisory lock), until `signal` aborts. */
export function scheduleAuditRetention(deps: Deps, signal: AbortSignal, intervalMs = INTERVAL_MS): void {
  const run = async () => {
    const client = await deps.db.connect().catch((err: unknown) => {
      deps.log.warn({ err }, 'audit retention: no database connection');
      return undefined;
    });
    if (!client) return;
    try {
      const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${LOCK}) AS ok`);
      if (!rows[0]?.ok) return;
      try {
        await sweepAuditLog(deps, { signal });
      } finally {
        await client.query(`SELECT pg_advisory_unlock(${LOCK})`);
      }
    } catch (err) {
      deps.log.error({ err }, 'audit retention sweep failed');
    } finally {
      client.release();
    }
  };
  const first = setTimeout(() => void run(), 60_000);
  const timer = setInterval(() => void run(), intervalMs);
  first.unref();
  timer.unref();
  signal.addEventListener('abort', () => {
    clearTimeout(first);
    clearInterval(timer);
  }, { once: true });
}
