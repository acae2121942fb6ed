import type { Pool, Queryable } from '../../../../shared/db/pool.js';
import type { Logger } from '../../../../shared/logging/logger.js';

/** One audit record: who (performer), what (kind, metadata), where from (ip), on what (namespace, repository). */
export interface AuditEntry {
  kind: string;
  performer?: { name: string; kind: string } | null;
  namespace?: string | null;
  repository?: string | null;
  ip?: string | null;
  metadata?: Record<string, unknown>;
}

export interface AuditLog {
  /** Writes now (inside the caller's transaction when `db` is one): for changes, which must not go unrecorded. */
  record(e: AuditEntry, db?: Queryable): Promise<void>;
  /** Queues for a batched write within a second: for pulls, so the hot read path costs no round trip. */
  recordLater(e: AuditEntry): void;
  /** Writes what is queued (shutdown, tests). */
  flush(): Promise<void>;
}

const BATCH = 500;

export function createAuditLog(db: Pool, log: Logger, opts: { flushMs?: number } = {}): AuditLog & { close(): Promise<void> } {
  let queue: AuditEntry[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();

  const write = async (q: Queryable, entries: AuditEntry[]): Promise<void> => {
    if (entries.length === 0) return;
    const cols = 7;
    const values: unknown[] = [];
    const rows = entries.map((e, i) => {
      values.push(e.kind, e.performer?.name ?? null, e.performer?.kind ?? null, e.namespace ?? (e.repository ? e.repository.split('/', 1)[0] : null),
        e.repository ?? null, e.ip ?? null, JSON.stringify(e.metadata ?? {}));
      return `(${Array.from({ length: cols }, (_, j) => `$${i * cols + j + 1}`).join(', ')})`;
    });
    await q.query(`INSERT INTO audit_log (kind, performer, performer_kind, namespace, repository, ip, metadata) VALUES ${rows.join(', ')}`, values);
  };

  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = queue;
    queue = [];
    writing = writing.then(async () => {
      for (let i = 0; i < batch.length; i += BATCH) {
        await write(db, batch.slice(i, i + BATCH)).catch((err: unknown) => log.error({ err, lost: Math.min(BATCH, batch.length - i) }, 'audit write failed'));
      }
    });
    return writing;
  };

  return {
    record: (e, q) => write(q ?? db, [e]),
    recordLater: (e) => {
      queue.push(e);
      if (queue.length >= BATCH) void flush();
      else timer ??= setTimeout(() => void flush(), opts.flushMs ?? 1000);
    },
    flush,
    close: flush,
  };
}
