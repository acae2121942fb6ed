import { randomUUID } from 'node:crypto';
import type { Context, Hono } from 'hono';
import type { AppEnv, Deps } from '../../deps.js';
import type { Paths } from './openapi.js';
import { jsonBody, oneOf, requireOrg, requireRepoRole, stringField, who } from './guard.js';
import { WharfError } from '../../../../../shared/errors/errcode.js';
import { INVALID_REQUEST, NAME_INVALID, NOT_FOUND } from '../../../../../shared/errors/codes.js';
import { isRepoName } from '../../../../../shared/oci/reference.js';
import {
  NOTIFICATION_EVENTS, createNotification, deleteNotification, findNotification, listDeliveries, listNotifications,
  queueTestDelivery, type DeliveryRow, type NotificationRow, type NotificationScope,
} from '../../services/notifications.js';
import { generateSecret } from '../../services/webhook-signature.js';

type Ctx = Context<AppEnv>;

/**
 * Webhook notifications, Quay's repositorynotification API, plus the same under an organization for notifications
 * on every repository of it. Creating, listing, reading and deleting need admin on the repository (or the
 * organization); the secret is shown once, in the answer to the creation. Deliveries are sent by the webhook worker
 * (services/webhook-worker.ts), never inside these requests.
 */

const MAX_URL = 2048;
const MAX_EVENT_CONFIG = 4096;

const repoParam = { name: 'repository', in: 'path', required: true, description: 'namespace/name (may contain more slashes)', schema: { type: 'string' } };
const orgParam = { name: 'org', in: 'path', required: true, schema: { type: 'string' } };
const uuidParam = { name: 'uuid', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const createBody = {
  required: true,
  content: {
    'application/json': {
      schema: {
        type: 'object',
        required: ['event', 'config'],
        properties: {
          event: { type: 'string', enum: [...NOTIFICATION_EVENTS] },
          method: { type: 'string', enum: ['webhook'], default: 'webhook' },
          config: {
            type: 'object', required: ['url'],
            properties: { url: { type: 'string', format: 'uri', maxLength: MAX_URL }, secret: { type: 'string', description: 'HMAC key; generated when omitted' } },
          },
          title: { type: 'string', maxLength: 255 },
          eventConfig: { type: 'object' },
        },
      },
    },
  },
};
const VIEW = '{uuid, title, event, method, config:{url}, event_config, enabled, number_of_failures, repository, namespace, created_by, created_at}';

function scopedPaths(base: string, param: Record<string, unknown>, who: string): Paths {
  return {
    [`${base}/notification/`]: {
      get: { summary: `Webhook notifications ${who}; needs admin`, tags: ['notifications'], parameters: [param], responses: { 200: { description: `{notifications:[${VIEW}]}` } } },
      post: {
        summary: `Create a webhook notification ${who} (events repo_push, tag_deleted); needs admin`,
        tags: ['notifications'], parameters: [param], requestBody: createBody,
        responses: { 201: { description: `${VIEW} plus secret (shown only here)` }, 400: { description: 'INVALID_REQUEST' } },
      },
    },
    [`${base}/notification/{uuid}`]: {
      get: { summary: 'One notification; needs admin', tags: ['notifications'], parameters: [param, uuidParam], responses: { 200: { description: VIEW }, 404: { description: 'no such notification' } } },
      delete: { summary: 'Delete a notification and its delivery history; needs admin', tags: ['notifications'], parameters: [param, uuidParam], responses: { 204: { description: 'deleted' } } },
    },
    [`${base}/notification/{uuid}/test`]: {
      post: {
        summary: 'Queue a delivery of a sample event (type io.wharf.test); needs admin',
        tags: ['notifications'], parameters: [param, uuidParam], responses: { 202: { description: '{delivery: id}; the worker sends it' } },
      },
    },
    [`${base}/notification/{uuid}/deliveries`]: {
      get: {
        summary: 'Delivery history, newest first; needs admin',
        tags: ['notifications'],
        parameters: [param, uuidParam, { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } }],
        responses: { 200: { description: '{deliveries:[{id, event_id, event, status (pending|delivered|failed), attempts, last_status, last_error, next_attempt_at, created_at, delivered_at}]}' } },
      },
    },
  };
}

export const paths: Paths = {
  ...scopedPaths('/api/v1/repository/{repository}', repoParam, 'on a repository'),
  ...scopedPaths('/api/v1/organization/{org}', orgParam, 'on every repository of an organization'),
};

interface Target {
  scope: NotificationScope;
  /** The repository, or null for a namespace-wide notification. */
  repository: string | null;
}

