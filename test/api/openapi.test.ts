import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { basic } from '../support/registry-auth.js';

/**
 * The OpenAPI document and the routes cannot drift apart: every documented operation is routed (a request to it
 * reaches a handler, which may well refuse it, rather than the node's catch-all 404), and nothing answers 500.
 */
let reg: TestRegistry;
const admin = { username: 'admin', password: 'Adm1n-pass-123' };

before(async () => {
  reg = await startTestRegistry({ WHARF_ADMIN_USER: admin.username, WHARF_ADMIN_PASSWORD: admin.password });
});
after(async () => reg?.stop());

const SAMPLE: Record<string, string> = {
  org: 'no-such-org', orgname: 'no-such-org', team: 'no-team', teamname: 'no-team', member: 'nobody', membername: 'nobody',
  username: 'nobody', repository: 'no-such-ns/no-repo', name: 'no-such-ns/no-repo', tag: 'latest', uuid: '00000000-0000-0000-0000-000000000000',
  robot_shortname: 'nobot', short: 'nobot', shortname: 'nobot', region: 'local', ref: 'latest',
  digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000', id: 'CVE-2020-1967',
};

test('the document is OpenAPI 3.1 and lists the tenancy, tags, logs, notifications and replication endpoints', async () => {
  const r = await fetch(`${reg.url}/api/v1/openapi.json`);
  assert.equal(r.status, 200);
  const doc = (await r.json()) as { openapi: string; paths: Record<string, object> };
  assert.equal(doc.openapi, '3.1.0');
  for (const p of ['/api/v1/user/', '/api/v1/organization/{org}/team/{team}', '/api/v1/repository/{repository}/permissions/user/{username}',
    '/api/v1/repository/{repository}/tag/{tag}/restore', '/api/v1/repository/{repository}/logs', '/api/v1/user/apptoken', '/api/v1/replication/status']) {
    assert.ok(p in doc.paths, `${p} is documented`);
  }
  assert.ok(Object.keys(doc.paths).some((p) => p.includes('/notification')), 'notifications are documented');
});

test('every documented operation is routed and none answers 500', async () => {
  const doc = (await (await fetch(`${reg.url}/api/v1/discovery`)).json()) as { paths: Record<string, Record<string, unknown>> };
  let checked = 0;
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item)) {
      const url = path.replace(/\{([^}]+)\}/g, (_, k: string) => {
        const v = SAMPLE[k];
        assert.ok(v, `no sample value for {${k}} in ${path}`);
        return v;
      });
      const r = await fetch(`${reg.url}${url}`, {
        method: method.toUpperCase(),
        headers: { Authorization: basic(admin), 'Content-Type': 'application/json' },
        ...(['post', 'put', 'patch'].includes(method) ? { body: '{}' } : {}),
      });
      const text = await r.text();
      assert.notEqual(r.status, 500, `${method.toUpperCase()} ${url}: ${text.slice(0, 200)}`);
      if (r.status === 404 || r.status === 405) {
        const detail = (JSON.parse(text) as { errors?: { detail?: { path?: string } }[] }).errors?.[0]?.detail;
        assert.ok(!detail?.path, `${method.toUpperCase()} ${path} is documented but not routed`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 40, `only ${checked} operations documented`);
});
