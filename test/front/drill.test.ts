import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, geoUp } from '../../deploy/local/geo-up.js';
import { geoDown } from '../../deploy/local/geo-down.js';
import type { GeoState } from '../../deploy/local/state.js';
import { describeRegionOutage, regionOutage } from '../../deploy/drill/region-outage.js';
import { ensureCeph, type CephS3 } from '../support/ceph.js';
import { TEST_PG_URL } from '../support/db.js';

/**
 * The region-outage drill in sync mode against the whole local geo cluster (in-process, free ports): eu-west
 * (Azurite, which restarts in about a second) loses its nodes, its replicator and its store to kill -9 under
 * load from clients of every region. Pushes may fail while it is down (they were not acknowledged; clients
 * retry), but every acknowledged blob is in 2 regions (namespace prod, syncRegions 2) and the front fails over,
 * so no pull of an acknowledged blob may fail, none may be lost, and eu-west catches up once back.
 */
describe('drill: region outage (sync)', { timeout: 180_000 }, () => {
  let ceph: CephS3 | undefined;
  let stateDir: string;
  let state: GeoState;

  before(async () => {
    ceph = await ensureCeph();
    stateDir = await mkdtemp(join(tmpdir(), 'wharf-drill-test-'));
    state = await geoUp({
      stateDir,
      ports: await freePorts(),
      s3: ceph,
      bucketSuffix: randomBytes(4).toString('hex'),
      adminPgUrl: TEST_PG_URL,
      database: `wharf_drill_test_${randomBytes(5).toString('hex')}`,
      // Events a replicator had in flight when killed come back after ackWaitSeconds: 10 s instead of 60 bounds
      // the catch-up (and the test's length).
      nodeEnv: { WHARF_LOG_LEVEL: process.env.WHARF_TEST_LOG_LEVEL ?? 'info', WHARF_REPLICATOR_ACK_WAIT_SECONDS: '10' },
      timeoutMs: 90_000,
      log: (l) => process.stderr.write(`geo: ${l}\n`),
    });
  });

  after(async () => {
    if (stateDir) {
      await geoDown({ stateDir });
      await rm(stateDir, { recursive: true, force: true });
    }
    await ceph?.stop();
  });

  it('eu-west killed under load: no failed pull, no acknowledged push lost, eu-west catches up', async () => {
    const report = await regionOutage(state, {
      region: 'eu-west', sync: true, durationS: 16, catchUpTimeoutS: 60, log: (l) => process.stderr.write(`drill: ${l}\n`),
    });
    process.stderr.write(`${describeRegionOutage(report)}\n${JSON.stringify(report)}\n`);
    assert.ok(report.pulls > 0 && report.acknowledged_pushes > 0, 'the load ran');
    assert.deepEqual(report.killed.sort(), ['azurite', 'registry-eu-west-1', 'registry-eu-west-2', 'replicator-eu-west-1', 'scanner-eu-west-1']);
    assert.equal(report.failed_pulls, 0, `failed pulls: ${JSON.stringify(report.failures.filter((f) => f.op === 'pull'))}`);
    assert.equal(report.acknowledged_pushes_lost, 0);
    assert.equal(typeof report.catch_up_s, 'number', 'eu-west caught up (backlog 0)');
    assert.equal(report.not_placed_everywhere, 0);
  });
});