export function register(api: Hono<AppEnv>, deps: Deps): void {
  const repoTarget = async (c: Ctx, name: string): Promise<Target> => {
    if (!isRepoName(name)) throw new WharfError(NAME_INVALID, { detail: { name: name.slice(0, 300) } });
    const a = await requireRepoRole(c, deps, name, 'admin');
    return { scope: { namespace: name.split('/', 1)[0]!, repositoryId: a.repositoryId }, repository: name };
  };
  const orgTarget = async (c: Ctx): Promise<Target> => {
    const { org } = await requireOrg(c, deps, c.req.param('org') ?? '', 'admin');
    return { scope: { namespace: org.name, repositoryId: null }, repository: null };
  };

  const routes = (label: 'repo' | 'org', target: (c: Ctx) => Promise<Target>) => ({
    list: async (c: Ctx) => {
      c.set('route', `api-${label}-notifications`);
      const t = await target(c);
      return c.json({ notifications: (await listNotifications(deps.db, t.scope)).map(view) });
    },
    create: async (c: Ctx) => {
      c.set('route', `api-${label}-notifications`);
      const t = await target(c);
      return c.json(await createOne(c, deps, t), 201);
    },
    get: async (c: Ctx, uuid: string) => {
      c.set('route', `api-${label}-notification`);
      const t = await target(c);
      return c.json(view(await found(deps, t, uuid)));
    },
    remove: async (c: Ctx, uuid: string) => {
      c.set('route', `api-${label}-notification`);
      const t = await target(c);
      const n = await found(deps, t, uuid);
      await deleteNotification(deps.db, t.scope, n.id);
      await deps.audit.record({
        kind: 'delete_repo_notification', ...who(c), ...auditTarget(t),
        metadata: { uuid: n.id, event: n.event, method: n.method, title: n.title, host: hostOf(n.url) },
      });
      return c.body(null, 204);
    },
    test: async (c: Ctx, uuid: string) => {
      c.set('route', `api-${label}-notification-test`);
      const t = await target(c);
      const n = await found(deps, t, uuid);
      const id = await queueTestDelivery(deps.db, n.id, randomUUID(), samplePayload(n, t, c.get('principal')?.name ?? null));
      return c.json({ delivery: id }, 202);
    },
    deliveries: async (c: Ctx, uuid: string) => {
      c.set('route', `api-${label}-notification-deliveries`);
      const t = await target(c);
      const n = await found(deps, t, uuid);
      const limit = limitParam(c.req.query('limit'));
      return c.json({ deliveries: (await listDeliveries(deps.db, n.id, limit)).map(deliveryView) });
    },
  });

  // Repository names contain '/'. Hono's router does not reliably combine several `:repository{.+}` routes (one
  // catch-all `/repository/:repository{.+}` route hides the others), so this one middleware matches the rest of the
  // path itself: everything up to the last "/notification" is the repository; anything else goes on to other modules.
  api.use('/repository/*', async (c, next) => {
    const m = REPO_ROUTE.exec(c.req.path);
    if (!m) return next();
    const repo = routes('repo', (cc) => repoTarget(cc, m[1]!));
    const [uuid, action] = [m[2], m[3]];
    const method = c.req.method;
    if (uuid === undefined) {
      if (method === 'GET') return repo.list(c);
      if (method === 'POST') return repo.create(c);
    } else if (action === undefined) {
      if (method === 'GET') return repo.get(c, uuid);
      if (method === 'DELETE') return repo.remove(c, uuid);
    } else if (action === 'test' && method === 'POST') {
      return repo.test(c, uuid);
    } else if (action === 'deliveries' && method === 'GET') {
      return repo.deliveries(c, uuid);
    }
    return next();
  });

  const org = routes('org', orgTarget);
  api.get('/organization/:org/notification/', org.list);
  api.get('/organization/:org/notification', org.list);
  api.post('/organization/:org/notification/', org.create);
  api.post('/organization/:org/notification', org.create);
  api.get('/organization/:org/notification/:uuid', (c) => org.get(c, c.req.param('uuid')));
  api.delete('/organization/:org/notification/:uuid', (c) => org.remove(c, c.req.param('uuid')));
  api.post('/organization/:org/notification/:uuid/test', (c) => org.test(c, c.req.param('uuid')));
  api.get('/organization/:org/notification/:uuid/deliveries', (c) => org.deliveries(c, c.req.param('uuid')));
}

/** /api/v1/repository/<name>/notification[/][<uuid>[/test|/deliveries]]; the name is everything before the last match. */
const REPO_ROUTE = /^\/api\/v1\/repository\/(.+)\/notification(?:\/|\/([^/]+)(?:\/(test|deliveries))?)?$/;

