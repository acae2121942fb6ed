import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { startRegistryNode } from '../../nodes/registry/src/node.js';
import { createTestDatabase } from '../support/db.js';
import { pushImage } from '../support/oci-client.js';
import { basic, registryFetch } from '../support/registry-auth.js';
import { createRobot, createUser } from '../support/tenancy.js';

test('credentials never reach the logs: passwords, robot and app tokens, bearer tokens, webhook secrets, the admin password', async () => {
  const db = await createTestDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'wharf-logs-'));
  const out = new PassThrough();
  const lines: string[] = [];
  out.on('data', (b: Buffer) => lines.push(b.toString()));
  const adminPassword = 'Sup3r-secret-admin-pw';
  const config = loadConfig({
    PORT: '0', WHARF_SERVER_HOST: '127.0.0.1', WHARF_DATA_DIR: dataDir, WHARF_DATABASE_URL: db.url, WHARF_GC_ENABLED: 'false',
    WHARF_LOG_LEVEL: 'trace', WHARF_ADMIN_USER: 'admin', WHARF_ADMIN_PASSWORD: adminPassword,
  });
  const log = createLogger({ level: 'trace', bindings: { node: 'test' }, destination: out });
  const node = await startRegistryNode(config, { log, defaultMetrics: false });
  try {
    log.info({ config }, 'config at start');
    const user = await createUser(node.deps.db, 'logged');
    const robot = await createRobot(node.deps.db, 'logged', 'bot');
    await pushImage(node.url, 'logged/app', 'v1', { fetch: registryFetch(user) });
    const tokenResponse = await fetch(`${node.url}/v2/auth?service=wharf&scope=repository:logged/app:pull`, { headers: { Authorization: basic(user) } });
    const bearer = ((await tokenResponse.json()) as { token: string }).token;
    await fetch(`${node.url}/v2/logged/app/manifests/v1`, { headers: { Authorization: `Bearer ${bearer}` } });
    await fetch(`${node.url}/v2/auth?service=wharf`, { headers: { Authorization: basic({ username: 'logged', password: 'Wr0ng-guess-pw' }) } });
    await fetch(`${node.url}/v2/auth?service=wharf`, { headers: { Authorization: basic(robot) } });
    const app = await fetch(`${node.url}/api/v1/user/apptoken`, {
      method: 'POST', headers: { Authorization: basic(user), 'Content-Type': 'application/json' }, body: JSON.stringify({ title: 'ci' }),
    });
    const appToken = ((await app.json()) as { token: { token_code: string } }).token.token_code;
    assert.match(appToken, /^app_/);
    await fetch(`${node.url}/api/v1/user/`, { headers: { Authorization: `Bearer ${appToken}` } });
    const hook = await fetch(`${node.url}/api/v1/repository/logged/app/notification/`, {
      method: 'POST', headers: { Authorization: basic(user), 'Content-Type': 'application/json' },
      body: JSON.stringify({ event: 'repo_push', method: 'webhook', config: { url: 'http://127.0.0.1:9/hook', secret: 'Hook-secret-value-42' }, title: 't' }),
    });
    assert.equal(hook.status, 201);
    await node.deps.audit.flush();
    const text = lines.join('');
    assert.ok(text.includes('"request"'), 'the requests were logged');
    for (const secret of [adminPassword, user.password, 'Wr0ng-guess-pw', robot.password, bearer, appToken, 'Hook-secret-value-42']) {
      assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 6)}...) reached the logs`);
    }
    const audit = await node.deps.db.query<{ t: string }>('SELECT string_agg(metadata::text || coalesce(ip, \'\'), \' \') AS t FROM audit_log');
    for (const secret of [user.password, robot.password, appToken, 'Hook-secret-value-42']) assert.ok(!(audit.rows[0]!.t ?? '').includes(secret));
  } finally {
    await node.close();
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
