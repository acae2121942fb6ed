import type { Pool, PoolClient } from '../../../../shared/db/pool.js';
import type { Config } from '../../../../shared/config/index.js';
import type { Logger } from '../../../../shared/logging/logger.js';
import { DELIVERY_CHANNEL } from './notifications.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signBody } from './webhook-signature.js';

/**
 * Sends the webhook outbox (notification_deliveries). Every registry node runs one (notifications.worker); they share
 * the table safely: a worker claims due rows with FOR UPDATE SKIP LOCKED and, in the same statement, pushes their
 * next_attempt_at past the send's timeout (a lease), so no other node takes a row while it is being sent and a row
 * whose sender died becomes due again once the lease runs out. Delivery is therefore at least once; receivers drop
 * duplicates by X-Wharf-Delivery.
 *
 * A 2xx answer delivers; anything else (including a redirect, which is never followed, and a timeout) counts an
 * attempt and schedules the next one after backoffBase·2^(attempts-1) seconds, capped at an hour, with jitter, until
 * maxAttempts, when the delivery is marked failed. The worker wakes every pollSeconds, on a Postgres NOTIFY sent when
 * deliveries are queued (by any node) and when one of its own sends finishes; it never throws out of its loop.
 */
export interface WebhookWorker {
  /** Stops claiming, waits for the sends in flight (each bounded by timeoutSeconds) and releases the listener. */
  stop(): Promise<void>;
}

/** Sends at once per node: enough for a burst of pushes, few enough that a slow receiver cannot exhaust sockets. */
const CONCURRENCY = 8;
/** How long past the send timeout a claimed row stays leased to this node. */
const LEASE_MARGIN_SECONDS = 30;
const MAX_BACKOFF_SECONDS = 3600;
/** The most of a receiver's answer that is read (and kept in last_error for a failure). */
const RESPONSE_CAP_BYTES = 512;
const USER_AGENT = 'Wharf-Webhooks/1';

interface Claimed {
  id: string;
  notification_id: string;
  event_id: string;
  event: string;
  payload: Record<string, unknown>;
  attempts: number;
  created_at: Date;
  url: string;
  secret: string;
}

export interface WorkerDeps {
  db: Pool;
  config: Config;
  log: Logger;
  region: string;
}

export function startWebhookWorker(deps: WorkerDeps): WebhookWorker {
  const cfg = deps.config.notifications;
  const log = deps.log.child({ component: 'webhooks' });
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  let woken = false;
  let wakeUp: (() => void) | undefined;
  const wake = () => {
    woken = true;
    wakeUp?.();
  };
  const nap = (ms: number) => new Promise<void>((resolve) => {
    if (woken || stopping) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      wakeUp = undefined;
      resolve();
    }
    wakeUp = done;
  });

  const listener = listen(deps.db, log, wake, () => stopping, cfg.pollSeconds);

  const loop = (async () => {
    while (!stopping) {
      woken = false;
      const room = CONCURRENCY - inFlight.size;
      if (room > 0) {
        let claimed: Claimed[] = [];
        try {
          claimed = await claim(deps.db, room, cfg.timeoutSeconds + LEASE_MARGIN_SECONDS);
        } catch (err) {
          log.warn({ err }, 'webhook outbox claim failed; retrying at the next poll');
        }
        for (const row of claimed) {
          const p: Promise<void> = deliver(deps, log, row)
            .catch((err: unknown) => log.error({ err, delivery: row.id }, 'webhook delivery bookkeeping failed; the row is retried when its lease ends'))
            .finally(() => {
              inFlight.delete(p);
              wake();
            });
          inFlight.add(p);
        }
      }
      await nap(cfg.pollSeconds * 1000);
    }
  })();

  return {
    stop: async () => {
      stopping = true;
      wake();
      await loop;
      await Promise.allSettled([...inFlight]);
      await listener.close();
    },
  };
}

async function claim(db: Pool, limit: number, leaseSeconds: number): Promise<Claimed[]> {
  const r = await db.query<Claimed>({
    name: 'webhook-claim',
    text: `UPDATE notification_deliveries d SET next_attempt_at = now() + make_interval(secs => $2)
           FROM notifications n
           WHERE n.id = d.notification_id AND d.id IN (
             SELECT id FROM notification_deliveries
             WHERE status = 'pending' AND next_attempt_at <= now()
             ORDER BY next_attempt_at LIMIT $1
             FOR UPDATE SKIP LOCKED)
           RETURNING d.id, d.notification_id, d.event_id, d.event, d.payload, d.attempts, d.created_at, n.url, n.secret`,
    values: [limit, leaseSeconds],
  });
  return r.rows;
}

/** The CloudEvents 1.0 structured-mode envelope of a delivery. */
export function cloudEvent(row: Pick<Claimed, 'event_id' | 'event' | 'payload' | 'created_at'>, region: string, registryHost: string | null): Record<string, unknown> {
  const data: Record<string, unknown> = { ...row.payload };
  const repository = typeof data.repository === 'string' ? data.repository : undefined;
  if (repository && registryHost) data.docker_url = `${registryHost}/${repository}`;
  return {
    specversion: '1.0',
    id: row.event_id,
    source: `/wharf/${region}`,
    type: `io.wharf.${row.event}`,
    ...(repository ? { subject: repository } : {}),
    time: new Date(row.created_at).toISOString(),
    datacontenttype: 'application/json',
    data,
  };
}