async function createOne(c: Ctx, deps: Deps, t: Target): Promise<Record<string, unknown>> {
  const body = await jsonBody(c);
  const event = oneOf(body, 'event', NOTIFICATION_EVENTS)!;
  oneOf(body, 'method', ['webhook'] as const, false);
  const config = body.config;
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new WharfError(INVALID_REQUEST, { message: '"config" must be an object with the webhook "url"' });
  }
  const cfg = config as Record<string, unknown>;
  const url = webhookUrl(stringField(cfg, 'url', { required: true, max: MAX_URL })!);
  const givenSecret = stringField(cfg, 'secret', { max: 512 });
  if (givenSecret !== undefined && givenSecret.length < 1) throw new WharfError(INVALID_REQUEST, { message: '"secret" must not be empty' });
  const title = stringField(body, 'title', { max: 255 }) ?? '';
  const eventConfig = body.eventConfig ?? body.event_config ?? {};
  if (typeof eventConfig !== 'object' || eventConfig === null || Array.isArray(eventConfig)) {
    throw new WharfError(INVALID_REQUEST, { message: '"eventConfig" must be an object' });
  }
  if (JSON.stringify(eventConfig).length > MAX_EVENT_CONFIG) throw new WharfError(INVALID_REQUEST, { message: '"eventConfig" is too large' });
  const secret = givenSecret ?? generateSecret();
  const performer = who(c);
  const n = await createNotification(deps.db, t.scope, {
    event, title, url, secret, eventConfig: eventConfig as Record<string, unknown>, createdBy: performer.performer?.name ?? null,
  });
  await deps.audit.record({
    kind: 'add_repo_notification', ...performer, ...auditTarget(t),
    metadata: { uuid: n.id, event, method: 'webhook', title, host: hostOf(url) },
  });
  // The only time the secret leaves the server: the receiver needs it to verify X-Wharf-Signature-256.
  return { ...view(n), secret };
}

/** An absolute http(s) URL with a host; INVALID_REQUEST otherwise. */
function webhookUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new WharfError(INVALID_REQUEST, { message: '"config.url" is not a valid URL' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new WharfError(INVALID_REQUEST, { message: '"config.url" must be http or https' });
  if (!u.hostname) throw new WharfError(INVALID_REQUEST, { message: '"config.url" needs a host' });
  return raw;
}

function limitParam(raw: string | undefined): number {
  if (raw === undefined) return 50;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isInteger(n) || n < 1 || n > 500) throw new WharfError(INVALID_REQUEST, { message: '"limit" must be an integer 1-500' });
  return n;
}

async function found(deps: Deps, t: Target, id: string | undefined): Promise<NotificationRow> {
  const n = id ? await findNotification(deps.db, t.scope, id) : undefined;
  if (!n) throw new WharfError(NOT_FOUND, { message: 'notification not found', detail: { uuid: (id ?? '').slice(0, 100) } });
  return n;
}

function auditTarget(t: Target): { repository: string } | { namespace: string } {
  return t.repository ? { repository: t.repository } : { namespace: t.scope.namespace };
}

/** Quay's notification view; the secret is never part of it. */
function view(n: NotificationRow): Record<string, unknown> {
  return {
    uuid: n.id,
    title: n.title,
    event: n.event,
    method: n.method,
    config: { url: n.url },
    event_config: n.event_config,
    enabled: n.enabled,
    number_of_failures: n.number_of_failures,
    repository: n.repository,
    namespace: n.namespace,
    created_by: n.created_by,
    created_at: n.created_at.toISOString(),
  };
}

function deliveryView(d: DeliveryRow): Record<string, unknown> {
  return {
    id: d.id,
    event_id: d.event_id,
    event: d.event,
    status: d.status,
    attempts: d.attempts,
    last_status: d.last_status,
    last_error: d.last_error,
    next_attempt_at: d.status === 'pending' ? d.next_attempt_at.toISOString() : null,
    created_at: d.created_at.toISOString(),
    delivered_at: d.delivered_at ? d.delivered_at.toISOString() : null,
  };
}

/** What a real event of the notification's kind would carry, marked as a test. */
function samplePayload(n: NotificationRow, t: Target, by: string | null): Record<string, unknown> {
  const repository = t.repository ?? `${t.scope.namespace}/sample`;
  const digest = `sha256:${'0'.repeat(64)}`;
  const common = { test: true, notification: n.id, subscribedEvent: n.event, repository, namespace: t.scope.namespace, digest };
  return n.event === 'tag_deleted'
    ? { ...common, tag: 'latest', deletedBy: by }
    : { ...common, tag: 'latest', tags: ['latest'], pushedBy: by };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}
