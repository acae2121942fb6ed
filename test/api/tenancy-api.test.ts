// The Quay-shaped tenancy API through real HTTP on a token-auth node with a real Postgres: users, organizations,
// teams, robots, app tokens, repositories, grants, default permissions, and the escalations they must refuse.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';

const ADMIN = { user: 'admin', pass: 'Adm1n-pass-123' };
const PASS = 'correct-horse-battery';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

let reg: TestRegistry;
let db: pg.Pool;
/** acme+ci's current token, for the permission tests. */
let ciToken = '';

interface Reply { status: number; body: any; text: string }

async function call(method: string, path: string, auth?: string, body?: unknown): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (auth) headers.authorization = auth;
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    headers['content-type'] = 'application/json';
  }
  const r = await fetch(`${reg.url}/api/v1${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  const text = await r.text();
  let parsed: any;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
  return { status: r.status, body: parsed, text };
}

function expectStatus(r: Reply, status: number, what = ''): void {
  assert.equal(r.status, status, `${what} expected ${status}, got ${r.status}: ${r.text.slice(0, 400)}`);
}

function expectError(r: Reply, status: number, code: string, what = ''): void {
  expectStatus(r, status, what);
  assert.ok(Array.isArray(r.body?.errors), `error envelope expected: ${r.text.slice(0, 300)}`);
  assert.equal(r.body.errors[0].code, code, `${what} ${r.text.slice(0, 300)}`);
}

async function auditKinds(where: string, ...values: unknown[]): Promise<string[]> {
  const r = await db.query<{ kind: string }>(`SELECT kind FROM audit_log WHERE ${where} ORDER BY id`, values);
  return r.rows.map((x) => x.kind);
}

const su = basic(ADMIN.user, ADMIN.pass);
const alice = basic('alice', PASS);
const bob = basic('bob', PASS);
const carol = basic('carol', PASS);
const dave = basic('dave', PASS);

describe('tenancy API', () => {
  before(async () => {
    reg = await startTestRegistry({ WHARF_ADMIN_USER: ADMIN.user, WHARF_ADMIN_PASSWORD: ADMIN.pass });
    db = new pg.Pool({ connectionString: reg.db.url, max: 2 });
  });
  after(async () => {
    await db?.end();
    await reg?.stop();
  });

  it('superuser manages users; others are refused; bad input is a 400, never a 500', async () => {
    for (const u of ['alice', 'bob', 'carol', 'dave']) {
      expectStatus(await call('POST', '/superuser/users/', su, { username: u, email: `${u}@example.com`, password: PASS }), 201, u);
    }
    expectError(await call('POST', '/superuser/users/', su, { username: 'alice', password: PASS }), 409, 'CONFLICT');
    expectError(await call('POST', '/superuser/users/', su, { username: 'eve', password: 'short' }), 400, 'INVALID_REQUEST');
    expectError(await call('POST', '/superuser/users/', su, { username: 'Bad Name!', password: PASS }), 400, 'NAME_INVALID');
    expectError(await call('POST', '/superuser/users/', su, '{not json'), 400, 'INVALID_REQUEST');
    expectError(await call('POST', '/superuser/users/', su, '[1,2]'), 400, 'INVALID_REQUEST');
    expectError(await call('PUT', '/superuser/users/bob', su, { enabled: 'yes' }), 400, 'INVALID_REQUEST');

    expectError(await call('GET', '/superuser/users/', alice), 403, 'DENIED');
    expectError(await call('POST', '/superuser/users/', alice, { username: 'mallory', password: PASS }), 403, 'DENIED');
    expectError(await call('PUT', '/superuser/users/alice', alice, { superuser: true }), 403, 'DENIED');
    expectError(await call('POST', '/superuser/keys/rotate', alice), 403, 'DENIED');
    expectError(await call('GET', '/superuser/users/'), 401, 'UNAUTHORIZED');

    const list = await call('GET', '/superuser/users/', su);
    expectStatus(list, 200);
    assert.deepEqual(list.body.users.map((u: any) => u.username), ['admin', 'alice', 'bob', 'carol', 'dave']);

    // Disabling locks the user out; enabling lets them back in.
    expectStatus(await call('PUT', '/superuser/users/dave', su, { enabled: false }), 200);
    expectError(await call('GET', '/user/', dave), 401, 'UNAUTHORIZED');
    expectStatus(await call('PUT', '/superuser/users/dave', su, { enabled: true }), 200);
    const me = await call('GET', '/user/', dave);
    expectStatus(me, 200);
    assert.equal(me.body.username, 'dave');
    assert.equal(me.body.super_user, false);
    // A superuser cannot lock themselves out.
    expectError(await call('PUT', '/superuser/users/admin', su, { superuser: false }), 400, 'INVALID_REQUEST');

    const rotated = await call('POST', '/superuser/keys/rotate', su);
    expectStatus(rotated, 200);
    assert.equal(typeof rotated.body.kid, 'string');

    assert.deepEqual(await auditKinds(`kind = 'user_create' AND performer = 'admin'`), ['user_create', 'user_create', 'user_create', 'user_create']);
    assert.deepEqual(await auditKinds(`namespace = 'dave' AND kind LIKE 'user_%able'`), ['user_disable', 'user_enable']);
  });

  it('GET /user/ answers the caller and 401 to anonymous; a user changes their own password', async () => {
    expectError(await call('GET', '/user/'), 401, 'UNAUTHORIZED');
    const me = await call('GET', '/user/', su);
    expectStatus(me, 200);
    assert.equal(me.body.username, 'admin');
    assert.equal(me.body.super_user, true);
    assert.equal(me.body.kind, 'user');

    expectError(await call('PUT', '/user/', carol, { password: 'short' }), 400, 'INVALID_REQUEST');
    expectStatus(await call('PUT', '/user/', carol, { password: 'a-new-password-1' }), 200);
    expectError(await call('GET', '/user/', carol), 401, 'UNAUTHORIZED');
    expectStatus(await call('GET', '/user/', basic('carol', 'a-new-password-1')), 200);
    expectStatus(await call('PUT', '/user/', basic('carol', 'a-new-password-1'), { password: PASS }), 200);
    assert.deepEqual(await auditKinds(`kind = 'user_change_password' AND performer = 'carol'`), ['user_change_password', 'user_change_password']);
  });

  it('creating an organization makes the creator an admin through its owners team', async () => {
    const created = await call('POST', '/organization/', alice, { name: 'acme', email: 'ops@acme.example' });
    expectStatus(created, 201);
    expectError(await call('POST', '/organization/', bob, { name: 'acme' }), 409, 'CONFLICT');
    expectError(await call('POST', '/organization/', bob, { name: 'alice' }), 409, 'CONFLICT', 'a user name is taken too');
    expectError(await call('POST', '/organization/', bob, { name: 'Not Valid' }), 400, 'NAME_INVALID');
    expectError(await call('POST', '/organization/', bob, {}), 400, 'INVALID_REQUEST');
    expectError(await call('POST', '/organization/', undefined, { name: 'anon' }), 401, 'UNAUTHORIZED');

    const org = await call('GET', '/organization/acme', alice);
    expectStatus(org, 200);
    assert.equal(org.body.is_admin, true);
    assert.equal(org.body.teams.owners.role, 'admin');
    assert.equal(org.body.teams.owners.member_count, 1);

    const me = await call('GET', '/user/', alice);
    assert.deepEqual(me.body.organizations, [{ name: 'acme', is_org_admin: true }]);
    // Outsiders do not see the organization at all.
    expectError(await call('GET', '/organization/acme', bob), 404, 'NOT_FOUND');
    expectError(await call('GET', '/organization/acme/members', bob), 404, 'NOT_FOUND');

    const members = await call('GET', '/organization/acme/members', alice);
    expectStatus(members, 200);
    assert.deepEqual(members.body.members.map((m: any) => [m.name, m.teams.map((t: any) => t.role)]), [['alice', ['admin']]]);
    assert.deepEqual(await auditKinds(`kind = 'org_create' AND namespace = 'acme' AND performer = 'alice'`), ['org_create']);
  });

  it('teams: roles, members, and the admin team is guarded', async () => {
    expectStatus(await call('PUT', '/organization/acme/team/builders', alice, { role: 'creator', description: 'CI' }), 201);
    expectStatus(await call('PUT', '/organization/acme/team/readers', alice, { role: 'member' }), 201);
    expectError(await call('PUT', '/organization/acme/team/bosses', alice, { role: 'owner' }), 400, 'INVALID_REQUEST');
    expectError(await call('PUT', '/organization/acme/team/Bad%20Team', alice, { role: 'member' }), 400, 'NAME_INVALID');
    expectError(await call('PUT', '/organization/acme/team/x1', alice, 'role=member'), 400, 'INVALID_REQUEST');

    expectStatus(await call('PUT', '/organization/acme/team/builders/members/bob', alice), 201);
    expectStatus(await call('PUT', '/organization/acme/team/readers/members/dave', alice), 201);
    expectError(await call('PUT', '/organization/acme/team/readers/members/nobody', alice), 404, 'NOT_FOUND');
    expectError(await call('PUT', '/organization/acme/team/readers/members/acme', alice), 400, 'INVALID_REQUEST');

    // bob is now a member (creator) of acme: he sees it but cannot administer it or promote himself.
    const seen = await call('GET', '/organization/acme', bob);
    expectStatus(seen, 200);
    assert.equal(seen.body.is_admin, false);
    expectError(await call('PUT', '/organization/acme/team/owners/members/bob', bob), 403, 'DENIED');
    expectError(await call('PUT', '/organization/acme/team/builders', bob, { role: 'admin' }), 403, 'DENIED');
    expectError(await call('DELETE', '/organization/acme/team/owners/members/alice', bob), 403, 'DENIED');
    expectError(await call('DELETE', '/organization/acme', bob), 403, 'DENIED');
    const teamMembers = await call('GET', '/organization/acme/team/builders/members', bob);
    expectStatus(teamMembers, 200);
    assert.deepEqual(teamMembers.body.members.map((m: any) => m.name), ['bob']);

    // The last admin cannot be removed, nor the last admin team demoted or deleted.
    expectError(await call('DELETE', '/organization/acme/team/owners/members/alice', alice), 400, 'INVALID_REQUEST');
    expectError(await call('PUT', '/organization/acme/team/owners', alice, { role: 'member' }), 400, 'INVALID_REQUEST');
    expectError(await call('DELETE', '/organization/acme/team/owners', alice), 400, 'INVALID_REQUEST');
    assert.equal((await call('GET', '/organization/acme/team/owners/members', alice)).body.members.length, 1);

    // A role change on another team takes effect: builders made admin lets bob administer, then back.
    expectStatus(await call('PUT', '/organization/acme/team/builders', alice, { role: 'admin' }), 200);
    expectStatus(await call('GET', '/organization/acme/members', bob), 200);
    expectStatus(await call('PUT', '/organization/acme/team/builders', alice, { role: 'creator' }), 200);
    expectError(await call('GET', '/organization/acme/members', bob), 403, 'DENIED');

    // A throwaway team with a member, removed again.
    expectStatus(await call('PUT', '/organization/acme/team/temp', alice, { role: 'member' }), 201);
    expectStatus(await call('PUT', '/organization/acme/team/temp/members/carol', alice), 201);
    expectStatus(await call('DELETE', '/organization/acme/team/temp/members/carol', alice), 204);
    expectError(await call('DELETE', '/organization/acme/team/temp/members/carol', alice), 404, 'NOT_FOUND');
    expectStatus(await call('DELETE', '/organization/acme/team/temp', alice), 204);
    expectError(await call('GET', '/organization/acme/team/temp', alice), 404, 'NOT_FOUND');

    const kinds = await auditKinds(`namespace = 'acme' AND kind LIKE 'org_%'`);
    for (const k of ['org_create_team', 'org_add_team_member', 'org_set_team_role', 'org_remove_team_member', 'org_delete_team']) {
      assert.ok(kinds.includes(k), `${k} in ${kinds.join(',')}`);
    }
  });

  it('robots: created with a token, regenerated (old token refused), scoped to their owner', async () => {
    const created = await call('PUT', '/organization/acme/robots/ci', alice, { description: 'the CI robot' });
    expectStatus(created, 201);
    assert.equal(created.body.name, 'acme+ci');
    const token1 = created.body.token as string;
    assert.match(token1, /^robot_/);
    expectError(await call('PUT', '/organization/acme/robots/ci', alice), 409, 'CONFLICT');
    expectError(await call('PUT', '/organization/acme/robots/Bad-Name', alice), 400, 'NAME_INVALID');
    expectError(await call('PUT', '/organization/acme/robots/evil', bob), 403, 'DENIED');

    const shown = await call('GET', '/organization/acme/robots/ci', alice);
    expectStatus(shown, 200);
    assert.equal(shown.body.description, 'the CI robot');
    assert.equal(shown.body.token, undefined, 'the token is stored hashed and never shown again');
    assert.deepEqual((await call('GET', '/organization/acme/robots', alice)).body.robots.map((r: any) => r.name), ['acme+ci']);

    const asRobot = await call('GET', '/user/', basic('acme+ci', token1));
    expectStatus(asRobot, 200);
    assert.equal(asRobot.body.username, 'acme+ci');
    assert.equal(asRobot.body.kind, 'robot');
    // Robots do not manage app tokens or create organizations.
    expectError(await call('POST', '/user/apptoken', basic('acme+ci', token1), { title: 'x' }), 403, 'DENIED');

    const regen = await call('POST', '/organization/acme/robots/ci/regenerate', alice);
    expectStatus(regen, 200);
    const token2 = regen.body.token as string;
    assert.notEqual(token2, token1);
    expectError(await call('GET', '/user/', basic('acme+ci', token1)), 401, 'UNAUTHORIZED');
    expectStatus(await call('GET', '/user/', basic('acme+ci', token2)), 200);

    // The caller's own robots live under /user/robots.
    const mine = await call('PUT', '/user/robots/bot', alice);
    expectStatus(mine, 201);
    assert.equal(mine.body.name, 'alice+bot');
    expectError(await call('GET', '/user/robots/bot', bob), 404, 'NOT_FOUND');
    const throwaway = await call('PUT', '/user/robots/gone', bob);
    expectStatus(throwaway, 201);
    expectStatus(await call('DELETE', '/user/robots/gone', bob), 204);
    expectError(await call('GET', '/user/', basic('bob+gone', throwaway.body.token)), 401, 'UNAUTHORIZED');

    // Only the organization's own robots may join its teams.
    expectError(await call('PUT', '/organization/acme/team/readers/members/alice+bot', alice), 400, 'INVALID_REQUEST');
    expectStatus(await call('PUT', '/organization/acme/team/readers/members/acme+ci', alice), 201);

    const kinds = await auditKinds(`kind IN ('create_robot', 'regenerate_robot_token', 'delete_robot')`);
    assert.deepEqual(kinds, ['create_robot', 'regenerate_robot_token', 'create_robot', 'create_robot', 'delete_robot']);
    ciToken = token2;
  });

  it('app tokens: usable as Bearer and as Basic password until revoked', async () => {
    const created = await call('POST', '/user/apptoken', alice, { title: 'laptop' });
    expectStatus(created, 201);
    const { uuid, token_code: code } = created.body.token;
    assert.match(code, /^app_/);
    expectError(await call('POST', '/user/apptoken', alice, { title: 42 }), 400, 'INVALID_REQUEST');
    expectError(await call('POST', '/user/apptoken', alice, 'nope'), 400, 'INVALID_REQUEST');

    const viaBearer = await call('GET', '/user/', `Bearer ${code}`);
    expectStatus(viaBearer, 200);
    assert.equal(viaBearer.body.username, 'alice');
    expectStatus(await call('GET', '/user/', basic('$app', code)), 200);
    expectStatus(await call('GET', '/user/', basic('alice', code)), 200);
    expectError(await call('GET', '/user/', basic('bob', code)), 401, 'UNAUTHORIZED', 'an app token is bound to its user');

    const listed = await call('GET', '/user/apptoken', alice);
    expectStatus(listed, 200);
    assert.deepEqual(listed.body.tokens.map((t: any) => [t.uuid, t.title, t.token_code]), [[uuid, 'laptop', undefined]]);
    expectStatus(await call('GET', `/user/apptoken/${uuid}`, alice), 200);
    expectError(await call('GET', `/user/apptoken/${uuid}`, bob), 404, 'NOT_FOUND');
    expectError(await call('GET', '/user/apptoken/not-a-uuid', alice), 404, 'NOT_FOUND');
    // A token cannot be used to take the account over.
    expectError(await call('PUT', '/user/', `Bearer ${code}`, { password: 'taken-over-now' }), 403, 'DENIED');

    expectStatus(await call('DELETE', `/user/apptoken/${uuid}`, alice), 204);
    expectError(await call('GET', '/user/', `Bearer ${code}`), 401, 'UNAUTHORIZED');
    expectError(await call('GET', '/user/', basic('$app', code)), 401, 'UNAUTHORIZED');
    assert.deepEqual(await auditKinds(`performer = 'alice' AND kind LIKE '%application_specific_token'`),
      ['create_application_specific_token', 'revoke_application_specific_token']);
  });

  it('repositories: create, list, get, visibility and delete, private ones hidden', async () => {
    expectStatus(await call('POST', '/repository', alice, { namespace: 'alice', repository: 'secret', visibility: 'private', description: 'd1' }), 201);
    expectStatus(await call('POST', '/repository', alice, { namespace: 'alice', repository: 'open/app', visibility: 'public' }), 201);
    expectError(await call('POST', '/repository', alice, { namespace: 'alice', repository: 'secret', visibility: 'private' }), 409, 'CONFLICT');
    expectError(await call('POST', '/repository', alice, { namespace: 'alice', repository: 'UPPER', visibility: 'private' }), 400, 'NAME_INVALID');
    expectError(await call('POST', '/repository', alice, { namespace: 'alice', repository: 'x', visibility: 'secret' }), 400, 'INVALID_REQUEST');
    expectError(await call('POST', '/repository', alice, 'garbage'), 400, 'INVALID_REQUEST');
    // Nobody creates in someone else's namespace, nor anonymously, nor a member without the creator role.
    expectError(await call('POST', '/repository', bob, { namespace: 'alice', repository: 'mine', visibility: 'public' }), 403, 'DENIED');
    expectError(await call('POST', '/repository', undefined, { namespace: 'alice', repository: 'mine' }), 401, 'UNAUTHORIZED');
    expectError(await call('POST', '/repository', dave, { namespace: 'acme', repository: 'mine' }), 403, 'DENIED');

    const got = await call('GET', '/repository/alice/secret', alice);
    expectStatus(got, 200);
    assert.deepEqual(
      [got.body.namespace, got.body.name, got.body.description, got.body.is_public, got.body.tag_count, got.body.can_write, got.body.can_admin],
      ['alice', 'secret', 'd1', false, 0, true, true],
    );
    expectError(await call('GET', '/repository/alice/secret', bob), 404, 'NOT_FOUND');
    expectError(await call('GET', '/repository/alice/secret'), 401, 'UNAUTHORIZED', 'anonymous is asked to log in, existing or not');
    expectError(await call('GET', '/repository/alice/nonexistent'), 401, 'UNAUTHORIZED');
    const pub = await call('GET', '/repository/alice/open/app', bob);
    expectStatus(pub, 200);
    assert.deepEqual([pub.body.name, pub.body.is_public, pub.body.can_write], ['open/app', true, false]);
    expectError(await call('DELETE', '/repository/alice/open/app', bob), 403, 'DENIED');
    expectError(await call('DELETE', '/repository/alice/open/app'), 401, 'UNAUTHORIZED');

    const names = async (auth?: string, q = '') => (await call('GET', `/repository${q}`, auth)).body.repositories.map((r: any) => r.full_name);
    assert.deepEqual(await names(alice, '?namespace=alice'), ['alice/open/app', 'alice/secret']);
    assert.deepEqual(await names(bob, '?namespace=alice'), ['alice/open/app']);
    assert.deepEqual(await names(undefined, '?public=true'), ['alice/open/app']);
    assert.deepEqual(await names(su), ['alice/open/app', 'alice/secret']);
    const paged = await call('GET', '/repository?namespace=alice&limit=1', alice);
    assert.equal(paged.body.next_page, 'alice/open/app');
    assert.deepEqual(await names(alice, `?namespace=alice&limit=1&next_page=${paged.body.next_page}`), ['alice/secret']);
    expectError(await call('GET', '/repository?limit=0', alice), 400, 'INVALID_REQUEST');

    expectStatus(await call('PUT', '/repository/alice/secret', alice, { description: 'new words' }), 200);
    assert.equal((await call('GET', '/repository/alice/secret', alice)).body.description, 'new words');
    expectStatus(await call('POST', '/repository/alice/secret/changevisibility', alice, { visibility: 'public' }), 200);
    expectStatus(await call('GET', '/repository/alice/secret', bob), 200);
    assert.deepEqual(await names(bob, '?namespace=alice'), ['alice/open/app', 'alice/secret']);
    expectStatus(await call('POST', '/repository/alice/secret/changevisibility', alice, { visibility: 'private' }), 200);
    expectError(await call('GET', '/repository/alice/secret', bob), 404, 'NOT_FOUND');
    expectError(await call('POST', '/repository/alice/secret/changevisibility', alice, { visibility: 'hidden' }), 400, 'INVALID_REQUEST');

    expectStatus(await call('POST', '/repository', alice, { namespace: 'alice', repository: 'doomed' }), 201);
    expectStatus(await call('DELETE', '/repository/alice/doomed', alice), 204);
    expectError(await call('GET', '/repository/alice/doomed', alice), 404, 'NOT_FOUND');
    assert.equal((await db.query(`SELECT 1 FROM repositories WHERE name = 'alice/doomed'`)).rowCount, 0);

    assert.deepEqual(await auditKinds(`repository = 'alice/secret'`),
      ['create_repo', 'set_repo_description', 'change_repo_visibility', 'change_repo_visibility']);
    assert.deepEqual(await auditKinds(`repository = 'alice/doomed'`), ['create_repo', 'delete_repo']);
  });

  it('permissions: user, robot and team grants take effect, and only admins grant', async () => {
    const P = '/repository/alice/secret/permissions';
    expectStatus(await call('PUT', `${P}/user/bob`, alice, { role: 'read' }), 200);
    let seen = await call('GET', '/repository/alice/secret', bob);
    expectStatus(seen, 200);
    assert.deepEqual([seen.body.can_write, seen.body.can_admin], [false, false]);
    expectError(await call('POST', '/repository/alice/secret/changevisibility', bob, { visibility: 'public' }), 403, 'DENIED');
    expectError(await call('PUT', '/repository/alice/secret', bob, { description: 'vandal' }), 403, 'DENIED');

    expectStatus(await call('PUT', `${P}/user/bob`, alice, { role: 'write' }), 200);
    seen = await call('GET', '/repository/alice/secret', bob);
    assert.deepEqual([seen.body.can_write, seen.body.can_admin], [true, false]);
    // A writer cannot grant, least of all admin to themselves.
    expectError(await call('PUT', `${P}/user/bob`, bob, { role: 'admin' }), 403, 'DENIED');
    expectError(await call('GET', `${P}/user/`, bob), 403, 'DENIED');
    expectError(await call('PUT', `${P}/user/carol`, carol, { role: 'read' }), 404, 'NOT_FOUND', 'the repository stays hidden');

    expectError(await call('PUT', `${P}/user/bob`, alice, { role: 'owner' }), 400, 'INVALID_REQUEST');
    expectError(await call('PUT', `${P}/user/bob`, alice, 'role'), 400, 'INVALID_REQUEST');
    expectError(await call('PUT', `${P}/user/acme`, alice, { role: 'read' }), 400, 'INVALID_REQUEST', 'organizations are not grantees');
    expectError(await call('PUT', `${P}/user/acme+ci`, alice, { role: 'read' }), 400, 'INVALID_REQUEST', 'another namespace\'s robot');
    expectError(await call('PUT', `${P}/user/nobody`, alice, { role: 'read' }), 404, 'NOT_FOUND');
    expectStatus(await call('PUT', `${P}/user/alice+bot`, alice, { role: 'write' }), 200);

    const listed = await call('GET', `${P}/user/`, alice);
    expectStatus(listed, 200);
    assert.deepEqual(listed.body.permissions, {
      'alice+bot': { name: 'alice+bot', role: 'write', is_robot: true },
      bob: { name: 'bob', role: 'write', is_robot: false },
    });
    assert.equal((await call('GET', `${P}/user/bob`, alice)).body.role, 'write');
    const botPerms = await call('GET', '/user/robots/bot/permissions', alice);
    assert.deepEqual(botPerms.body.permissions, [{ repository: { name: 'alice/secret' }, role: 'write' }]);

    expectStatus(await call('DELETE', `${P}/user/bob`, alice), 204);
    expectError(await call('GET', '/repository/alice/secret', bob), 404, 'NOT_FOUND');
    expectError(await call('DELETE', `${P}/user/bob`, alice), 404, 'NOT_FOUND');
    expectError(await call('GET', `${P}/user/bob`, alice), 404, 'NOT_FOUND');

    // Team grants live on organization repositories; the org's robot may be granted there.
    expectStatus(await call('POST', '/repository', alice, { namespace: 'acme', repository: 'tools', visibility: 'private' }), 201);
    const T = '/repository/acme/tools/permissions';
    expectError(await call('GET', '/repository/acme/tools', dave), 404, 'NOT_FOUND');
    expectStatus(await call('PUT', `${T}/team/readers`, alice, { role: 'read' }), 200);
    seen = await call('GET', '/repository/acme/tools', dave);
    expectStatus(seen, 200);
    assert.equal(seen.body.can_write, false);
    const ci = ciToken;
    expectStatus(await call('GET', '/repository/acme/tools', basic('acme+ci', ci)), 200, 'the robot is in readers');
    expectError(await call('PUT', `${T}/team/nosuch`, alice, { role: 'read' }), 404, 'NOT_FOUND');
    expectError(await call('PUT', `${P}/team/readers`, alice, { role: 'read' }), 400, 'INVALID_REQUEST', 'no teams on a user namespace');
    assert.deepEqual((await call('GET', `${T}/team/`, alice)).body.permissions, { readers: { name: 'readers', role: 'read' } });
    assert.equal((await call('GET', `${T}/team/readers`, alice)).body.role, 'read');
    expectStatus(await call('PUT', `${T}/user/acme+ci`, alice, { role: 'write' }), 200);
    assert.equal((await call('GET', '/repository/acme/tools', basic('acme+ci', ci))).body.can_write, true);
    // An org admin administers every repository of the org even without a grant.
    expectStatus(await call('DELETE', `${T}/team/readers`, alice), 204);
    expectError(await call('GET', '/repository/acme/tools', dave), 404, 'NOT_FOUND');

    const kinds = await auditKinds(`kind IN ('change_repo_permission', 'delete_repo_permission')`);
    assert.equal(kinds.filter((k) => k === 'change_repo_permission').length, 5);
    assert.equal(kinds.filter((k) => k === 'delete_repo_permission').length, 2);
  });

  it('default permissions apply to repositories a creator-team member creates', async () => {
    const D = '/organization/acme/prototypes';
    const toTeam = await call('POST', D, alice, { role: 'write', delegate: { kind: 'team', name: 'readers' } });
    expectStatus(toTeam, 201);
    const forBob = await call('POST', D, alice, { role: 'read', delegate: { kind: 'user', name: 'carol' }, activating_user: { name: 'bob' } });
    expectStatus(forBob, 201);
    const forAlice = await call('POST', D, alice, { role: 'admin', delegate: { kind: 'user', name: 'carol' }, activating_user: { name: 'alice' } });
    expectStatus(forAlice, 201);
    expectError(await call('POST', D, alice, { role: 'write', delegate: { kind: 'user', name: 'alice+bot' } }), 400, 'INVALID_REQUEST');
    expectError(await call('POST', D, alice, { role: 'write', delegate: { kind: 'group', name: 'readers' } }), 400, 'INVALID_REQUEST');
    expectError(await call('POST', D, alice, { role: 'write' }), 400, 'INVALID_REQUEST');
    expectError(await call('POST', D, bob, { role: 'admin', delegate: { kind: 'user', name: 'bob' } }), 403, 'DENIED');
    expectError(await call('GET', D, bob), 403, 'DENIED');
    const listed = await call('GET', D, alice);
    assert.deepEqual(listed.body.prototypes.map((p: any) => [p.role, p.delegate.kind, p.delegate.name, p.activating_user?.name ?? null]),
      [['write', 'team', 'readers', null], ['read', 'user', 'carol', 'bob'], ['admin', 'user', 'carol', 'alice']]);

    // bob is in the creator team "builders": he may create in acme and becomes admin of what he creates.
    expectStatus(await call('POST', '/repository', bob, { namespace: 'acme', repository: 'built', visibility: 'private' }), 201);
    const mine = await call('GET', '/repository/acme/built', bob);
    assert.equal(mine.body.can_admin, true);
    const users = await call('GET', '/repository/acme/built/permissions/user/', bob);
    assert.deepEqual(users.body.permissions, {
      bob: { name: 'bob', role: 'admin', is_robot: false },
      carol: { name: 'carol', role: 'read', is_robot: false },
    }, 'the prototype activated by alice does not apply to bob\'s repository');
    assert.deepEqual((await call('GET', '/repository/acme/built/permissions/team/', bob)).body.permissions, { readers: { name: 'readers', role: 'write' } });
    assert.equal((await call('GET', '/repository/acme/built', dave)).body.can_write, true);
    assert.equal((await call('GET', '/repository/acme/built', carol)).body.can_write, false);

    expectError(await call('DELETE', `${D}/not-a-uuid`, alice), 404, 'NOT_FOUND');
    expectError(await call('DELETE', `${D}/00000000-0000-0000-0000-000000000000`, alice), 404, 'NOT_FOUND');
    expectStatus(await call('DELETE', `${D}/${toTeam.body.id}`, alice), 204);
    assert.equal((await call('GET', D, alice)).body.prototypes.length, 2);
    expectStatus(await call('POST', '/repository', bob, { namespace: 'acme', repository: 'built2' }), 201);
    assert.deepEqual((await call('GET', '/repository/acme/built2/permissions/team/', bob)).body.permissions, {});

    assert.deepEqual(await auditKinds(`namespace = 'acme' AND kind LIKE '%prototype_permission'`),
      ['create_prototype_permission', 'create_prototype_permission', 'create_prototype_permission', 'delete_prototype_permission']);
  });

  it('deleting an organization removes its repositories, teams and robots', async () => {
    expectError(await call('DELETE', '/organization/acme', bob), 403, 'DENIED');
    expectStatus(await call('DELETE', '/organization/acme', alice), 204);
    expectError(await call('GET', '/organization/acme', alice), 404, 'NOT_FOUND');
    assert.equal((await db.query(`SELECT 1 FROM repositories WHERE namespace = 'acme'`)).rowCount, 0);
    assert.equal((await db.query(`SELECT 1 FROM accounts WHERE name LIKE 'acme%'`)).rowCount, 0);
    assert.deepEqual((await call('GET', '/user/', alice)).body.organizations, []);
    assert.deepEqual(await auditKinds(`kind = 'org_delete'`), ['org_delete']);
  });

  it('the OpenAPI document lists the tenancy endpoints', async () => {
    const doc = await call('GET', '/openapi.json');
    expectStatus(doc, 200);
    for (const p of ['/api/v1/user/', '/api/v1/user/apptoken/{uuid}', '/api/v1/superuser/users/{username}', '/api/v1/organization/{org}/team/{team}/members/{member}',
      '/api/v1/organization/{org}/robots/{short}/regenerate', '/api/v1/organization/{org}/prototypes/{uuid}', '/api/v1/repository/{repository}/changevisibility',
      '/api/v1/repository/{repository}/permissions/team/{teamname}', '/api/v1/user/robots/{short}/permissions']) {
      assert.ok(doc.body.paths[p], p);
    }
  });
});

describe('tenancy API on an open node (no accounts)', () => {
  let open: TestRegistry;
  const req = async (method: string, path: string, body?: unknown): Promise<Reply> => {
    const r = await fetch(`${open.url}/api/v1${path}`, {
      method, ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined, text };
  };
  before(async () => {
    open = await startTestRegistry();
  });
  after(async () => {
    await open?.stop();
  });

  it('acts as an anonymous administrator, and refuses what needs an account', async () => {
    const me = await req('GET', '/user/');
    expectStatus(me, 200);
    assert.equal(me.body.anonymous, true);
    expectStatus(await req('POST', '/organization/', { name: 'team' }), 201);
    expectStatus(await req('POST', '/repository', { namespace: 'team', repository: 'app', visibility: 'private' }), 201);
    const got = await req('GET', '/repository/team/app');
    expectStatus(got, 200);
    assert.equal(got.body.can_admin, true);
    expectError(await req('POST', '/user/apptoken', { title: 't' }), 400, 'INVALID_REQUEST');
    expectError(await req('POST', '/superuser/keys/rotate'), 400, 'INVALID_REQUEST');
    expectStatus(await req('DELETE', '/repository/team/app'), 204);
  });
});
