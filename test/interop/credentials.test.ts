import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { buildMultiArchImage, writeMultiArchLayout, type WrittenLayout } from '../support/oci-layout.js';
import { createOrg, createRobot, createTeam, createUser, grant } from '../support/tenancy.js';
import type { Creds } from '../support/registry-auth.js';
import { Podman, Skopeo } from './tools.js';

/**
 * The real skopeo and podman against a node running registry token auth: login, pushes and pulls with a user's
 * password, a robot's token and an app token, and the refusals a stranger and a read-only robot get.
 */
describe('registry clients with credentials', () => {
  let reg: TestRegistry;
  let work: string;
  let skopeo: Skopeo;
  let podman: Podman;
  let img: WrittenLayout;
  let host: string;
  let missing: Error | undefined;
  let dev: Creds & { id: number };
  let stranger: Creds;
  let pusher: Creds & { id: number };
  let reader: Creds & { id: number };
  const admin: Creds = { username: 'admin', password: 'Adm1n-pass-123' };
  const ref = (r: string) => `docker://${host}/${r}`;
  const creds = (c: Creds) => `${c.username}:${c.password}`;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'wharf-creds-'));
    try {
      await mkdir(join(work, 'skopeo'));
      skopeo = await Skopeo.create(join(work, 'skopeo'));
      await mkdir(join(work, 'podman'));
      podman = await Podman.create(join(work, 'podman'));
    } catch (e) {
      missing = e as Error;
      return;
    }
    reg = await startTestRegistry({ WHARF_ADMIN_USER: admin.username, WHARF_ADMIN_PASSWORD: admin.password });
    host = new URL(reg.url).host;
    const db = reg.node.deps.db;
    dev = await createUser(db, 'dev');
    stranger = await createUser(db, 'stranger');
    const org = await createOrg(db, 'acme');
    await createTeam(db, org, 'builders', 'creator', [dev.id]);
    pusher = await createRobot(db, 'acme', 'ci');
    reader = await createRobot(db, 'acme', 'deploy');
    img = await writeMultiArchLayout(join(work, 'in'), { tag: 'v1', image: buildMultiArchImage({ seed: 'creds-interop' }) });
  });
  beforeEach(() => {
    if (missing) throw missing;
  });
  after(async () => {
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('skopeo login with a password, then copy --all creates the repository in the organization', async () => {
    await skopeo.ok(['login', '--tls-verify=false', '-u', dev.username, '-p', dev.password, host]);
    await skopeo.ok(['copy', '--all', '--retry-times', '0', '--dest-tls-verify=false', `oci:${img.dir}:${img.tag}`, ref('acme/app:1.0')]);
    const out = await skopeo.ok(['inspect', '--raw', '--tls-verify=false', ref('acme/app:1.0')]);
    assert.equal(JSON.parse(out.stdout.toString()).manifests.length, img.images.length);
    await skopeo.ok(['logout', host]);
  });

  it('a private repository refuses anonymous and stranger reads', async () => {
    const anon = await skopeo.run(['inspect', '--raw', '--tls-verify=false', ref('acme/app:1.0')]);
    assert.notEqual(anon.code, 0);
    assert.match(anon.stderr, /unauthorized|authentication required/i);
    const other = await skopeo.run(['inspect', '--raw', '--tls-verify=false', '--creds', creds(stranger), ref('acme/app:1.0')]);
    assert.notEqual(other.code, 0);
    const badPassword = await skopeo.run(['inspect', '--raw', '--tls-verify=false', '--creds', `${dev.username}:nope`, ref('acme/app:1.0')]);
    assert.notEqual(badPassword.code, 0);
  });

  it('a robot with write pushes with --dest-creds; a read-only robot pulls but cannot push', async () => {
    const db = reg.node.deps.db;
    await grant(db, 'acme/app', { account: pusher.id }, 'write');
    await grant(db, 'acme/app', { account: reader.id }, 'read');
    await skopeo.ok(['copy', '--retry-times', '0', '--dest-tls-verify=false', '--src-tls-verify=false', '--src-creds', creds(dev), '--dest-creds', creds(pusher),
      ref('acme/app:1.0'), ref('acme/app:robot-pushed')]);
    const tags = await skopeo.ok(['list-tags', '--tls-verify=false', '--creds', creds(reader), ref('acme/app')]);
    assert.deepEqual(JSON.parse(tags.stdout.toString()).Tags.sort(), ['1.0', 'robot-pushed']);
    const refused = await skopeo.run(['copy', '--retry-times', '0', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', creds(reader), '--dest-creds', creds(reader),
      ref('acme/app:1.0'), ref('acme/app:reader-pushed')]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /unauthorized|denied|authentication required/i);
  });

  it('podman login, push and pull with the organization robot', async () => {
    await podman.ok(['login', '--tls-verify=false', '-u', pusher.username, '-p', pusher.password, host]);
    await podman.ok(['pull', '--signature-policy', podman.policy, '--tls-verify=false', '--arch', 'amd64', ref('acme/app:1.0')]);
    await podman.ok(['tag', `${host}/acme/app:1.0`, `${host}/acme/app:via-podman`]);
    await podman.ok(['push', '--signature-policy', podman.policy, '--tls-verify=false', `${host}/acme/app:via-podman`]);
    await podman.ok(['logout', host]);
    const tags = await skopeo.ok(['list-tags', '--tls-verify=false', '--creds', creds(dev), ref('acme/app')]);
    assert.ok(JSON.parse(tags.stdout.toString()).Tags.includes('via-podman'));
  });
});