async function deliver(deps: WorkerDeps, log: Logger, row: Claimed): Promise<void> {
  const cfg = deps.config.notifications;
  const body = JSON.stringify(cloudEvent(row, deps.region, registryHost(deps.config)));
  const outcome = await send(row, body, cfg.timeoutSeconds);
  const attempts = row.attempts + 1;
  // Only the host is logged: webhook URLs often carry a token in their path (Slack, Teams), and never the secret.
  const where = { delivery: row.id, notification: row.notification_id, event: row.event, host: hostOf(row.url), attempts };
  if (outcome.ok) {
    await deps.db.query({
      name: 'webhook-delivered',
      text: `UPDATE notification_deliveries SET status = 'delivered', attempts = attempts + 1, last_status = $2, last_error = NULL,
               delivered_at = now() WHERE id = $1 AND status = 'pending'`,
      values: [row.id, outcome.status],
    });
    log.info({ ...where, status: outcome.status }, 'webhook delivered');
    return;
  }
  const failed = attempts >= cfg.maxAttempts;
  const delay = failed ? 0 : backoffSeconds(cfg.backoffBaseSeconds, attempts);
  await deps.db.query({
    name: 'webhook-attempt-failed',
    text: `UPDATE notification_deliveries SET attempts = attempts + 1, last_status = $2, last_error = $3,
             status = CASE WHEN $4::boolean THEN 'failed' ELSE 'pending' END,
             next_attempt_at = now() + make_interval(secs => $5)
           WHERE id = $1 AND status = 'pending'`,
    values: [row.id, outcome.status, outcome.error.slice(0, 1000), failed, delay],
  });
  log[failed ? 'warn' : 'info']({ ...where, status: outcome.status, error: outcome.error, retryInSeconds: failed ? undefined : Math.round(delay) },
    failed ? 'webhook delivery failed for good' : 'webhook attempt failed');
}

/** base·2^(attempts-1) seconds, at most an hour, jittered to 50-100% so failures of one burst do not retry in step. */
export function backoffSeconds(baseSeconds: number, attempts: number): number {
  const d = Math.min(MAX_BACKOFF_SECONDS, baseSeconds * 2 ** Math.max(0, attempts - 1));
  return d * (0.5 + Math.random() / 2);
}

type Outcome = { ok: true; status: number } | { ok: false; status: number | null; error: string };

async function send(row: Claimed, body: string, timeoutSeconds: number): Promise<Outcome> {
  let url: URL;
  try {
    url = new URL(row.url);
  } catch {
    return { ok: false, status: null, error: 'invalid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, status: null, error: `unsupported scheme ${url.protocol}` };
  // One signal bounds the whole exchange: connecting, the answer's headers and the capped read of its body.
  const signal = AbortSignal.timeout(timeoutSeconds * 1000);
  try {
    const res = await fetch(url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal,
      headers: {
        'Content-Type': 'application/cloudevents+json; charset=utf-8',
        'User-Agent': USER_AGENT,
        [SIGNATURE_HEADER]: signBody(row.secret, body),
        [DELIVERY_HEADER]: row.id,
        [EVENT_HEADER]: row.event,
      },
    });
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel().catch(() => {});
      return { ok: true, status: res.status };
    }
    const text = await readCapped(res, RESPONSE_CAP_BYTES);
    const what = res.status >= 300 && res.status < 400 ? `redirect not followed (HTTP ${res.status})` : `HTTP ${res.status}`;
    return { ok: false, status: res.status, error: text ? `${what}: ${text}` : what };
  } catch (err) {
    return { ok: false, status: null, error: describe(err, timeoutSeconds) };
  }
}

async function readCapped(res: Response, cap: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < cap) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A body cut off or timed out: what was read is enough for the error message.
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, cap).toString('utf8').replace(/\s+/g, ' ').trim();
}

function describe(err: unknown, timeoutSeconds: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `timed out after ${timeoutSeconds}s`;
  const cause = e?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ''}`;
  return cause?.message ?? e?.message ?? String(err);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid)';
  }
}

/** The registry's public host for docker_url: known only when the token realm is configured. */
function registryHost(config: Config): string | null {
  if (!config.auth.realm) return null;
  try {
    return new URL(config.auth.realm).host;
  } catch {
    return null;
  }
}

/**
 * LISTEN on the delivery channel on a dedicated pooled connection. Best effort: if the connection fails it is dropped
 * and retried after a poll interval, and polling alone still delivers everything meanwhile.
 */
function listen(db: Pool, log: Logger, onNotify: () => void, stopped: () => boolean, pollSeconds: number): { close(): Promise<void> } {
  let client: PoolClient | undefined;
  let retry: NodeJS.Timeout | undefined;
  let connecting: Promise<void> | undefined;
  const drop = (err?: unknown) => {
    const c = client;
    client = undefined;
    if (c) {
      c.removeAllListeners('notification');
      c.release(err instanceof Error ? err : true);
    }
  };
  const connect = async () => {
    try {
      const c = await db.connect();
      c.on('error', (err) => {
        if (client !== c) return;
        log.warn({ err }, 'webhook LISTEN connection lost; polling until it is back');
        drop(err);
        schedule();
      });
      c.on('notification', () => onNotify());
      client = c;
      await c.query(`LISTEN ${DELIVERY_CHANNEL}`);
      if (stopped()) drop();
    } catch (err) {
      if (!stopped()) log.warn({ err }, 'webhook LISTEN failed; polling until it works');
      drop(err);
      schedule();
    }
  };
  const schedule = () => {
    if (stopped() || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connecting = connect();
    }, Math.max(1000, pollSeconds * 1000));
    retry.unref();
  };
  connecting = connect();
  return {
    close: async () => {
      if (retry) clearTimeout(retry);
      retry = undefined;
      await connecting;
      const c = client;
      if (c) await c.query(`UNLISTEN ${DELIVERY_CHANNEL}`).catch(() => {});
      drop();
    },
  };
}
