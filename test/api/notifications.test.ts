import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { pushImage } from '../support/oci-client.js';
import { hashPassword } from '../../shared/auth/index.js';
import { withDb } from './helpers.js';
import { verifySignature } from '../../nodes/registry/src/services/webhook-signature.js';

/**
 * Webhook notifications end to end: the API on a token-auth node, fixtures pushed through an open node on the same
 * database, both nodes running the delivery worker on the shared outbox, and a real HTTP receiver that checks every
 * delivery's signature with the secret the API handed out.
 */
const REPO = 'team/app';
const ADMIN = 'Basic ' + Buffer.from('admin:Adm1n-pass-123').toString('base64');
const basic = (user: string) => 'Basic ' + Buffer.from(`${user}:${user}-Pass-123`).toString('base64');
const MAX_ATTEMPTS = 3;
const NOTIFY_ENV = {
  WHARF_NOTIFICATIONS_BACKOFF_BASE_SECONDS: '0',
  WHARF_NOTIFICATIONS_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
  WHARF_NOTIFICATIONS_POLL_SECONDS: '1',
  WHARF_NOTIFICATIONS_TIMEOUT_SECONDS: '5',
};

interface Received {
  hook: string;
  headers: Record<string, string | string[] | undefined>;
  raw: Buffer;
  event: CloudEvent;
  signatureValid: boolean;
}
interface CloudEvent {
  specversion: string; id: string; source: string; type: string; subject?: string; time: string; datacontenttype: string;
  data: Record<string, unknown>;
}
interface NotificationView {
  uuid: string; title: string; event: string; method: string; config: Record<string, unknown>; event_config: Record<string, unknown>;
  enabled: boolean; number_of_failures: number; repository: string | null; namespace: string; secret?: string;
}
interface Delivery {
  id: string; event_id: string; event: string; status: string; attempts: number; last_status: number | null; last_error: string | null;
  created_at: string; delivered_at: string | null;
}

let open: TestRegistry;
let tok: TestRegistry;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
/** The secret of each receiver path, as the API returned it. */
const secrets = new Map<string, string>();
/** How many more requests each path answers with 500 before answering 204. */
const failuresLeft = new Map<string, number>();

const api = (path: string, init: { method?: string; auth?: string | null; body?: unknown; raw?: string } = {}) => fetch(`${tok.url}/api/v1${path}`, {
  method: init.method ?? 'GET',
  headers: {
    ...(init.auth === null ? {} : { Authorization: init.auth ?? ADMIN }),
    ...(init.body !== undefined || init.raw !== undefined ? { 'Content-Type': 'application/json' } : {}),
  },
  ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : init.raw !== undefined ? { body: init.raw } : {}),
});

async function json<T>(r: Response, status: number): Promise<T> {
  const text = await r.text();
  assert.equal(r.status, status, text);
  return JSON.parse(text) as T;
}

async function errorOf(r: Response, status: number): Promise<string> {
  return (await json<{ errors: { code: string }[] }>(r, status)).errors[0]!.code;
}

const sql = <T extends Record<string, unknown>>(text: string, values: unknown[] = []) =>
  withDb(open.db.url, async (c) => (await c.query<T>(text, values)).rows);

/** Polls until `fn` returns a value; fails after a generous deadline (no assertion on how fast). */
async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, deadlineMs = 30_000): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const arrivedAt = (hook: string, pred: (r: Received) => boolean = () => true) => waitFor(`a delivery at ${hook}`, () => received.find((r) => r.hook === hook && pred(r)));

/** Creates a notification whose URL is the receiver at /<hook>; remembers the returned secret for verification. */
async function createHook(base: string, hook: string, event: string, extra: Record<string, unknown> = {}, url = `${receiverUrl}/${hook}`): Promise<NotificationView> {
  const n = await json<NotificationView>(await api(`${base}/notification/`, { method: 'POST', body: { event, method: 'webhook', config: { url, ...extra }, title: hook, eventConfig: {} } }), 201);
  assert.ok(n.secret, 'the secret is returned on creation');
  secrets.set(hook, n.secret);
  return n;
}

