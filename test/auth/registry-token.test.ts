import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { pushImage } from '../support/oci-client.js';
import { fetchToken, parseChallenge, registryFetch, tokenFor, type Creds } from '../support/registry-auth.js';
import { createRobot, createUser, grant, setVisibility } from '../support/tenancy.js';
import { generateSigningKey, issueToken, KeySet } from '../../shared/auth/index.js';

/** Docker registry token auth end to end: challenge, token endpoint, verification, down-scoping, escalation. */
let reg: TestRegistry;
const admin: Creds = { username: 'admin', password: 'Adm1n-pass-123' };
let alice: Creds & { id: number };
let bob: Creds & { id: number };

const accessOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).access as { type: string; name: string; actions: string[] }[];
const pullManifest = (token: string | undefined, repo: string, ref = 'v1') => fetch(`${reg.url}/v2/${repo}/manifests/${ref}`, {
  headers: { Accept: 'application/vnd.oci.image.manifest.v1+json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
});
const code = async (r: Response) => ((await r.json()) as { errors: { code: string }[] }).errors[0]!.code;

before(async () => {
  reg = await startTestRegistry({ WHARF_ADMIN_USER: admin.username, WHARF_ADMIN_PASSWORD: admin.password });
  const db = reg.node.deps.db;
  alice = await createUser(db, 'alice');
  bob = await createUser(db, 'bob');
  await pushImage(reg.url, 'alice/private-app', 'v1', { fetch: registryFetch(alice) });
  await pushImage(reg.url, 'alice/public-app', 'v1', { fetch: registryFetch(alice) });
  await setVisibility(db, 'alice/public-app', 'public');
});
after(async () => reg?.stop());

test('an unauthenticated /v2/ answers 401 with a Bearer challenge naming the realm and service', async () => {
  const r = await fetch(`${reg.url}/v2/`);
  assert.equal(r.status, 401);
  assert.equal(await code(r), 'UNAUTHORIZED');
  const ch = parseChallenge(r.headers.get('www-authenticate'));
  assert.equal(ch?.realm, `${reg.url}/v2/auth`);
  assert.equal(ch?.service, 'wharf');
});

test('login: a token for no scope from Basic credentials opens /v2/; wrong credentials get 401 from the token endpoint', async () => {
  const token = await tokenFor(reg.url, [], admin);
  assert.equal((await fetch(`${reg.url}/v2/`, { headers: { Authorization: `Bearer ${token}` } })).status, 200);
  const bad = await fetchToken(`${reg.url}/v2/auth`, 'wharf', [], { username: 'admin', password: 'wrong' });
  assert.equal(bad.status, 401);
  assert.equal(await code(bad), 'UNAUTHORIZED');
});

test('a pull challenge names the repository scope; the token it leads to pulls', async () => {
  const r = await pullManifest(undefined, 'alice/private-app');
  assert.equal(r.status, 401);
  assert.equal(parseChallenge(r.headers.get('www-authenticate'))?.scope, 'repository:alice/private-app:pull');
  const token = await tokenFor(reg.url, ['repository:alice/private-app:pull'], alice);
  assert.equal((await pullManifest(token, 'alice/private-app')).status, 200);
});

test('a push pushes to the caller\'s own namespace and creates a private repository there', async () => {
  await pushImage(reg.url, 'bob/new-repo', 'v1', { fetch: registryFetch(bob) });
  const row = await reg.node.deps.db.query('SELECT visibility FROM repositories WHERE name = $1', ['bob/new-repo']);
  assert.equal(row.rows[0].visibility, 'private');
  const anon = await tokenFor(reg.url, ['repository:bob/new-repo:pull']);
  assert.deepEqual(accessOf(anon), []);
  assert.equal((await pullManifest(anon, 'bob/new-repo')).status, 401);
});

test('anonymous callers pull public repositories and get nothing else', async () => {
  const token = await tokenFor(reg.url, ['repository:alice/public-app:pull,push', 'repository:alice/private-app:pull']);
  assert.deepEqual(accessOf(token), [{ type: 'repository', name: 'alice/public-app', actions: ['pull'] }]);
  assert.equal((await pullManifest(token, 'alice/public-app')).status, 200);
  const anon = registryFetch();
  assert.equal((await anon(`${reg.url}/v2/alice/public-app/manifests/v1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })).status, 200);
});

test('private repositories are not revealed: a stranger gets the same 401 for a private repository as for a missing one', async () => {
  const viaStranger = registryFetch(bob);
  const priv = await viaStranger(`${reg.url}/v2/alice/private-app/manifests/v1`);
  const missing = await viaStranger(`${reg.url}/v2/alice/does-not-exist/manifests/v1`);
  assert.equal(priv.status, 401);
  assert.equal(missing.status, 401);
  assert.equal(await code(priv), await code(missing));
  const tags = await viaStranger(`${reg.url}/v2/alice/private-app/tags/list`);
  assert.equal(tags.status, 401);
});

test('escalation: asking for push on a read-only repository is down-scoped to pull, and the push is refused', async () => {
  await grant(reg.node.deps.db, 'alice/private-app', { account: bob.id }, 'read');
  const token = await tokenFor(reg.url, ['repository:alice/private-app:pull,push,delete,*'], bob);
  assert.deepEqual(accessOf(token), [{ type: 'repository', name: 'alice/private-app', actions: ['pull'] }]);
  const r = await fetch(`${reg.url}/v2/alice/private-app/blobs/uploads/`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
  assert.match(r.headers.get('www-authenticate') ?? '', /scope="repository:alice\/private-app:pull,push"/);
  const del = await fetch(`${reg.url}/v2/alice/private-app/manifests/v1`, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
  assert.equal(del.status, 401);
  assert.equal((await pullManifest(token, 'alice/private-app')).status, 200);
  // A push that creates a repository in someone else's namespace is refused the same way.
  const foreign = await tokenFor(reg.url, ['repository:alice/bobs-idea:pull,push'], bob);
  assert.deepEqual(accessOf(foreign), []);
});

test('escalation: a token for one repository does not open another', async () => {
  const token = await tokenFor(reg.url, ['repository:alice/public-app:pull'], alice);
  const r = await pullManifest(token, 'alice/private-app');
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
});

test('escalation: tampered, foreign-key, expired and other-audience tokens are refused with invalid_token', async () => {
  const good = await tokenFor(reg.url, ['repository:alice/public-app:pull'], bob);
  const [h, p, s] = good.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  claims.access = [{ type: 'repository', name: 'alice/private-app', actions: ['pull', 'push'] }];
  const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;

  const stranger = new KeySet(generateSigningKey());
  const forged = issueToken({ keys: stranger, issuer: 'wharf', audience: 'wharf', subject: 'alice', access: claims.access }).token;

  // A key the cluster knows (published like another node's), used for an expired token and one for another service.
  const known = generateSigningKey();
  await reg.node.deps.db.query(
    `INSERT INTO signing_keys (kid, public_jwk, node) VALUES ($1, $2, 'test')`, [known.kid, JSON.stringify(known.publicKey.export({ format: 'jwk' }))],
  );
  const ks = new KeySet(known);
  const access = [{ type: 'repository' as const, name: 'alice/private-app', actions: ['pull'] }];
  const expired = issueToken({ keys: ks, issuer: 'wharf', audience: 'wharf', subject: 'alice', access, ttlSeconds: 60, now: new Date(Date.now() - 3600_000) }).token;
  const otherAudience = issueToken({ keys: ks, issuer: 'wharf', audience: 'another-registry', subject: 'alice', access }).token;
  const otherIssuer = issueToken({ keys: ks, issuer: 'someone-else', audience: 'wharf', subject: 'alice', access }).token;
  const valid = issueToken({ keys: ks, issuer: 'wharf', audience: 'wharf', subject: 'alice', access }).token;

  for (const [what, token] of [['tampered', tampered], ['unknown key', forged], ['expired', expired], ['audience', otherAudience], ['issuer', otherIssuer], ['garbage', 'a.b.c']] as const) {
    const r = await pullManifest(token, 'alice/private-app');
    assert.equal(r.status, 401, what);
    assert.equal(await code(r), 'UNAUTHORIZED', what);
    assert.match(r.headers.get('www-authenticate') ?? '', /error="invalid_token"/, what);
  }
  // The same key with correct claims verifies: the refusals above are about the claims, not the key.
  assert.equal((await pullManifest(valid, 'alice/private-app')).status, 200);
});

test('the catalog lists only what the caller may read', async () => {
  const list = async (creds?: Creds) => {
    const r = await registryFetch(creds)(`${reg.url}/v2/_catalog`);
    assert.equal(r.status, 200);
    return ((await r.json()) as { repositories: string[] }).repositories;
  };
  assert.deepEqual(await list(), ['alice/public-app']);
  assert.deepEqual(await list(alice), ['alice/private-app', 'alice/public-app']);
  assert.ok((await list(admin)).includes('bob/new-repo'));
  assert.ok(!(await list(alice)).includes('bob/new-repo'));
});

test('robots are confined to what they are granted', async () => {
  const robot = await createRobot(reg.node.deps.db, 'alice', 'deployer');
  await grant(reg.node.deps.db, 'alice/private-app', { account: robot.id }, 'write');
  const token = await tokenFor(reg.url, ['repository:alice/private-app:pull,push', 'repository:alice/public-app:push', 'repository:alice/robot-made:push', 'repository:bob/new-repo:pull'], robot);
  // Public read is everyone's, so the public repository's push is dropped but nothing grants its pull here (not asked).
  assert.deepEqual(accessOf(token), [{ type: 'repository', name: 'alice/private-app', actions: ['pull', 'push'] }]);
  await pushImage(reg.url, 'alice/private-app', 'from-robot', { fetch: registryFetch(robot) });
  await assert.rejects(pushImage(reg.url, 'alice/robot-made', 'v1', { fetch: registryFetch(robot) }), /401/);
  // A wrong robot token, or the right token under another robot's name, is refused.
  assert.equal((await fetchToken(`${reg.url}/v2/auth`, 'wharf', [], { username: robot.username, password: robot.password.slice(0, -2) + 'xx' })).status, 401);
  assert.equal((await fetchToken(`${reg.url}/v2/auth`, 'wharf', [], { username: 'alice+other', password: robot.password })).status, 401);
});

test('token endpoint input errors are 400s in the registry error envelope', async () => {
  const bad = await fetch(`${reg.url}/v2/auth?service=wharf&scope=${encodeURIComponent('repository:UPPER/case:pull')}`);
  assert.equal(bad.status, 400);
  assert.equal(await code(bad), 'INVALID_REQUEST');
  const svc = await fetch(`${reg.url}/v2/auth?service=elsewhere`);
  assert.equal(svc.status, 400);
  const grantType = await fetch(`${reg.url}/v2/auth`, { method: 'POST', body: 'grant_type=refresh_token&refresh_token=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(grantType.status, 400);
});

test('the OAuth2 password grant (POST) issues the same tokens as GET with Basic', async () => {
  const r = await fetch(`${reg.url}/v2/auth`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', username: alice.username, password: alice.password, service: 'wharf', scope: 'repository:alice/private-app:pull' }).toString(),
  });
  assert.equal(r.status, 200);
  const body = (await r.json()) as { access_token: string; expires_in: number };
  assert.equal(body.expires_in, 300);
  assert.equal((await pullManifest(body.access_token, 'alice/private-app')).status, 200);
});

test('signing keys rotate without downtime: tokens from the old key keep working, new tokens carry the new kid', async () => {
  const auth = reg.node.deps.auth!;
  const before = await tokenFor(reg.url, ['repository:alice/private-app:pull'], alice);
  const oldKid = auth.kid;
  const newKid = await auth.rotate();
  assert.notEqual(newKid, oldKid);
  const afterToken = await tokenFor(reg.url, ['repository:alice/private-app:pull'], alice);
  const kidOf = (t: string) => JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()).kid;
  assert.equal(kidOf(before), oldKid);
  assert.equal(kidOf(afterToken), newKid);
  assert.equal((await pullManifest(before, 'alice/private-app')).status, 200);
  assert.equal((await pullManifest(afterToken, 'alice/private-app')).status, 200);
  // A second node of the cluster verifies the first node's tokens through the published public keys.
  const second = await reg.addNode();
  const r = await fetch(`${second.url}/v2/alice/private-app/manifests/v1`, {
    headers: { Accept: 'application/vnd.oci.image.manifest.v1+json', Authorization: `Bearer ${afterToken}` },
  });
  assert.equal(r.status, 200);
});

test('login throttling: repeated failures lock the account (429 with Retry-After) even for the right password', async () => {
  const victim = await createUser(reg.node.deps.db, 'victim');
  for (let i = 0; i < 5; i++) {
    const r = await fetchToken(`${reg.url}/v2/auth`, 'wharf', [], { username: 'victim', password: `guess-${i}` });
    assert.equal(r.status, 401);
  }
  const locked = await fetchToken(`${reg.url}/v2/auth`, 'wharf', [], victim);
  assert.equal(locked.status, 429);
  assert.equal(await code(locked), 'TOOMANYREQUESTS');
  assert.ok(Number(locked.headers.get('retry-after')) > 0);
  // Other accounts from other addresses are unaffected (the address allowance is larger than the account's).
  assert.equal((await fetchToken(`${reg.url}/v2/auth`, 'wharf', [], alice)).status, 200);
});

test('pushes, pulls and deletes are in the audit log with who and from where, and no credential is', async () => {
  await reg.node.deps.audit.flush();
  const r = await reg.node.deps.db.query<{ kind: string; performer: string; ip: string; metadata: object }>(
    `SELECT kind, performer, ip, metadata FROM audit_log WHERE repository = 'alice/private-app' ORDER BY id`,
  );
  const kinds = r.rows.map((x) => `${x.kind}:${x.performer}`);
  assert.ok(kinds.includes('create_repo:alice'), kinds.join(' '));
  assert.ok(kinds.includes('push_repo:alice'), kinds.join(' '));
  assert.ok(kinds.includes('pull_repo:alice'), kinds.join(' '));
  assert.ok(kinds.includes('push_repo:alice+deployer'), kinds.join(' '));
  assert.ok(r.rows.every((x) => x.ip === '127.0.0.1'));
  const all = await reg.node.deps.db.query<{ t: string }>('SELECT string_agg(metadata::text, \' \') AS t FROM audit_log');
  for (const secret of [alice.password, admin.password, bob.password]) assert.ok(!all.rows[0]!.t.includes(secret));
});

test('hostile token requests and headers get 400/401 in the error envelope, never a 500', async () => {
  const many = Array.from({ length: 65 }, (_, i) => `scope=repository:alice/r${i}:pull`).join('&');
  const cases: [string, RequestInit, number, string][] = [
    [`/v2/auth?service=wharf&${many}`, {}, 400, 'INVALID_REQUEST'],
    [`/v2/auth?service=wharf&scope=repository:${'a'.repeat(5000)}:pull`, {}, 400, 'INVALID_REQUEST'],
    [`/v2/auth?service=wharf&scope=repository:alice/app`, {}, 400, 'INVALID_REQUEST'],
    ['/v2/auth?service=wharf', { headers: { Authorization: 'Basic !!!notbase64' } }, 401, 'UNAUTHORIZED'],
    ['/v2/auth?service=wharf', { headers: { Authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` } }, 401, 'UNAUTHORIZED'],
    ['/v2/auth?service=wharf', { headers: { Authorization: 'Digest abc' } }, 401, 'UNAUTHORIZED'],
    ['/v2/auth?service=wharf', { headers: { Authorization: `Basic ${Buffer.from(`alice:${'x'.repeat(5000)}`).toString('base64')}` } }, 401, 'UNAUTHORIZED'],
    ['/v2/alice/private-app/manifests/v1', { headers: { Authorization: 'Bearer' } }, 401, 'UNAUTHORIZED'],
    ['/v2/alice/private-app/manifests/v1', { headers: { Authorization: `Bearer ${'x'.repeat(12000)}` } }, 401, 'UNAUTHORIZED'],
    ['/v2/alice/private-app/manifests/v1', { headers: { Authorization: `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.e30.` } }, 401, 'UNAUTHORIZED'],
    ['/api/v1/user/', { headers: { Authorization: 'Bearer not-an-app-token' } }, 401, 'UNAUTHORIZED'],
  ];
  for (const [path, init, status, expected] of cases) {
    const r = await fetch(`${reg.url}${path}`, init);
    assert.equal(r.status, status, path.slice(0, 80));
    assert.equal(await code(r), expected, path.slice(0, 80));
  }
});
