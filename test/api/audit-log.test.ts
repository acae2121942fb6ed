import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { pushImage, type PushedImage } from '../support/oci-client.js';
import { hashPassword } from '../../shared/auth/index.js';
import { sweepAuditLog } from '../../nodes/registry/src/services/audit-retention.js';
import { withDb } from './helpers.js';

/**
 * The audit log API on a token-auth node. Most rows are written by SQL at fixed times in March 2026, so filters and
 * paging are checked against known data; a few come from real requests.
 */
const REPO = 'acme/app';
const ADMIN = 'Basic ' + Buffer.from('admin:Adm1n-pass-123').toString('base64');
const basic = (user: string) => 'Basic ' + Buffer.from(`${user}:${user}-Pass-123`).toString('base64');
const RANGE = 'starttime=2026-03-10T00:00:00Z&endtime=2026-03-12T00:00:00Z';

interface LogEntry {
  kind: string;
  metadata: Record<string, unknown>;
  ip: string | null;
  datetime: string;
  performer: { name: string; kind: string } | null;
  namespace: string | null;
  repository: string | null;
}
interface LogPage { start_time: string; end_time: string; logs: LogEntry[]; next_page?: string }

let open: TestRegistry;
let tok: TestRegistry;
let image: PushedImage;

const sql = <T extends Record<string, unknown>>(text: string, values: unknown[] = []) =>
  withDb(open.db.url, async (c) => (await c.query<T>(text, values)).rows);

const get = (path: string, auth: string | null = ADMIN) => fetch(`${tok.url}/api/v1${path}`, { headers: auth ? { Authorization: auth } : {} });

async function json<T>(r: Response, status = 200): Promise<T> {
  const text = await r.text();
  assert.equal(r.status, status, text);
  return JSON.parse(text) as T;
}

async function code(r: Response, status: number): Promise<string> {
  return (await json<{ errors: { code: string }[] }>(r, status)).errors[0]!.code;
}

/** Every page from `path` (which has a query string), following next_page; asserts each page's size. */
async function allPages(path: string, limit: number, auth: string = ADMIN): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  let next: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const page = await json<LogPage>(await get(`${path}&limit=${limit}${next ? `&next_page=${next}` : ''}`, auth));
    out.push(...page.logs);
    if (!page.next_page) {
      assert.ok(page.logs.length <= limit);
      return out;
    }
    assert.equal(page.logs.length, limit);
    next = page.next_page;
  }
  assert.fail('paging never ended');
}

async function addUser(name: string): Promise<string> {
  const [u] = await sql<{ id: string }>(`INSERT INTO accounts (name, kind, password_hash) VALUES ($1, 'user', $2) RETURNING id`, [name, await hashPassword(`${name}-Pass-123`)]);
  return u!.id;
}

/** Fixture rows: 130 in acme/app (three per second, so `at` ties are common), plus other namespaces. */
const KINDS = ['push_repo', 'pull_repo', 'delete_tag', 'move_tag', 'create_tag'];
const PERFORMERS = ['dev', 'orgadmin', null];
const N = 130;

