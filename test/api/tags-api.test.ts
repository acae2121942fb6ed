import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { pushImage, type PushedImage } from '../support/oci-client.js';
import { hashPassword } from '../../shared/auth/index.js';
import { withDb } from './helpers.js';

/**
 * The Quay-shaped tags API on a token-auth node, with fixtures pushed through an open node on the same database
 * (whose /v2 shows what the tags API changed).
 */
const REPO = 'team/app';
const ADMIN = 'Basic ' + Buffer.from('admin:Adm1n-pass-123').toString('base64');
const basic = (user: string) => 'Basic ' + Buffer.from(`${user}:${user}-Pass-123`).toString('base64');

interface TagEntry { name: string; manifest_digest: string; reversion: boolean; start_ts: number; end_ts?: number; last_modified: string; is_manifest_list?: boolean }
interface TagList { tags: TagEntry[]; page: number; has_additional: boolean }

let open: TestRegistry;
let tok: TestRegistry;
let a: PushedImage;
let b: PushedImage;

const api = (path: string, init: { method?: string; auth?: string | null; body?: unknown } = {}) => fetch(`${tok.url}/api/v1${path}`, {
  method: init.method ?? 'GET',
  headers: {
    ...(init.auth === null ? {} : { Authorization: init.auth ?? ADMIN }),
    ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
  },
  ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
});

async function json<T>(r: Response, status: number): Promise<T> {
  const text = await r.text();
  assert.equal(r.status, status, text);
  return JSON.parse(text) as T;
}

async function errorOf(r: Response, status: number): Promise<{ code: string; message: string }> {
  const body = await json<{ errors: { code: string; message: string }[] }>(r, status);
  return body.errors[0]!;
}