async function deliveries(base: string, uuid: string): Promise<Delivery[]> {
  return (await json<{ deliveries: Delivery[] }>(await api(`${base}/notification/${uuid}/deliveries?limit=100`), 200)).deliveries;
}

const enqueue = (event: 'repo_push' | 'tag_deleted', repository: string, data: Record<string, unknown>) => {
  const eventId = randomUUID();
  return open.node.deps.notifier.enqueue(open.node.deps.db, { event, repository, eventId, data }).then(() => eventId);
};

async function addUser(name: string, role: 'read' | 'write' | 'admin' | null): Promise<void> {
  const hash = await hashPassword(`${name}-Pass-123`);
  const [u] = await sql<{ id: string }>(`INSERT INTO accounts (name, kind, password_hash) VALUES ($1, 'user', $2) RETURNING id`, [name, hash]);
  if (role) {
    await sql(`INSERT INTO repository_permissions (repository_id, account_id, role) SELECT id, $2, $3 FROM repositories WHERE name = $1`, [REPO, u!.id, role]);
  }
}

describe('webhook notifications', () => {
  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const hook = (req.url ?? '/').slice(1);
        if (hook === 'redirect') {
          res.writeHead(302, { Location: `${receiverUrl}/redirected` }).end();
          return;
        }
        const left = failuresLeft.get(hook) ?? 0;
        if (left > 0) {
          failuresLeft.set(hook, left - 1);
          res.writeHead(500, { 'Content-Type': 'text/plain' }).end('receiver is having a bad day');
          return;
        }
        const raw = Buffer.concat(chunks);
        const secret = secrets.get(hook) ?? '';
        received.push({
          hook, headers: req.headers, raw, event: JSON.parse(raw.toString('utf8')) as CloudEvent,
          signatureValid: verifySignature(secret, raw, req.headers['x-wharf-signature-256'] as string | undefined),
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

    open = await startTestRegistry({ WHARF_AUTH_MODE: 'open', ...NOTIFY_ENV });
    tok = await startTestRegistry({ WHARF_ADMIN_USER: 'admin', WHARF_ADMIN_PASSWORD: 'Adm1n-pass-123', WHARF_AUTH_MODE: 'token', ...NOTIFY_ENV }, { db: open.db });
    await pushImage(open.url, REPO, 'v1');
    await sql(`INSERT INTO accounts (name, kind) VALUES ('acme', 'org')`);
    await pushImage(open.url, 'acme/one', 'v1');
    await pushImage(open.url, 'acme/two', 'v1');
    await sql(`UPDATE repositories SET visibility = 'private'`);
    await addUser('reader', 'read');
    await addUser('stranger', null);
  });
  after(async () => {
    await tok?.stop();
    await open?.stop();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  });

  test('creation returns the secret once; reads never show it', async () => {
    const n = await createHook(`/repository/${REPO}`, 'shape', 'repo_push', { secret: 'my-own-secret' });
    assert.equal(n.secret, 'my-own-secret');
    assert.deepEqual(n.config, { url: `${receiverUrl}/shape` });
    assert.equal(n.event, 'repo_push');
    assert.equal(n.method, 'webhook');
    assert.equal(n.repository, REPO);
    const generated = await createHook(`/repository/${REPO}`, 'shape2', 'tag_deleted');
    assert.ok(generated.secret!.length >= 32, 'a random secret is generated when none is given');

    const one = await json<NotificationView>(await api(`/repository/${REPO}/notification/${n.uuid}`), 200);
    assert.equal(one.uuid, n.uuid);
    assert.equal(one.secret, undefined);
    const list = await json<{ notifications: NotificationView[] }>(await api(`/repository/${REPO}/notification/`), 200);
    assert.deepEqual(list.notifications.map((x) => x.uuid).sort(), [n.uuid, generated.uuid].sort());
    assert.ok(list.notifications.every((x) => x.secret === undefined && !JSON.stringify(x).includes('my-own-secret')));

    const audit = await sql<{ kind: string }>(`SELECT kind FROM audit_log WHERE kind = 'add_repo_notification' AND repository = $1`, [REPO]);
    assert.ok(audit.length >= 2);
  });

  test('repo_push is delivered as a signed CloudEvent', async () => {
    const n = await createHook(`/repository/${REPO}`, 'push', 'repo_push');
    const digest = `sha256:${'a'.repeat(64)}`;
    const eventId = await enqueue('repo_push', REPO, { digest, tag: 'v1', tags: ['v1'], pushedBy: 'alice' });
    const got = await arrivedAt('push', (r) => r.event.id === eventId);

    assert.equal(got.headers['content-type'], 'application/cloudevents+json; charset=utf-8');
    assert.equal(got.headers['x-wharf-event'], 'repo_push');
    assert.ok(got.signatureValid, 'X-Wharf-Signature-256 verifies with the secret');
    const e = got.event;
    assert.equal(e.specversion, '1.0');
    assert.equal(e.type, 'io.wharf.repo_push');
    assert.equal(e.subject, REPO);
    assert.match(e.source, /^\/wharf\//);
    assert.equal(e.datacontenttype, 'application/json');
    assert.ok(!Number.isNaN(Date.parse(e.time)));
    assert.deepEqual({ ...e.data }, { repository: REPO, namespace: 'team', digest, tag: 'v1', tags: ['v1'], pushedBy: 'alice' });

    const history = await waitFor('the delivery marked delivered', async () =>
      (await deliveries(`/repository/${REPO}`, n.uuid)).find((d) => d.event_id === eventId && d.status === 'delivered'));
    assert.equal(got.headers['x-wharf-delivery'], history.id);
    assert.equal(history.attempts, 1);
    assert.equal(history.last_status, 204);
    assert.ok(history.delivered_at);
  });

  test('a push through /v2 notifies repo_push with the tag and digest', async () => {
    const pushed = await pushImage(open.url, REPO, 'v9');
    const got = await arrivedAt('push', (r) => r.event.data.digest === pushed.digest);
    assert.ok(got.signatureValid);
    assert.equal(got.event.type, 'io.wharf.repo_push');
    assert.equal(got.event.subject, REPO);
    assert.deepEqual(got.event.data.tags, ['v9']);
    assert.equal(got.event.data.namespace, 'team');
  });

  test('a tampered body or a wrong secret fails verification', async () => {
    const got = await arrivedAt('push');
    const header = got.headers['x-wharf-signature-256'] as string;
    assert.match(header, /^sha256=[0-9a-f]{64}$/);
    assert.ok(verifySignature(secrets.get('push')!, got.raw, header));
    const tampered = Buffer.from(got.raw.toString('utf8').replace('"team"', '"evil"'));
    assert.notDeepEqual(tampered, got.raw);
    assert.equal(verifySignature(secrets.get('push')!, tampered, header), false);
    assert.equal(verifySignature('not-the-secret', got.raw, header), false);
    assert.equal(verifySignature(secrets.get('push')!, got.raw, undefined), false);
  });

  test('tag_deleted is delivered when a tag is deleted through the API', async () => {
    await createHook(`/repository/${REPO}`, 'deleted', 'tag_deleted');
    const r = await api(`/repository/${REPO}/tag/v1`, { method: 'DELETE' });
    assert.equal(r.status, 204, await r.text());
    const got = await arrivedAt('deleted');
    assert.ok(got.signatureValid);
    assert.equal(got.event.type, 'io.wharf.tag_deleted');
    assert.equal(got.event.data.tag, 'v1');
    assert.equal(got.event.data.repository, REPO);
    assert.equal(got.event.data.deletedBy, 'admin');
    assert.match(String(got.event.data.digest), /^sha256:[0-9a-f]{64}$/);
    assert.equal(received.filter((x) => x.hook === 'push' && x.event.type !== 'io.wharf.repo_push').length, 0, 'a repo_push hook gets no tag_deleted');
  });

  test('an organization-wide notification fires for every repository of the organization only', async () => {
    const n = await createHook('/organization/acme', 'org', 'repo_push');
    assert.equal(n.repository, null);
    assert.equal(n.namespace, 'acme');
    const one = await enqueue('repo_push', 'acme/one', { digest: `sha256:${'1'.repeat(64)}`, tags: ['v1'] });
    const two = await enqueue('repo_push', 'acme/two', { digest: `sha256:${'2'.repeat(64)}`, tags: ['v1'] });
    const other = await enqueue('repo_push', REPO, { digest: `sha256:${'3'.repeat(64)}`, tags: ['v1'] });
    const a = await arrivedAt('org', (r) => r.event.id === one);
    const b = await arrivedAt('org', (r) => r.event.id === two);
    assert.equal(a.event.subject, 'acme/one');
    assert.equal(b.event.subject, 'acme/two');
    assert.ok(a.signatureValid && b.signatureValid);
    // The team/app event reached team/app's own hook; by then the org hook would have had it too if it matched.
    await arrivedAt('push', (r) => r.event.id === other);
    const rows = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM notification_deliveries WHERE notification_id = $1 AND event_id = $2`, [n.uuid, other]);
    assert.equal(rows[0]!.n, 0);
    const list = await json<{ notifications: NotificationView[] }>(await api('/organization/acme/notification/'), 200);
    assert.deepEqual(list.notifications.map((x) => x.uuid), [n.uuid]);
  });

  test('the test action queues a sample delivery and answers 202 at once', async () => {
    const n = await createHook(`/repository/${REPO}`, 'tested', 'repo_push');
    const r = await json<{ delivery: string }>(await api(`/repository/${REPO}/notification/${n.uuid}/test`, { method: 'POST' }), 202);
    const got = await arrivedAt('tested');
    assert.ok(got.signatureValid);
    assert.equal(got.event.type, 'io.wharf.test');
    assert.equal(got.headers['x-wharf-event'], 'test');
    assert.equal(got.headers['x-wharf-delivery'], r.delivery);
    assert.equal(got.event.data.test, true);
    assert.equal(got.event.data.repository, REPO);

    const org = await createHook('/organization/acme', 'org-tested', 'tag_deleted');
    await json(await api(`/organization/acme/notification/${org.uuid}/test`, { method: 'POST' }), 202);
    const o = await arrivedAt('org-tested');
    assert.equal(o.event.type, 'io.wharf.test');
    assert.equal(o.event.data.namespace, 'acme');
  });

  test('a receiver failing twice gets the delivery on the third attempt', async () => {
    const n = await createHook(`/repository/${REPO}`, 'flaky', 'repo_push');
    failuresLeft.set('flaky', 2);
    const eventId = await enqueue('repo_push', REPO, { digest: `sha256:${'f'.repeat(64)}`, tags: ['flaky'] });
    const got = await arrivedAt('flaky', (r) => r.event.id === eventId);
    assert.ok(got.signatureValid);
    const d = await waitFor('delivered after retries', async () =>
      (await deliveries(`/repository/${REPO}`, n.uuid)).find((x) => x.event_id === eventId && x.status === 'delivered'));
    assert.equal(d.attempts, 3);
    assert.equal(d.last_status, 204);
    assert.equal(d.last_error, null);
    assert.equal(received.filter((r) => r.hook === 'flaky').length, 1, 'one successful request; the two failures were retried');
  });

  test('a receiver that is down: failed after maxAttempts, shown in the history', async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/down`;
    await new Promise<void>((resolve) => dead.close(() => resolve()));

    const n = await createHook(`/repository/${REPO}`, 'down', 'repo_push', {}, deadUrl);
    const eventId = await enqueue('repo_push', REPO, { digest: `sha256:${'d'.repeat(64)}`, tags: ['down'] });
    const d = await waitFor('the delivery failed for good', async () =>
      (await deliveries(`/repository/${REPO}`, n.uuid)).find((x) => x.event_id === eventId && x.status === 'failed'));
    assert.equal(d.attempts, MAX_ATTEMPTS);
    assert.equal(d.last_status, null);
    assert.match(d.last_error ?? '', /ECONNREFUSED/);
    assert.equal(d.delivered_at, null);
    const view = await json<NotificationView>(await api(`/repository/${REPO}/notification/${n.uuid}`), 200);
    assert.equal(view.number_of_failures, 1);
  });

  test('redirects are not followed: each counts as a failed attempt', async () => {
    const n = await createHook(`/repository/${REPO}`, 'redirect', 'repo_push');
    const eventId = await enqueue('repo_push', REPO, { digest: `sha256:${'e'.repeat(64)}`, tags: ['redirect'] });
    const d = await waitFor('the redirected delivery failed', async () =>
      (await deliveries(`/repository/${REPO}`, n.uuid)).find((x) => x.event_id === eventId && x.status === 'failed'));
    assert.equal(d.attempts, MAX_ATTEMPTS);
    assert.equal(d.last_status, 302);
    assert.match(d.last_error ?? '', /redirect not followed/);
    assert.equal(received.filter((r) => r.hook === 'redirected').length, 0);
  });

  test('two nodes share the outbox: no delivery was sent twice', () => {
    const ids = received.map((r) => r.headers['x-wharf-delivery'] as string);
    assert.ok(ids.length > 5);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('only repository and organization admins manage notifications', async () => {
    const base = `/repository/${REPO}/notification/`;
    const body = { event: 'repo_push', config: { url: `${receiverUrl}/nope` } };
    assert.equal(await errorOf(await api(base, { method: 'POST', body, auth: basic('reader') }), 403), 'DENIED');
    assert.equal(await errorOf(await api(base, { auth: basic('reader') }), 403), 'DENIED');
    assert.equal(await errorOf(await api(base, { method: 'POST', body, auth: basic('stranger') }), 404), 'NOT_FOUND');
    assert.equal(await errorOf(await api(base, { auth: basic('stranger') }), 404), 'NOT_FOUND');
    // Anonymous callers are asked to authenticate, as for a repository that does not exist: nothing is revealed.
    assert.equal((await api(base, { auth: null })).status, 401);
    assert.equal((await api('/repository/team/does-not-exist/notification/', { auth: null })).status, 401);
    const [n] = (await json<{ notifications: NotificationView[] }>(await api(base), 200)).notifications;
    for (const path of [`${base}${n!.uuid}`, `${base}${n!.uuid}/deliveries`]) {
      assert.equal((await api(path, { auth: basic('reader') })).status, 403);
    }
    assert.equal((await api(`${base}${n!.uuid}/test`, { method: 'POST', auth: basic('reader') })).status, 403);
    assert.equal((await api(`${base}${n!.uuid}`, { method: 'DELETE', auth: basic('reader') })).status, 403);
    assert.equal(await errorOf(await api('/organization/acme/notification/', { auth: basic('reader') }), 404), 'NOT_FOUND');
    assert.equal(await errorOf(await api('/organization/acme/notification/', { method: 'POST', body, auth: basic('stranger') }), 404), 'NOT_FOUND');
    assert.equal((await api(`/repository/${REPO}/notification/`)).status, 200);
  });

  test('bad input is refused with 400, unknown ids with 404', async () => {
    const base = `/repository/${REPO}/notification/`;
    const bad: unknown[] = [
      { event: 'repo_pull', config: { url: `${receiverUrl}/x` } },
      { config: { url: `${receiverUrl}/x` } },
      { event: 'repo_push', method: 'email', config: { url: `${receiverUrl}/x` } },
      { event: 'repo_push' },
      { event: 'repo_push', config: 'http://example.com' },
      { event: 'repo_push', config: { url: 'ftp://example.com/hook' } },
      { event: 'repo_push', config: { url: 'not a url' } },
      { event: 'repo_push', config: { url: 'file:///etc/passwd' } },
      { event: 'repo_push', config: { url: `http://example.com/${'a'.repeat(2100)}` } },
      { event: 'repo_push', config: { url: 42 } },
      { event: 'repo_push', config: { url: 'https://example.com', secret: 7 } },
      { event: 'repo_push', config: { url: 'https://example.com' }, eventConfig: [] },
      { event: 'repo_push', config: { url: 'https://example.com' }, title: 5 },
    ];
    for (const body of bad) assert.equal(await errorOf(await api(base, { method: 'POST', body }), 400), 'INVALID_REQUEST', JSON.stringify(body).slice(0, 200));
    assert.equal(await errorOf(await api(base, { method: 'POST', raw: '{not json' }), 400), 'INVALID_REQUEST');
    assert.equal(await errorOf(await api(base, { method: 'POST', raw: '[]' }), 400), 'INVALID_REQUEST');

    const [n] = (await json<{ notifications: NotificationView[] }>(await api(base), 200)).notifications;
    for (const q of ['0', '-1', 'abc', '501', '1.5']) {
      assert.equal(await errorOf(await api(`${base}${n!.uuid}/deliveries?limit=${q}`), 400), 'INVALID_REQUEST', q);
    }
    assert.equal(await errorOf(await api(`${base}not-a-uuid`), 404), 'NOT_FOUND');
    assert.equal(await errorOf(await api(`${base}${randomUUID()}`), 404), 'NOT_FOUND');
    assert.equal(await errorOf(await api(`${base}${randomUUID()}/test`, { method: 'POST' }), 404), 'NOT_FOUND');
    // A repository's notification is not reachable through the organization, nor another repository's path.
    assert.equal(await errorOf(await api(`/organization/acme/notification/${n!.uuid}`), 404), 'NOT_FOUND');
    assert.equal(await errorOf(await api(`/repository/acme/one/notification/${n!.uuid}`), 404), 'NOT_FOUND');
    assert.equal(await errorOf(await api(`/repository/team/missing/notification/`), 404), 'NOT_FOUND');
  });

  test('delete removes the notification and its history, audited', async () => {
    const n = await createHook(`/repository/${REPO}`, 'gone', 'repo_push');
    await json(await api(`/repository/${REPO}/notification/${n.uuid}/test`, { method: 'POST' }), 202);
    await arrivedAt('gone');
    assert.equal((await api(`/repository/${REPO}/notification/${n.uuid}`, { method: 'DELETE' })).status, 204);
    assert.equal(await errorOf(await api(`/repository/${REPO}/notification/${n.uuid}`), 404), 'NOT_FOUND');
    assert.equal(await errorOf(await api(`/repository/${REPO}/notification/${n.uuid}/deliveries`), 404), 'NOT_FOUND');
    assert.equal((await api(`/repository/${REPO}/notification/${n.uuid}`, { method: 'DELETE' })).status, 404);
    const rows = await sql<{ n: number }>(`SELECT count(*)::int AS n FROM notification_deliveries WHERE notification_id = $1`, [n.uuid]);
    assert.equal(rows[0]!.n, 0);
    const audit = await sql<{ performer: string; metadata: { uuid: string } }>(
      `SELECT performer, metadata FROM audit_log WHERE kind = 'delete_repo_notification' AND repository = $1`, [REPO]);
    assert.deepEqual(audit.map((a) => [a.performer, a.metadata.uuid]), [['admin', n.uuid]]);
  });

  test('the notification routes are in the OpenAPI document', async () => {
    const doc = await json<{ paths: Record<string, unknown> }>(await api('/openapi.json'), 200);
    for (const p of ['/api/v1/repository/{repository}/notification/', '/api/v1/repository/{repository}/notification/{uuid}/deliveries',
      '/api/v1/organization/{org}/notification/{uuid}/test']) assert.ok(doc.paths[p], p);
  });
});