describe('audit log API', () => {
  before(async () => {
    open = await startTestRegistry({ WHARF_AUTH_MODE: 'open' });
    tok = await startTestRegistry({ WHARF_ADMIN_USER: 'admin', WHARF_ADMIN_PASSWORD: 'Adm1n-pass-123' }, { db: open.db });
    image = await pushImage(open.url, REPO, 'v1');
    await sql(`UPDATE repositories SET visibility = 'private' WHERE name = $1`, [REPO]);

    const [org] = await sql<{ id: string }>(`INSERT INTO accounts (name, kind) VALUES ('acme', 'org') RETURNING id`);
    const orgadmin = await addUser('orgadmin');
    const member = await addUser('member');
    const repoadmin = await addUser('repoadmin');
    await addUser('dev');
    await addUser('stranger');
    const [owners] = await sql<{ id: string }>(`INSERT INTO teams (org_id, name, role) VALUES ($1, 'owners', 'admin') RETURNING id`, [org!.id]);
    const [devs] = await sql<{ id: string }>(`INSERT INTO teams (org_id, name, role) VALUES ($1, 'devs', 'member') RETURNING id`, [org!.id]);
    await sql(`INSERT INTO team_members (team_id, account_id) VALUES ($1, $2), ($3, $4)`, [owners!.id, orgadmin, devs!.id, member]);
    await sql(`INSERT INTO repository_permissions (repository_id, account_id, role) SELECT id, $2, 'write' FROM repositories WHERE name = $1`, [REPO, member]);
    await sql(`INSERT INTO repository_permissions (repository_id, account_id, role) SELECT id, $2, 'admin' FROM repositories WHERE name = $1`, [REPO, repoadmin]);

    await sql(
      `INSERT INTO audit_log (at, kind, performer, performer_kind, namespace, repository, ip, metadata)
       SELECT timestamptz '2026-03-10 12:00:00Z' + (i / 3) * interval '1 second', ($1::text[])[1 + i % 5], ($2::text[])[1 + i % 3],
              CASE WHEN i % 3 = 2 THEN NULL ELSE 'user' END, 'acme', 'acme/app', '10.0.0.' || (i % 7), jsonb_build_object('seq', i)
       FROM generate_series(0, $3::int - 1) AS i`,
      [KINDS, PERFORMERS, N],
    );
    // The next day (for the MM/DD/YYYY end bound), another org's repository, dev's namespace, dev acting elsewhere.
    await sql(
      `INSERT INTO audit_log (at, kind, performer, performer_kind, namespace, repository, metadata) VALUES
       ('2026-03-11 08:00:00Z', 'push_repo', 'orgadmin', 'user', 'acme', 'acme/app', '{"seq": "next-day"}'),
       ('2026-03-10 13:00:00Z', 'push_repo', 'someone', 'user', 'other', 'other/app', '{"seq": "other"}'),
       ('2026-03-10 13:00:01Z', 'push_repo', 'dev', 'user', 'other', 'other/app', '{"seq": "dev-elsewhere"}'),
       ('2026-03-10 13:00:02Z', 'create_repo', 'dev+ci', 'robot', 'dev', 'dev/tool', '{"seq": "dev-namespace"}'),
       ('2026-03-10 13:00:03Z', 'delete_tag', 'someone', 'user', 'dev', 'dev/tool', '{"seq": "dev-namespace-2"}')`,
    );
  });
  after(async () => {
    await tok?.stop();
    await open?.stop();
  });

  test('pages through a repository log newest first, every row exactly once', async () => {
    const expected = await sql<{ seq: unknown }>(
      `SELECT metadata->'seq' AS seq FROM audit_log WHERE repository = $1 AND at >= '2026-03-10Z' AND at < '2026-03-12Z' ORDER BY at DESC, id DESC`, [REPO]);
    assert.equal(expected.length, N + 1);
    for (const limit of [7, 500]) {
      const rows = await allPages(`/repository/${REPO}/logs?${RANGE}`, limit);
      assert.deepEqual(rows.map((r) => r.metadata.seq), expected.map((e) => e.seq), `limit ${limit}`);
    }
    // One row per page across rows sharing a timestamp: the id breaks the tie.
    const ones = await allPages(`/repository/${REPO}/logs?starttime=2026-03-10T12:00:10Z&endtime=2026-03-10T12:00:15Z`, 1);
    assert.deepEqual(ones.map((r) => r.metadata.seq), Array.from({ length: 15 }, (_, i) => 44 - i));
    const first = await json<LogPage>(await get(`/repository/${REPO}/logs?${RANGE}`));
    assert.equal(first.logs.length, 50);
    assert.equal(first.start_time, '2026-03-10T00:00:00.000Z');
    assert.equal(first.end_time, '2026-03-12T00:00:00.000Z');
    const e = first.logs.find((l) => l.metadata.seq === 125);
    assert.deepEqual(e, {
      kind: KINDS[0], metadata: { seq: 125 }, ip: '10.0.0.6', datetime: '2026-03-10T12:00:41.000000Z',
      performer: null, namespace: 'acme', repository: REPO,
    });
    assert.deepEqual(first.logs.find((l) => l.metadata.seq === 124)?.performer, { name: 'orgadmin', kind: 'user' });
  });

  test('filters by kind, performer and time', async () => {
    const kinds = await allPages(`/repository/${REPO}/logs?${RANGE}&kind=delete_tag,pull_repo`, 20);
    assert.equal(kinds.length, 52);
    assert.ok(kinds.every((l) => l.kind === 'delete_tag' || l.kind === 'pull_repo'));

    const byDev = await allPages(`/repository/${REPO}/logs?${RANGE}&performer=dev`, 50);
    assert.equal(byDev.length, Math.ceil(N / 3));
    assert.ok(byDev.every((l) => l.performer?.name === 'dev'));
    const both = await allPages(`/repository/${REPO}/logs?${RANGE}&performer=dev&kind=push_repo`, 50);
    assert.deepEqual(both.map((l) => l.metadata.seq), byDev.filter((l) => l.kind === 'push_repo').map((l) => l.metadata.seq));

    // [12:00:10, 12:00:20): seconds 10..19, three rows each.
    const window = await allPages(`/repository/${REPO}/logs?starttime=2026-03-10T12:00:10Z&endtime=2026-03-10T12:00:20Z`, 50);
    assert.deepEqual(window.map((l) => l.metadata.seq), Array.from({ length: 30 }, (_, i) => 59 - i));
    const offset = await allPages(`/repository/${REPO}/logs?starttime=2026-03-10T13:00:10%2B01:00&endtime=2026-03-10T13:00:20%2B01:00`, 50);
    assert.deepEqual(offset, window);

    // Quay's MM/DD/YYYY: the end day is included whole.
    const day = await allPages(`/repository/${REPO}/logs?starttime=03/10/2026&endtime=03/10/2026`, 500);
    assert.equal(day.length, N);
    const twoDays = await allPages(`/repository/${REPO}/logs?starttime=03/10/2026&endtime=3/11/2026`, 500);
    assert.equal(twoDays.length, N + 1);
    assert.equal(twoDays[0]!.metadata.seq, 'next-day');
  });

  test('aggregates counts per kind and day', async () => {
    const agg = await json<{ aggregated: { kind: string; count: number; datetime: string }[] }>(await get(`/repository/${REPO}/aggregatelogs?${RANGE}`));
    const day10 = agg.aggregated.filter((x) => x.datetime === '2026-03-10T00:00:00.000Z');
    assert.deepEqual(Object.fromEntries(day10.map((x) => [x.kind, x.count])), { create_tag: 26, delete_tag: 26, move_tag: 26, pull_repo: 26, push_repo: 26 });
    assert.deepEqual(agg.aggregated.filter((x) => x.datetime === '2026-03-11T00:00:00.000Z'), [{ kind: 'push_repo', count: 1, datetime: '2026-03-11T00:00:00.000Z' }]);
  });

  test('scopes: organization, user (own namespace and own actions) and superuser', async () => {
    const org = await allPages(`/organization/acme/logs?${RANGE}`, 100, basic('orgadmin'));
    assert.equal(org.length, N + 1);
    assert.ok(org.every((l) => l.namespace === 'acme'));

    const mine = await allPages(`/user/logs?${RANGE}`, 100, basic('dev'));
    const seqs = new Set(mine.map((l) => l.metadata.seq));
    assert.ok(seqs.has('dev-namespace') && seqs.has('dev-namespace-2') && seqs.has('dev-elsewhere'));
    assert.ok(!seqs.has('other'));
    assert.ok(mine.every((l) => l.namespace === 'dev' || l.performer?.name === 'dev'));
    assert.equal(mine.length, 3 + Math.ceil(N / 3));
    assert.deepEqual(mine.find((l) => l.metadata.seq === 'dev-namespace')!.performer, { name: 'dev+ci', kind: 'robot' });

    const everything = await allPages(`/superuser/logs?${RANGE}`, 500);
    assert.equal(everything.length, N + 1 + 4);
  });

  test('permissions', async () => {
    const repoLogs = `/repository/${REPO}/logs?${RANGE}&limit=1`;
    await json(await get(repoLogs, basic('repoadmin')));
    await json(await get(repoLogs, basic('orgadmin')));
    assert.equal(await code(await get(repoLogs, basic('member')), 403), 'DENIED');
    assert.equal(await code(await get(repoLogs, basic('stranger')), 404), 'NOT_FOUND');
    assert.equal(await code(await get(repoLogs, null), 401), 'UNAUTHORIZED');
    assert.equal(await code(await get(`/repository/acme/nosuch/logs`, basic('stranger')), 404), 'NOT_FOUND');

    const orgLogs = `/organization/acme/logs?${RANGE}&limit=1`;
    assert.equal(await code(await get(orgLogs, basic('member')), 403), 'DENIED');
    assert.equal(await code(await get(orgLogs, basic('repoadmin')), 404), 'NOT_FOUND');
    assert.equal(await code(await get(orgLogs, null), 401), 'UNAUTHORIZED');
    assert.equal(await code(await get(`/organization/nosuch/logs`), 404), 'NOT_FOUND');
    assert.equal(await code(await get(`/organization/acme/aggregatelogs`, basic('member')), 403), 'DENIED');

    assert.equal(await code(await get(`/user/logs`, null), 401), 'UNAUTHORIZED');
    assert.equal(await code(await get(`/superuser/logs`, basic('dev')), 403), 'DENIED');
    assert.equal(await code(await get(`/superuser/aggregatelogs`, basic('orgadmin')), 403), 'DENIED');
  });

  test('bad parameters are 400 INVALID_REQUEST', async () => {
    const cursor = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    for (const q of [
      'starttime=yesterday', 'endtime=2026-13-40', 'starttime=13/45/2026', 'starttime=02/30/2026', 'starttime=2026-03-10T25:00:00Z',
      'starttime=2026-03-12&endtime=2026-03-10', 'limit=0', 'limit=501', 'limit=abc', 'limit=-1',
      'kind=Bad!', 'kind=', 'kind=,,', 'performer=', `performer=${'x'.repeat(300)}`,
      'next_page=%%%', 'next_page=bm90IGpzb24', `next_page=${cursor({ at: 1 })}`, `next_page=${cursor(['2026-03-10', '1'])}`,
      `next_page=${cursor(['2026-03-10T12:00:00.000000Z', '-1'])}`,
    ]) {
      for (const path of [`/repository/${REPO}/logs`, '/superuser/logs']) {
        assert.equal(await code(await get(`${path}?${q}`), 400), 'INVALID_REQUEST', `${path}?${q}`);
      }
    }
    assert.equal(await code(await get(`/repository/${REPO}/aggregatelogs?starttime=nope`), 400), 'INVALID_REQUEST');
  });

  test('real actions are recorded and listed with the default time range', async () => {
    const r = await fetch(`${tok.url}/api/v1/repository/${REPO}/tag/latest`, {
      method: 'PUT', headers: { Authorization: ADMIN, 'Content-Type': 'application/json' }, body: JSON.stringify({ manifest_digest: image.digest }),
    });
    assert.equal(r.status, 201, await r.text());
    const page = await json<LogPage>(await get(`/repository/${REPO}/logs?kind=create_tag,push_repo`));
    assert.deepEqual(page.logs.map((l) => [l.kind, l.performer?.name ?? null]), [['create_tag', 'admin'], ['push_repo', null]]);
    assert.deepEqual(page.logs[0]!.metadata, { tag: 'latest', digest: image.digest, previous: null });
    assert.ok(Date.parse(page.start_time) < Date.parse(page.logs[1]!.datetime));
  });

  test('retention deletes rows older than audit.retentionDays, in batches, and nothing newer', async () => {
    await sql(
      `INSERT INTO audit_log (at, kind, namespace, metadata)
       SELECT now() - make_interval(days => d), 'retention_probe', 'probe', jsonb_build_object('days', d)
       FROM unnest(ARRAY[400, 200, 120, 91, 91, 89, 10, 0]) AS d`,
    );
    const before = await sql<{ n: string }>(`SELECT count(*)::text AS n FROM audit_log`);
    const deps = tok.node.deps;
    assert.equal(deps.config.audit.retentionDays, 90);
    // The March 2026 fixtures are older than 90 days too, unless the clock says otherwise: count what should go.
    const [old] = await sql<{ n: string }>(`SELECT count(*)::text AS n FROM audit_log WHERE at < now() - interval '90 days'`);
    const deleted = await sweepAuditLog(deps, { batch: 3 });
    assert.equal(deleted, Number(old!.n));
    const probes = await sql<{ days: number }>(`SELECT (metadata->>'days')::int AS days FROM audit_log WHERE kind = 'retention_probe' ORDER BY 1 DESC`);
    assert.deepEqual(probes.map((p) => p.days), [89, 10, 0]);
    const [afterCount] = await sql<{ n: string }>(`SELECT count(*)::text AS n FROM audit_log`);
    assert.equal(Number(afterCount!.n), Number(before[0]!.n) - deleted);
    assert.equal(await sweepAuditLog(deps, { batch: 3 }), 0);
  });

  test('the OpenAPI document lists the log endpoints', async () => {
    const doc = await json<{ paths: Record<string, unknown> }>(await get('/openapi.json'));
    for (const p of ['/api/v1/repository/{repository}/logs', '/api/v1/organization/{org}/logs', '/api/v1/user/logs', '/api/v1/superuser/logs',
      '/api/v1/repository/{repository}/aggregatelogs', '/api/v1/organization/{org}/aggregatelogs']) {
      assert.ok(doc.paths[p], p);
    }
  });
});
