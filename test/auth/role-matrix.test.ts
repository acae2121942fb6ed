import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { pushImage } from '../support/oci-client.js';
import { basic, registryFetch, type Creds } from '../support/registry-auth.js';
import { createOrg, createRobot, createTeam, createUser, grant, setVisibility } from '../support/tenancy.js';

/**
 * The permission model as a table: every kind of caller against every kind of action, through the real /v2 token
 * flow (as docker/podman/skopeo do it) and the real /api/v1. Organization "acme" holds a private repository
 * acme/app and a public one acme/site; each row says what the caller must be able to do.
 */

type Actor = 'anonymous' | 'outsider' | 'member' | 'creator' | 'orgAdmin' | 'reader' | 'writer' | 'repoAdmin' | 'robot' | 'userRobot' | 'superuser';

interface Expect {
  pullPrivate: boolean;
  pullPublic: boolean;
  push: boolean;
  create: boolean;
  delete: boolean;
  /** POST /api/v1/repository/acme/app/changevisibility */
  repoAdmin: number;
  /** PUT /api/v1/organization/acme/team/{t} (201: created) */
  orgAdmin: number;
}

// Private content answers a caller without access like missing content: /v2 401, API 404 (anonymous: 401).
const MATRIX: Record<Actor, Expect> = {
  anonymous: { pullPrivate: false, pullPublic: true, push: false, create: false, delete: false, repoAdmin: 401, orgAdmin: 401 },
  outsider: { pullPrivate: false, pullPublic: true, push: false, create: false, delete: false, repoAdmin: 404, orgAdmin: 404 },
  member: { pullPrivate: true, pullPublic: true, push: false, create: false, delete: false, repoAdmin: 403, orgAdmin: 403 },
  creator: { pullPrivate: false, pullPublic: true, push: false, create: true, delete: false, repoAdmin: 404, orgAdmin: 403 },
  orgAdmin: { pullPrivate: true, pullPublic: true, push: true, create: true, delete: true, repoAdmin: 200, orgAdmin: 201 },
  reader: { pullPrivate: true, pullPublic: true, push: false, create: false, delete: false, repoAdmin: 403, orgAdmin: 404 },
  writer: { pullPrivate: true, pullPublic: true, push: true, create: false, delete: true, repoAdmin: 403, orgAdmin: 404 },
  repoAdmin: { pullPrivate: true, pullPublic: true, push: true, create: false, delete: true, repoAdmin: 200, orgAdmin: 404 },
  robot: { pullPrivate: true, pullPublic: true, push: true, create: false, delete: true, repoAdmin: 403, orgAdmin: 404 },
  userRobot: { pullPrivate: false, pullPublic: true, push: false, create: false, delete: false, repoAdmin: 404, orgAdmin: 404 },
  superuser: { pullPrivate: true, pullPublic: true, push: true, create: true, delete: true, repoAdmin: 200, orgAdmin: 201 },
};

let reg: TestRegistry;
const creds = new Map<Actor, Creds | undefined>();
const superuser: Creds = { username: 'root', password: 'R00t-password-1' };
const MANIFEST_ACCEPT = { Accept: 'application/vnd.oci.image.manifest.v1+json' };

before(async () => {
  reg = await startTestRegistry({ WHARF_ADMIN_USER: superuser.username, WHARF_ADMIN_PASSWORD: superuser.password });
  const db = reg.node.deps.db;
  const org = await createOrg(db, 'acme');
  const users = {} as Record<'outsider' | 'member' | 'creator' | 'orgAdmin' | 'reader' | 'writer' | 'repoAdmin', Creds & { id: number }>;
  for (const a of ['outsider', 'member', 'creator', 'orgAdmin', 'reader', 'writer', 'repoAdmin'] as const) {
    users[a] = await createUser(db, a.toLowerCase());
    creds.set(a, users[a]);
  }
  const readers = await createTeam(db, org, 'readers', 'member', [users.member.id]);
  await createTeam(db, org, 'builders', 'creator', [users.creator.id]);
  await createTeam(db, org, 'owners', 'admin', [users.orgAdmin.id]);
  const robot = await createRobot(db, 'acme', 'ci');
  const userRobot = await createRobot(db, 'outsider', 'bot');
  creds.set('robot', robot);
  creds.set('userRobot', userRobot);
  creds.set('superuser', superuser);
  creds.set('anonymous', undefined);

  const root = registryFetch(superuser);
  await pushImage(reg.url, 'acme/app', 'v1', { fetch: root });
  await pushImage(reg.url, 'acme/site', 'v1', { fetch: root });
  await setVisibility(db, 'acme/site', 'public');
  await grant(db, 'acme/app', { team: readers }, 'read');
  await grant(db, 'acme/app', { account: users.reader.id }, 'read');
  await grant(db, 'acme/app', { account: users.writer.id }, 'write');
  await grant(db, 'acme/app', { account: users.repoAdmin.id }, 'admin');
  await grant(db, 'acme/app', { account: robot.id }, 'write');
  // A user's robot granted nothing in acme: it must not inherit its owner's rights elsewhere either.
  for (const actor of Object.keys(MATRIX)) await pushImage(reg.url, 'acme/app', `del-${actor.toLowerCase()}`, { fetch: root });
});
after(async () => reg?.stop());

