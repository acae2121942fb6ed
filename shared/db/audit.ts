import type { Queryable } from './pool.js';

/** Which rows a log query may see: the endpoint decides (repository, namespace, a user's own, everything). */
export type AuditScope =
  | { kind: 'repository'; repository: string }
  | { kind: 'namespace'; namespace: string }
  /** A user's logs: everything in their namespace and everything they performed anywhere. */
  | { kind: 'user'; name: string }
  | { kind: 'all' };

export interface AuditFilter {
  scope: AuditScope;
  /** Inclusive lower and exclusive upper bound on `at`. */
  start: Date;
  end: Date;
  performer?: string | undefined;
  kinds?: string[] | undefined;
}

/** Keyset position: the (at, id) of the last row returned; `at` kept as Postgres text so microseconds survive. */
export interface AuditCursor {
  at: string;
  id: string;
}

export interface AuditRow {
  id: string;
  at: Date;
  /** `at` to the microsecond (UTC, ISO 8601), for cursors. */
  atExact: string;
  kind: string;
  performer: string | null;
  performerKind: string | null;
  namespace: string | null;
  repository: string | null;
  ip: string | null;
  metadata: Record<string, unknown>;
}

const EXACT = `to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** WHERE clause and parameters for a filter; each scope matches one of audit_log's (x, at, id) indexes. */
function where(f: AuditFilter, params: unknown[]): string {
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const conds = [`at >= ${p(f.start)}`, `at < ${p(f.end)}`];
  switch (f.scope.kind) {
    case 'repository': conds.push(`repository = ${p(f.scope.repository)}`); break;
    case 'namespace': conds.push(`namespace = ${p(f.scope.namespace)}`); break;
    case 'user': {
      const n = p(f.scope.name);
      conds.push(`(namespace = ${n} OR performer = ${n})`);
      break;
    }
    case 'all': break;
  }
  if (f.performer !== undefined) conds.push(`performer = ${p(f.performer)}`);
  if (f.kinds && f.kinds.length > 0) conds.push(`kind = ANY(${p(f.kinds)}::text[])`);
  return conds.join(' AND ');
}

/** One page, newest first, strictly after `after` in that order; `limit + 1` rows are read to tell if more follow. */
export async function queryAuditLog(
  db: Queryable, f: AuditFilter, opts: { limit: number; after?: AuditCursor | undefined },
): Promise<{ rows: AuditRow[]; more: boolean }> {
  const params: unknown[] = [];
  let cond = where(f, params);
  if (opts.after) {
    params.push(opts.after.at, opts.after.id);
    cond += ` AND (at, id) < ($${params.length - 1}::timestamptz, $${params.length}::bigint)`;
  }
  params.push(opts.limit + 1);
  const r = await db.query<{
    id: string; at: Date; at_exact: string; kind: string; performer: string | null; performer_kind: string | null;
    namespace: string | null; repository: string | null; ip: string | null; metadata: Record<string, unknown>;
  }>(
    `SELECT id::text, at, ${EXACT} AS at_exact, kind, performer, performer_kind, namespace, repository, ip, metadata
     FROM audit_log WHERE ${cond} ORDER BY at DESC, id DESC LIMIT $${params.length}`,
    params,
  );
  const more = r.rows.length > opts.limit;
  const rows = r.rows.slice(0, opts.limit).map((x) => ({
    id: x.id, at: x.at, atExact: x.at_exact, kind: x.kind, performer: x.performer, performerKind: x.performer_kind,
    namespace: x.namespace, repository: x.repository, ip: x.ip, metadata: x.metadata,
  }));
  return { rows, more };
}

/** Counts per kind and UTC day, for the aggregate view. */
export async function aggregateAuditLog(db: Queryable, f: AuditFilter): Promise<{ kind: string; day: string; count: number }[]> {
  const params: unknown[] = [];
  const cond = where(f, params);
  const r = await db.query<{ kind: string; day: string; count: string }>(
    `SELECT kind, to_char(date_trunc('day', at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, count(*)::text AS count
     FROM audit_log WHERE ${cond} GROUP BY 1, 2 ORDER BY 2, 1`,
    params,
  );
  return r.rows.map((x) => ({ kind: x.kind, day: x.day, count: Number(x.count) }));
}

/**
 * Deletes at most `batch` rows older than `days` by the database's clock (one clock for every node), oldest first
 * through the index on at; returns how many went. Callers loop until fewer than `batch` were deleted, so no single
 * statement locks a huge range.
 */
export async function deleteAuditOlderThan(db: Queryable, days: number, batch: number): Promise<number> {
  const r = await db.query(
    `DELETE FROM audit_log WHERE id IN (
       SELECT id FROM audit_log WHERE at < now() - make_interval(days => $1::int) ORDER BY at LIMIT $2)`,
    [days, batch],
  );
  return r.rowCount ?? 0;
}
