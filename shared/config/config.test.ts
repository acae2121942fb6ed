import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, peersByDistance, policyFor, requiredRegions } from './index.js';

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
      WHARF_STORAGE_S3_FORCE_PATH_STYLE: 'false', WHARF_GC_GRACE_SECONDS: '600', PORT: '7000', WHARF_DATA_DIR: '/tmp/x',
    });
    assert.equal(c.server.port, 7000);
    assert.equal(c.storage.s3.forcePathStyle, false);
    assert.equal(c.storage.s3.bucket, 'b');
    assert.equal(c.gc.graceSeconds, 600);
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
    ['azure without container', { WHARF_STORAGE_DRIVER: 'azure', WHARF_STORAGE_AZURE_ACCOUNT_NAME: 'a1', WHARF_STORAGE_AZURE_ACCOUNT_KEY: 'k' }, /azure.container is required/],
    ['gcs without bucket', { WHARF_STORAGE_DRIVER: 'gcs' }, /gcs.bucket is required/],
    ['a bad region', { WHARF_NODE_REGION: 'EU West' }, /region/],
  ] as const) {
    it(`fails on ${name}`, () => assert.throws(() => loadConfig(env as Record<string, string>), (e: unknown) => e instanceof ConfigError && re.test(e.message)));
  }
});

describe('cluster section', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cluster-'));
  const file = (o: unknown) => {
    const p = join(dir, `${Math.random()}.json`);
    writeFileSync(p, JSON.stringify(o));
    return p;
  };
  const cluster = {
    regions: {
      'us-east': { endpoint: 'http://us.example', nearest: ['eu-west'], storage: { driver: 's3', s3: { bucket: 'us', endpoint: 'http://s3' } } },
      'eu-west': { storage: { driver: 'filesystem', filesystem: { root: '/srv/eu' } } },
      'ap-south': { nearest: ['eu-west', 'us-east'], storage: { driver: 'inmemory' } },
    },
    replication: { default: { regions: 'all' }, namespaces: { eu: { regions: ['eu-west', 'us-east'], syncRegions: 2 } } },
  };

  it('parses regions, their stores, nearness and the replication policy', () => {
    const c = loadConfig({ WHARF_CONFIG: file({ node: { region: 'eu-west' }, cluster }) });
    assert.deepEqual(c.cluster.regions.map((r) => r.name), ['ap-south', 'eu-west', 'us-east']);
    const us = c.cluster.regions.find((r) => r.name === 'us-east')!;
    assert.equal(us.storage.driver, 's3');
    assert.equal((us.storage.s3 as { bucket: string }).bucket, 'us');
    assert.equal((us.storage.s3 as { forcePathStyle: boolean }).forcePathStyle, true, 'region stores get the storage defaults');
    assert.deepEqual(requiredRegions(c.cluster, 'eu/app'), ['eu-west', 'us-east']);
    assert.deepEqual(requiredRegions(c.cluster, 'other/app'), ['ap-south', 'eu-west', 'us-east']);
    assert.equal(policyFor(c.cluster, 'eu/app').syncRegions, 2);
    assert.deepEqual(peersByDistance(c.cluster, 'ap-south'), ['eu-west', 'us-east']);
    assert.deepEqual(peersByDistance(c.cluster, 'us-east'), ['eu-west', 'ap-south']);
    assert.deepEqual(peersByDistance(c.cluster, 'eu-west'), ['ap-south', 'us-east']);
  });

  it('is a one-region cluster of the node\'s own store without a cluster section', () => {
    const c = loadConfig({ WHARF_NODE_REGION: 'x', WHARF_STORAGE_DRIVER: 'inmemory' });
    assert.deepEqual(c.cluster.regions.map((r) => [r.name, r.storage.driver]), [['x', 'inmemory']]);
  });

  for (const [name, mutate, re] of [
    ['a node outside the cluster', (o: any) => (o.node.region = 'mars'), /not one of the cluster's regions/],
    ['an unknown region key', (o: any) => (o.cluster.regions['us-east'].zone = 'a'), /unknown config key "cluster.regions.us-east.zone"/],
    ['a bad store in a region', (o: any) => (o.cluster.regions['eu-west'].storage = { driver: 's3' }), /cluster.regions.eu-west.storage.s3.bucket is required/],
    ['an unknown storage key in a region', (o: any) => (o.cluster.regions['eu-west'].storage.fs = {}), /unknown config key "cluster.regions.eu-west.storage.fs"/],
    ['nearest naming a stranger', (o: any) => (o.cluster.regions['us-east'].nearest = ['mars']), /not another region/],
    ['a policy naming a stranger', (o: any) => (o.cluster.replication.namespaces.eu.regions = ['mars']), /unknown region "mars"/],
    ['syncRegions above the regions required', (o: any) => (o.cluster.replication.namespaces.eu.syncRegions = 3), /syncRegions must be an integer from 1 to 2/],
  ] as const) {
    it(`fails on ${name}`, () => {
      const o = structuredClone({ node: { region: 'eu-west' }, cluster }) as any;
      (mutate as (o: any) => void)(o);
      assert.throws(() => loadConfig({ WHARF_CONFIG: file(o) }), (e: unknown) => e instanceof ConfigError && (re as RegExp).test(e.message));
    });
  }
});