for (const [actor, want] of Object.entries(MATRIX) as [Actor, Expect][]) {
  test(`${actor}: pull ${want.pullPrivate ? 'yes' : 'no'}, push ${want.push ? 'yes' : 'no'}, create ${want.create ? 'yes' : 'no'}, delete ${want.delete ? 'yes' : 'no'}, repo admin ${want.repoAdmin}, org admin ${want.orgAdmin}`, async () => {
    const c = creds.get(actor);
    const v2 = registryFetch(c);
    const tag = actor.toLowerCase();

    const privatePull = await v2(`${reg.url}/v2/acme/app/manifests/v1`, { headers: MANIFEST_ACCEPT });
    assert.equal(privatePull.status, want.pullPrivate ? 200 : 401, 'pull private');
    const publicPull = await v2(`${reg.url}/v2/acme/site/manifests/v1`, { headers: MANIFEST_ACCEPT });
    assert.equal(publicPull.status, want.pullPublic ? 200 : 401, 'pull public');

    const push = await pushImage(reg.url, 'acme/app', `by-${tag}`, { fetch: v2 }).then(() => 201, (e: Error) => Number(/: (\d{3}) /.exec(e.message)?.[1]));
    assert.equal(push, want.push ? 201 : 401, 'push to the existing repository');
    const publicPush = await pushImage(reg.url, 'acme/site', `by-${tag}`, { fetch: v2 }).then(() => 201, (e: Error) => Number(/: (\d{3}) /.exec(e.message)?.[1]));
    assert.equal(publicPush, want.push && actor !== 'reader' && actor !== 'writer' && actor !== 'repoAdmin' && actor !== 'robot' ? 201 : 401, 'public read is not public write');

    const create = await pushImage(reg.url, `acme/new-${tag}`, 'v1', { fetch: v2 }).then(() => 201, (e: Error) => Number(/: (\d{3}) /.exec(e.message)?.[1]));
    assert.equal(create, want.create ? 201 : 401, 'push creating a repository');
    const exists = await reg.node.deps.db.query('SELECT 1 FROM repositories WHERE name = $1', [`acme/new-${tag}`]);
    assert.equal(exists.rowCount, want.create ? 1 : 0, 'a refused push leaves no repository behind');

    const del = await v2(`${reg.url}/v2/acme/app/manifests/del-${tag}`, { method: 'DELETE' });
    assert.equal(del.status, want.delete ? 202 : 401, 'delete a tag');

    const auth: Record<string, string> = c ? { Authorization: basic(c) } : {};
    const vis = await fetch(`${reg.url}/api/v1/repository/acme/app/changevisibility`, {
      method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ visibility: 'private' }),
    });
    assert.equal(vis.status, want.repoAdmin, 'change visibility (repository admin)');
    const team = await fetch(`${reg.url}/api/v1/organization/acme/team/t-${tag}`, {
      method: 'PUT', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ role: 'member' }),
    });
    assert.equal(team.status, want.orgAdmin, 'create a team (organization admin)');
  });
}

test('a creator administers the repository it created, and nothing else of the organization', async () => {
  const c = creds.get('creator')!;
  const vis = await fetch(`${reg.url}/api/v1/repository/acme/new-creator/changevisibility`, {
    method: 'POST', headers: { Authorization: basic(c), 'Content-Type': 'application/json' }, body: JSON.stringify({ visibility: 'public' }),
  });
  assert.equal(vis.status, 200);
  const anon = await registryFetch()(`${reg.url}/v2/acme/new-creator/manifests/v1`, { headers: MANIFEST_ACCEPT });
  assert.equal(anon.status, 200);
});

test('a disabled user loses access at the token endpoint at once', async () => {
  const c = creds.get('writer')!;
  await reg.node.deps.db.query('UPDATE accounts SET enabled = false WHERE name = $1', [c.username]);
  const r = await fetch(`${reg.url}/v2/auth?service=wharf&scope=repository:acme/app:pull`, { headers: { Authorization: basic(c) } });
  assert.equal(r.status, 401);
});
