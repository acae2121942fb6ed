import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './index.js';

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cfg-'));
  const file = (o: unknown) => {
    const p = join(dir, `${Math.random()}.json`);
    writeFileSync(p, JSON.stringify(o));
    return p;
  };

  it('has the documented defaults', () => {
    const c = loadConfig({});
    assert.equal(c.server.port, 5000);
    assert.equal(c.storage.driver, 'filesystem');
    assert.equal(c.database.url, null);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.storage.s3));
  });

  it('layers file, then WHARF_* env, then PORT', () => {
    const c = loadConfig({
      WHARF_CONFIG: file({ server: { port: 6000 }, storage: { driver: 's3', s3: { endpoint: 'http://x', bucket: 'b' } } }),
      WHARF_STORAGE_S3_FORCE_PATH_STYLE: 'false', WHARF_GC_GRACE_SECONDS: '60', PORT: '7000', WHARF_DATA_DIR: '/tmp/x',
    });
    assert.equal(c.server.port, 7000);
    assert.equal(c.storage.s3.forcePathStyle, false);
    assert.equal(c.storage.s3.bucket, 'b');
    assert.equal(c.gc.graceSeconds, 60);
    assert.equal(c.dataDir, '/tmp/x');
  });

  it('reads secrets from *_FILE', () => {
    const p = join(dir, 'secret');
    writeFileSync(p, 'hunter2\n');
    assert.equal(loadConfig({ WHARF_STORAGE_S3_SECRET_ACCESS_KEY_FILE: p }).storage.s3.secretAccessKey, 'hunter2');
  });

  for (const [name, env, re] of [
    ['an unknown file key', { WHARF_CONFIG: file({ storage: { driverr: 'x' } }) }, /unknown config key "storage.driverr"/],
    ['a wrong type in the file', { WHARF_CONFIG: file({ server: { port: '80' } }) }, /must be a number/],
    ['a non-numeric env number', { PORT: 'eighty' }, /PORT must be a number/],
    ['a bad boolean', { WHARF_GC_ENABLED: 'maybe' }, /true or false/],
    ['an unknown driver', { WHARF_STORAGE_DRIVER: 'ftp' }, /not one of/],
    ['s3 without bucket', { WHARF_STORAGE_DRIVER: 's3' }, /bucket is required/],
    ['a bad region', { WHARF_NODE_REGION: 'EU West' }, /region/],
  ] as const) {
    it(`fails on ${name}`, () => assert.throws(() => loadConfig(env as Record<string, string>), (e: unknown) => e instanceof ConfigError && re.test(e.message)));
  }
});
