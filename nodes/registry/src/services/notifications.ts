import type { Queryable } from '../../../../shared/db/pool.js';

/** The notification events a repository or namespace can subscribe to. */
export const NOTIFICATION_EVENTS = ['repo_push', 'tag_deleted'] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

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
  return {
    enqueue: async (db, n) => {
      const namespace = n.repository.split('/', 1)[0]!;
      await db.query({
        name: 'notification-enqueue',
        text: `INSERT INTO notification_deliveries (notification_id, event_id, event, payload)
               SELECT n.id, $4, $3, $5::jsonb FROM notifications n
               WHERE n.enabled AND n.event = $3 AND n.namespace = $2
                 AND (n.repository_id IS NULL OR n.repository_id = (SELECT id FROM repositories WHERE name = $1))
               ON CONFLICT (notification_id, event_id) DO NOTHING`,
        values: [n.repository, namespace, n.event, n.eventId, JSON.stringify({ repository: n.repository, namespace, ...n.data })],
      });
    },
  };
}