/** What /v2 on the open node serves for the tag: its digest, or the status when absent. */
async function served(tag: string): Promise<string | number> {
  const r = await fetch(`${open.url}/v2/${REPO}/manifests/${tag}`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  return r.status === 200 ? r.headers.get('docker-content-digest')! : r.status;
}

const sql = <T extends Record<string, unknown>>(text: string, values: unknown[] = []) =>
  withDb(open.db.url, async (c) => (await c.query<T>(text, values)).rows);

async function addUser(name: string, role: 'read' | 'write' | null): Promise<void> {
  const hash = await hashPassword(`${name}-Pass-123`);
  const [u] = await sql<{ id: string }>(`INSERT INTO accounts (name, kind, password_hash) VALUES ($1, 'user', $2) RETURNING id`, [name, hash]);
  if (role) {
    await sql(`INSERT INTO repository_permissions (repository_id, account_id, role) SELECT id, $2, $3 FROM repositories WHERE name = $1`, [REPO, u!.id, role]);
  }
}

const tagList = async (query = '', auth?: string) => json<TagList>(await api(`/repository/${REPO}/tag/${query}`, { auth }), 200);

describe('tags API', () => {
  before(async () => {
    open = await startTestRegistry({ WHARF_AUTH_MODE: 'open' });
    tok = await startTestRegistry({ WHARF_ADMIN_USER: 'admin', WHARF_ADMIN_PASSWORD: 'Adm1n-pass-123' }, { db: open.db });
    a = await pushImage(open.url, REPO, 'v1');
    b = await pushImage(open.url, REPO, 'v2');
    await sql(`UPDATE repositories SET visibility = 'private' WHERE name = $1`, [REPO]);
    await addUser('reader', 'read');
    await addUser('writer', 'write');
    await addUser('stranger', null);
  });
  after(async () => {
    await tok?.stop();
    await open?.stop();
  });

  test('lists the active tags with their manifests', async () => {
    const list = await tagList();
    const byName = new Map(list.tags.map((t) => [t.name, t]));
    assert.equal(byName.get('v1')?.manifest_digest, a.digest);
    assert.equal(byName.get('v2')?.manifest_digest, b.digest);
    for (const t of list.tags) {
      assert.equal(t.end_ts, undefined);
      assert.equal(t.reversion, false);
      assert.equal(t.is_manifest_list, false);
      assert.ok(Number.isInteger(t.start_ts));
      assert.ok(!Number.isNaN(Date.parse(t.last_modified)));
    }
    assert.equal(list.page, 1);
    assert.equal(list.has_additional, false);
  });

  test('moving a tag repoints /v2 and keeps the old period in the history', async () => {
    const moved = await json<{ previous_digest: string }>(await api(`/repository/${REPO}/tag/v1`, { method: 'PUT', auth: basic('writer'), body: { manifest_digest: b.digest } }), 201);
    assert.equal(moved.previous_digest, a.digest);
    assert.equal(await served('v1'), b.digest);

    const history = await tagList('?specificTag=v1');
    assert.deepEqual(history.tags.map((t) => [t.manifest_digest, t.end_ts === undefined]), [[b.digest, true], [a.digest, false]]);
    assert.ok(history.tags[1]!.end_ts! >= history.tags[1]!.start_ts);
    const active = await tagList('?specificTag=v1&onlyActiveTags=true');
    assert.deepEqual(active.tags.map((t) => t.manifest_digest), [b.digest]);

    const [row] = await sql<{ kind: string; performer: string; metadata: Record<string, unknown> }>(
      `SELECT kind, performer, metadata FROM audit_log WHERE repository = $1 AND kind = 'move_tag' ORDER BY id DESC LIMIT 1`, [REPO]);
    assert.deepEqual(row, { kind: 'move_tag', performer: 'writer', metadata: { tag: 'v1', digest: b.digest, previous: a.digest } });
  });

  test('creating a tag on an existing manifest, and refusing unknown manifests and bad input', async () => {
    await json(await api(`/repository/${REPO}/tag/fresh`, { method: 'PUT', body: { manifest_digest: a.digest } }), 201);
    assert.equal(await served('fresh'), a.digest);
    const [row] = await sql<{ kind: string }>(`SELECT kind FROM audit_log WHERE repository = $1 AND metadata->>'tag' = 'fresh'`, [REPO]);
    assert.equal(row?.kind, 'create_tag');

    const unknown = `sha256:${'0'.repeat(64)}`;
    assert.equal((await errorOf(await api(`/repository/${REPO}/tag/fresh`, { method: 'PUT', body: { manifest_digest: unknown } }), 404)).code, 'MANIFEST_UNKNOWN');
    assert.equal((await errorOf(await api(`/repository/${REPO}/tag/fresh`, { method: 'PUT', body: { manifest_digest: 'sha256:xyz' } }), 400)).code, 'INVALID_REQUEST');
    assert.equal((await errorOf(await api(`/repository/${REPO}/tag/fresh`, { method: 'PUT', body: {} }), 400)).code, 'INVALID_REQUEST');
    assert.equal((await errorOf(await api(`/repository/${REPO}/tag/fresh`, { method: 'PUT', body: [1] }), 400)).code, 'INVALID_REQUEST');
    assert.equal((await errorOf(await api(`/repository/${REPO}/tag/-bad`, { method: 'PUT', body: { manifest_digest: a.digest } }), 400)).code, 'TAG_INVALID');
    assert.equal((await errorOf(await api(`/repository/${REPO}/tag/?page=0`), 400)).code, 'INVALID_REQUEST');
    assert.equal((await errorOf(await api(`/repository/${REPO}/tag/?limit=101`), 400)).code, 'INVALID_REQUEST');
    assert.equal((await errorOf(await api(`/repository/${REPO}/tag/?onlyActiveTags=maybe`), 400)).code, 'INVALID_REQUEST');
    assert.equal((await errorOf(await api(`/repository/${REPO}/tag/?specificTag=%2Fx`), 400)).code, 'INVALID_REQUEST');
    assert.equal(await served('fresh'), a.digest);
  });

  test('deleting a tag removes it from /v2, records it, and keeps it in the history', async () => {
    const r = await api(`/repository/${REPO}/tag/v2`, { method: 'DELETE', auth: basic('writer') });
    assert.equal(r.status, 204, await r.text());
    assert.equal(await served('v2'), 404);
    assert.equal((await errorOf(await api(`/repository/${REPO}/tag/v2`, { method: 'DELETE' }), 404)).code, 'NOT_FOUND');

    const history = await tagList('?specificTag=v2');
    assert.equal(history.tags.length, 1);
    assert.equal(history.tags[0]!.manifest_digest, b.digest);
    assert.ok(history.tags[0]!.end_ts !== undefined);
    assert.deepEqual((await tagList('?specificTag=v2&onlyActiveTags=true')).tags, []);

    const rows = await sql<{ performer: string; metadata: Record<string, unknown> }>(
      `SELECT performer, metadata FROM audit_log WHERE repository = $1 AND kind = 'delete_tag'`, [REPO]);
    assert.deepEqual(rows, [{ performer: 'writer', metadata: { tag: 'v2', digest: b.digest } }]);
  });

  test('restoring points the tag back and marks the period as a reversion', async () => {
    const restored = await json<{ manifest_digest: string; previous_digest: string | null }>(
      await api(`/repository/${REPO}/tag/v2/restore`, { method: 'POST', auth: basic('writer'), body: { manifest_digest: b.digest } }), 200);
    assert.deepEqual(restored, { name: 'v2', manifest_digest: b.digest, previous_digest: null });
    assert.equal(await served('v2'), b.digest);
    // v1 was moved from a to b: restoring its previous manifest
    await json(await api(`/repository/${REPO}/tag/v1/restore`, { method: 'POST', body: { manifest_digest: a.digest } }), 200);
    assert.equal(await served('v1'), a.digest);

    const v2 = await tagList('?specificTag=v2');
    assert.equal(v2.tags[0]!.end_ts, undefined);
    assert.equal(v2.tags[0]!.reversion, true);
    assert.equal(v2.tags[1]!.reversion, false);
    const v1 = await tagList('?specificTag=v1');
    assert.deepEqual(v1.tags.map((t) => [t.manifest_digest, t.reversion, t.end_ts === undefined]), [
      [a.digest, true, true], [b.digest, false, false], [a.digest, false, false],
    ]);
    const kinds = await sql<{ metadata: Record<string, unknown> }>(`SELECT metadata FROM audit_log WHERE repository = $1 AND kind = 'revert_tag' ORDER BY id`, [REPO]);
    assert.deepEqual(kinds.map((k) => k.metadata), [
      { tag: 'v2', digest: b.digest, previous: null },
      { tag: 'v1', digest: a.digest, previous: b.digest },
    ]);
  });

  test('restore is refused outside the window, for a manifest the tag never had, and for a deleted manifest', async () => {
    await json(await api(`/repository/${REPO}/tag/old`, { method: 'PUT', body: { manifest_digest: a.digest } }), 201);
    assert.equal((await api(`/repository/${REPO}/tag/old`, { method: 'DELETE' })).status, 204);
    await sql(`UPDATE tag_history SET at = at - interval '30 days' WHERE tag = 'old'`);
    const expired = await errorOf(await api(`/repository/${REPO}/tag/old/restore`, { method: 'POST', body: { manifest_digest: a.digest } }), 400);
    assert.equal(expired.code, 'INVALID_REQUEST');
    assert.match(expired.message, /restore window/);
    assert.equal(await served('old'), 404);

    const never = await errorOf(await api(`/repository/${REPO}/tag/v2/restore`, { method: 'POST', body: { manifest_digest: a.digest } }), 404);
    assert.match(never.message, /never pointed/);

    const c = await pushImage(open.url, REPO, 'gone');
    const del = await fetch(`${open.url}/v2/${REPO}/manifests/${c.digest}`, { method: 'DELETE' });
    assert.equal(del.status, 202);
    const gone = await errorOf(await api(`/repository/${REPO}/tag/gone/restore`, { method: 'POST', body: { manifest_digest: c.digest } }), 404);
    assert.equal(gone.code, 'MANIFEST_UNKNOWN');
    assert.equal(await served('gone'), 404);
    // The deleted manifest's period is still listed, without is_manifest_list (nothing to say it was one).
    const history = await tagList('?specificTag=gone');
    assert.equal(history.tags.length, 1);
    assert.equal(history.tags[0]!.is_manifest_list, undefined);
  });

  test('a restore window from the configuration applies', async () => {
    const short = await startTestRegistry({ WHARF_ADMIN_USER: 'admin', WHARF_ADMIN_PASSWORD: 'Adm1n-pass-123', WHARF_TAGS_RESTORE_WINDOW_SECONDS: '60' }, { db: open.db });
    try {
      await json(await api(`/repository/${REPO}/tag/brief`, { method: 'PUT', body: { manifest_digest: a.digest } }), 201);
      assert.equal((await api(`/repository/${REPO}/tag/brief`, { method: 'DELETE' })).status, 204);
      await sql(`UPDATE tag_history SET at = at - interval '2 minutes' WHERE tag = 'brief'`);
      const restore = () => fetch(`${short.url}/api/v1/repository/${REPO}/tag/brief/restore`, {
        method: 'POST', headers: { Authorization: ADMIN, 'Content-Type': 'application/json' }, body: JSON.stringify({ manifest_digest: a.digest }),
      });
      assert.equal((await errorOf(await restore(), 400)).code, 'INVALID_REQUEST');
      // The default window (14 days) of the other node still allows it.
      await json(await api(`/repository/${REPO}/tag/brief/restore`, { method: 'POST', body: { manifest_digest: a.digest } }), 200);
      assert.equal(await served('brief'), a.digest);
    } finally {
      await short.stop();
    }
  });

  test('pages through the history', async () => {
    const all = await tagList('?limit=100');
    assert.ok(all.tags.length >= 6);
    const seen: TagEntry[] = [];
    for (let page = 1; ; page++) {
      const p = await tagList(`?limit=2&page=${page}`);
      assert.equal(p.page, page);
      seen.push(...p.tags);
      if (!p.has_additional) break;
      assert.equal(p.tags.length, 2);
    }
    assert.deepEqual(seen, all.tags);
    for (let i = 1; i < all.tags.length; i++) assert.ok(all.tags[i - 1]!.start_ts >= all.tags[i]!.start_ts);
  });

  test('permissions: read may list, only write may change; strangers see nothing of a private repo, anonymous is asked to authenticate', async () => {
    await tagList('', basic('reader'));
    for (const [method, path, body] of [
      ['PUT', '/tag/v1', { manifest_digest: b.digest }],
      ['DELETE', '/tag/v1', undefined],
      ['POST', '/tag/v1/restore', { manifest_digest: b.digest }],
    ] as const) {
      assert.equal((await errorOf(await api(`/repository/${REPO}${path}`, { method, body, auth: basic('reader') }), 403)).code, 'DENIED');
      assert.equal((await errorOf(await api(`/repository/${REPO}${path}`, { method, body, auth: basic('stranger') }), 404)).code, 'NOT_FOUND');
      // Anonymous callers are asked to authenticate, whether or not the repository exists (guard.ts).
      assert.equal((await errorOf(await api(`/repository/${REPO}${path}`, { method, body, auth: null }), 401)).code, 'UNAUTHORIZED');
      assert.equal((await errorOf(await api(`/repository/nosuch/repo${path}`, { method, body, auth: null }), 401)).code, 'UNAUTHORIZED');
    }
    assert.equal((await api(`/repository/${REPO}/tag/`, { auth: basic('stranger') })).status, 404);
    assert.equal((await api(`/repository/${REPO}/tag/`, { auth: null })).status, 401);
    assert.equal((await api(`/repository/${REPO}/tag/`, { auth: basic('nobody') })).status, 401);
    assert.equal(await served('v1'), a.digest);

    await sql(`UPDATE repositories SET visibility = 'public' WHERE name = $1`, [REPO]);
    try {
      await tagList('', basic('stranger'));
      assert.equal((await errorOf(await api(`/repository/${REPO}/tag/v1`, { method: 'DELETE', auth: basic('stranger') }), 403)).code, 'DENIED');
      assert.equal((await errorOf(await api(`/repository/${REPO}/tag/v1`, { method: 'DELETE', auth: null }), 401)).code, 'UNAUTHORIZED');
    } finally {
      await sql(`UPDATE repositories SET visibility = 'private' WHERE name = $1`, [REPO]);
    }
  });

  test('the OpenAPI document lists the endpoints', async () => {
    const doc = await json<{ paths: Record<string, Record<string, unknown>> }>(await api('/openapi.json'), 200);
    assert.deepEqual(Object.keys(doc.paths['/api/v1/repository/{repository}/tag/'] ?? {}), ['get']);
    assert.deepEqual(Object.keys(doc.paths['/api/v1/repository/{repository}/tag/{tag}'] ?? {}).sort(), ['delete', 'put']);
    assert.deepEqual(Object.keys(doc.paths['/api/v1/repository/{repository}/tag/{tag}/restore'] ?? {}), ['post']);
  });
});
