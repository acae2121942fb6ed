import type { Queryable } from '../../../../shared/db/pool.js';
import { DELIVERY_CHANNEL, enqueueDeliveries } from '../../../../shared/db/notification-outbox.js';

/** The notification events a repository or namespace can subscribe to. */
export const NOTIFICATION_EVENTS = ['repo_push', 'tag_deleted', 'vulnerability_found'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** The event of a delivery queued by the API's "test" action (not subscribable). */
export const TEST_EVENT = 'test';

export { DELIVERY_CHANNEL };

export interface NotificationInput {
  event: NotificationEvent;
  repository: string;
  /** Stable id of the happening, so a retried request does not notify twice. */
  eventId: string;
  data: Record<string, unknown>;
}

export interface Notifier {
  /**
   * Queues deliveries for every enabled notification on the repository or its namespace that wants this event.
   * Writes rows only (inside the caller's transaction when given); the worker sends them.
   */
  enqueue(db: Queryable, n: NotificationInput): Promise<void>;
}

export function createNotifier(): Notifier {
  return { enqueue: enqueueDeliveries };
}

// ---- the notifications themselves, for the /api/v1 handlers ----

export interface NotificationRow {
  id: string;
  namespace: string;
  repository: string | null;
  event: string;
  method: string;
  title: string;
  url: string;
  event_config: Record<string, unknown>;
  enabled: boolean;
  created_by: string | null;
  created_at: Date;
  number_of_failures: number;
}

/** A notification's target: one repository (by id), or every repository of a namespace (repositoryId null). */
export interface NotificationScope {
  namespace: string;
  repositoryId: number | null;
}

const SELECT_NOTIFICATION = `
  SELECT n.id, n.namespace, r.name AS repository, n.event, n.method, n.title, n.url, n.event_config, n.enabled,
         n.created_by, n.created_at,
         (SELECT count(*)::int FROM notification_deliveries d WHERE d.notification_id = n.id AND d.status = 'failed') AS number_of_failures
  FROM notifications n LEFT JOIN repositories r ON r.id = n.repository_id`;

const SCOPE = `n.namespace = $1 AND n.repository_id IS NOT DISTINCT FROM $2::bigint`;

export async function createNotification(
  db: Queryable, scope: NotificationScope,
  n: { event: NotificationEvent; title: string; url: string; secret: string; eventConfig: Record<string, unknown>; createdBy: string | null },
): Promise<NotificationRow> {
  const r = await db.query<{ id: string }>(
    `INSERT INTO notifications (namespace, repository_id, event, method, title, url, secret, event_config, created_by)
     VALUES ($1, $2, $3, 'webhook', $4, $5, $6, $7::jsonb, $8) RETURNING id`,
    [scope.namespace, scope.repositoryId, n.event, n.title, n.url, n.secret, JSON.stringify(n.eventConfig), n.createdBy],
  );
  return (await findNotification(db, scope, r.rows[0]!.id))!;
}

export async function listNotifications(db: Queryable, scope: NotificationScope): Promise<NotificationRow[]> {
  const r = await db.query<NotificationRow>(`${SELECT_NOTIFICATION} WHERE ${SCOPE} ORDER BY n.created_at, n.id`, [scope.namespace, scope.repositoryId]);
  return r.rows;
}

/** The notification with this id in this scope; undefined otherwise (also for a string that is not a UUID). */
export async function findNotification(db: Queryable, scope: NotificationScope, id: string): Promise<NotificationRow | undefined> {
  if (!UUID_RE.test(id)) return undefined;
  const r = await db.query<NotificationRow>(`${SELECT_NOTIFICATION} WHERE ${SCOPE} AND n.id = $3`, [scope.namespace, scope.repositoryId, id]);
  return r.rows[0];
}

export async function deleteNotification(db: Queryable, scope: NotificationScope, id: string): Promise<boolean> {
  if (!UUID_RE.test(id)) return false;
  const r = await db.query(`DELETE FROM notifications n WHERE ${SCOPE} AND n.id = $3`, [scope.namespace, scope.repositoryId, id]);
  return (r.rowCount ?? 0) > 0;
}

/** Queues one delivery of the `test` event with `payload`; the worker sends it like any other. Returns its id. */
export async function queueTestDelivery(db: Queryable, notificationId: string, eventId: string, payload: Record<string, unknown>): Promise<string> {
  const r = await db.query<{ id: string }>(
    `WITH queued AS (
       INSERT INTO notification_deliveries (notification_id, event_id, event, payload) VALUES ($1, $2, '${TEST_EVENT}', $3::jsonb) RETURNING id)
     SELECT id, pg_notify('${DELIVERY_CHANNEL}', '') FROM queued`,
    [notificationId, eventId, JSON.stringify(payload)],
  );
  return r.rows[0]!.id;
}

export interface DeliveryRow {
  id: string;
  event_id: string;
  event: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  next_attempt_at: Date;
  last_status: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

/** A notification's deliveries, newest first. */
export async function listDeliveries(db: Queryable, notificationId: string, limit: number): Promise<DeliveryRow[]> {
  const r = await db.query<DeliveryRow>(
    `SELECT id, event_id, event, status, attempts, next_attempt_at, last_status, last_error, created_at, delivered_at
     FROM notification_deliveries WHERE notification_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
    [notificationId, limit],
  );
  return r.rows;
}

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
