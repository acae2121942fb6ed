import type { Queryable } from './pool.js';

/**
 * Postgres NOTIFY channel that wakes the webhook workers when deliveries were queued. NOTIFY is sent on commit only,
 * so a worker never wakes for rows it cannot see yet, and every node listening (not just this one) wakes.
 */
export const DELIVERY_CHANNEL = 'wharf_webhook_deliveries';

export interface OutboxInput {
  event: string;
  repository: string;
  /** Stable id of the happening, so a retried request does not notify twice. */
  eventId: string;
  data: Record<string, unknown>;
}

/**
 * Queues a delivery for every enabled notification on the repository or its namespace that wants this event:
 * rows only (inside the caller's transaction when given); the registry's webhook workers send them. Shared by the
 * registry (pushes, deletes) and the scanner (vulnerabilities found).
 */
export async function enqueueDeliveries(db: Queryable, n: OutboxInput): Promise<void> {
  const namespace = n.repository.split('/', 1)[0]!;
  // The data-modifying CTE runs to completion; the NOTIFY is sent only when it queued something.
  await db.query({
    name: 'notification-enqueue',
    text: `WITH queued AS (
             INSERT INTO notification_deliveries (notification_id, event_id, event, payload)
             SELECT n.id, $4, $3, $5::jsonb FROM notifications n
             WHERE n.enabled AND n.event = $3 AND n.namespace = $2
               AND (n.repository_id IS NULL OR n.repository_id = (SELECT id FROM repositories WHERE name = $1))
             ON CONFLICT (notification_id, event_id) DO NOTHING
             RETURNING 1)
           SELECT pg_notify('${DELIVERY_CHANNEL}', '') FROM queued LIMIT 1`,
    values: [n.repository, namespace, n.event, n.eventId, JSON.stringify({ repository: n.repository, namespace, ...n.data })],
  });
}
