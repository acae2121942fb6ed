import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import pg from 'pg';
import { loadConfig, type Config } from '../../../shared/config/index.js';
import {
  connectJetStreamBus, createEvent, eventNames, silentLogger, type DeliveryControl, type EventBus, type ReplicationDoneEvent,
} from '../../../shared/events/index.js';
import { createLogger } from '../../../shared/logging/logger.js';
import type { Digest } from '../../../shared/oci/digest.js';
import type { RepoName } from '../../../shared/oci/reference.js';
import { blobKey } from '../../../shared/storage/paths.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/db.js';
import { writeClusterConfig } from '../../../test/support/cluster-config.js';
import { pushBlob, pushImage, sha256, type PushedImage } from '../../../test/support/oci-client.js';
import { startTestRegistry, type TestRegistry } from '../../../test/support/registry.js';
import { runCli } from './cli.js';
import { startReplicatorNode, type RunningReplicator } from './node.js';

const NATS_URL = process.env.WHARF_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const LOG_LEVEL = process.env.WHARF_TEST_LOG_LEVEL ?? 'silent';

/**
 * Two regions on one machine: a registry node in each (one database, one NATS stream under a test prefix,
 * filesystem stores in temp dirs) and the replicator of eu-west, in process or as its own OS process.
 */
describe('replicator (us-east → eu-west)', () => {
  const prefix = `wr${randomBytes(4).toString('hex')}`;
  const names = eventNames(prefix);
  let db: TestDatabase;
  let sql: pg.Pool;
  let cluster: Awaited<ReturnType<typeof writeClusterConfig>>;
  let us: TestRegistry;
  let eu: TestRegistry;
  let env: Record<string, string>;
  let config: Config;
  let rep: RunningReplicator | undefined;
  let observer: EventBus;
  const done: ReplicationDoneEvent[] = [];
  let img: PushedImage;

  const startReplicator = async () => {
    rep = await startReplicatorNode(config, { log: createLogger({ level: LOG_LEVEL, bindings: { node: 'test-replicator' } }), defaultMetrics: false });
    return rep;
  };
  const stopReplicator = async () => {
    await rep?.close();
    rep = undefined;
  };
  const euFile = (d: string) => join(cluster.storeRoots['eu-west']!, blobKey(d as Digest));
  const usFile = (d: string) => join(cluster.storeRoots['us-east']!, blobKey(d as Digest));
  const placement = async (digest: string, region: string) =>
    (await sql.query<{ copied_from: string | null; lag_ms: number | null; verified_at: Date }>(
      'SELECT copied_from, lag_ms, verified_at FROM blob_placements WHERE digest = $1 AND region = $2', [digest, region])).rows[0];
  const cli = async (...argv: string[]) => {
    let out = '';
    const code = await runCli(argv, { config, log: createLogger({ level: LOG_LEVEL, bindings: { node: 'test-cli' } }), out: (t) => (out += t) });
    return { code, out, json: () => JSON.parse(out) as any };
  };

  before(async () => {
    db = await createTestDatabase();
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
    cluster = await writeClusterConfig({
      regions: ['us-east', 'eu-west'],
      nearest: { 'eu-west': ['us-east'], 'us-east': ['eu-west'] },
      replication: { default: { regions: 'all' }, namespaces: { solo: { regions: ['us-east'] } } },
    });
    const common = { WHARF_CONFIG: cluster.file, WHARF_NATS_URL: NATS_URL, WHARF_NATS_PREFIX: prefix };
    us = await startTestRegistry({ ...common, WHARF_NODE_REGION: 'us-east' }, { db });
    eu = await startTestRegistry({ ...common, WHARF_NODE_REGION: 'eu-west' }, { db });
    env = {
      ...common, WHARF_NODE_REGION: 'eu-west', WHARF_DATABASE_URL: db.url, WHARF_DATA_DIR: cluster.dir,
      WHARF_SERVER_HOST: '127.0.0.1', WHARF_LOG_LEVEL: LOG_LEVEL, WHARF_REPLICATOR_ACK_WAIT_SECONDS: '2',
    };
    config = loadConfig(env);
    observer = await connectJetStreamBus({ servers: NATS_URL, names, logger: silentLogger, source: 'wharf://test/eu-west/observer' });
    await observer.subscribe({
      durable: 'test-observer',
      filterSubjects: [names.replicationDoneSubject('eu-west')],
      handler: async (ev) => {
        if (ev.type === 'wharf.replication.done.v1') done.push(ev);
        return { type: 'ack' };
      },
    });
    await startReplicator();
  });

  after(async () => {
    await stopReplicator();
    await observer?.close();
    await us?.stop();
    await eu?.stop();
    await sql?.end();
    const nc = await connect({ servers: NATS_URL });
    await (await nc.jetstreamManager()).streams.delete(names.stream).catch(() => {});
    await nc.close();
    await db?.drop();
    if (cluster) await rm(cluster.dir, { recursive: true, force: true });
  });

  it('copies every layer and the config of an image pushed in us-east, verified, with source and lag', async () => {
    img = await pushImage(us.url, 'library/app', 'v1', { layers: [randomBytes(300_000), randomBytes(5_000)] });
    for (const d of [img.config, ...img.layers]) {
      const p = await waitFor(() => placement(d, 'eu-west'), `eu-west placement of ${d}`);
      assert.equal(p.copied_from, 'us-east');
      assert.ok(p.lag_ms !== null && p.lag_ms >= 0);
      assert.equal(await hashFile(euFile(d)), d);
    }
    const events = await waitFor(() => {
      const mine = done.filter((e) => [img.config, ...img.layers].includes(e.data.digest));
      return mine.length >= 3 ? mine : undefined;
    }, 'replication.done events');
    for (const e of events) {
      assert.equal(e.data.outcome, 'copied');
      assert.equal(e.data.sourceRegion, 'us-east');
      assert.equal(e.data.targetRegion, 'eu-west');
      assert.equal(e.id, `repl:${e.data.digest}:eu-west`);
    }
    const r = await fetch(`${eu.url}/v2/library/app/blobs/${img.layers[0]}`);
    assert.equal(r.status, 200);
    assert.equal(sha256(new Uint8Array(await r.arrayBuffer())), img.layers[0]);
    const metrics = await (await fetch(`${rep!.opsUrl}/metrics`)).text();
    assert.match(metrics, /wharf_replication_copies_total\{outcome="copied"\} 3\b/);
    assert.match(metrics, /wharf_replication_bytes_copied_total 30\d{4}\b/);
    assert.match(metrics, /wharf_replication_copies_in_flight 0\b/);
    assert.equal((await fetch(`${rep!.opsUrl}/readyz`)).status, 200);
    assert.equal((await fetch(`${rep!.opsUrl}/healthz`)).status, 200);
  });

  it('leaves out repositories whose policy does not list eu-west', async () => {
    const skipped = () => metricSum(rep!, 'wharf_replicator_events_total', 'result="skip"');
    const before = await skipped();
    const solo = await pushImage(us.url, 'solo/app', 'v1');
    await waitFor(async () => ((await skipped()) >= before + 3 ? true : undefined), 'solo events handled');
    for (const d of [solo.config, ...solo.layers]) assert.equal(await placement(d, 'eu-west'), undefined);
  });

  it('handles a redelivered event idempotently', async () => {
    const copiedBefore = await metricSum(rep!, 'wharf_replication_copies_total', 'outcome="copied"');
    const placed = await placement(img.layers[0]!, 'eu-west');
    const mtime = (await stat(euFile(img.layers[0]!))).mtimeMs;
    const written = createEvent({
      type: 'wharf.blob.written.v1',
      data: {
        region: 'us-east', digest: img.layers[0] as Digest, size: 300_000, repository: 'library/app' as RepoName,
        storageKey: blobKey(img.layers[0] as Digest), uploadId: 'redelivered',
      },
    }, 'wharf://test/us-east/1');
    const pushed = createEvent({
      type: 'wharf.manifest.pushed.v1',
      data: {
        region: 'us-east', repository: 'library/app' as RepoName, digest: img.digest as Digest, mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: img.manifest.length, references: [img.config, ...img.layers].map((d) => ({ digest: d as Digest, size: 1, mediaType: 'x' })),
        actor: '', requestId: 'r',
      },
    }, 'wharf://test/us-east/1');
    for (const ev of [written, written, pushed, pushed]) {
      assert.deepEqual(await rep!.handler(ev, ctl(2)), { type: 'ack' });
    }
    assert.equal(await metricSum(rep!, 'wharf_replication_copies_total', 'outcome="copied"'), copiedBefore);
    assert.deepEqual(await placement(img.layers[0]!, 'eu-west'), placed);
    assert.equal((await stat(euFile(img.layers[0]!))).mtimeMs, mtime);
  });

  it('a stopped replicator catches up on start; meanwhile eu-west pulls are served from us-east', async () => {
    await stopReplicator();
    const img2 = await pushImage(us.url, 'library/app', 'v2', { layers: [randomBytes(50_000)] });
    const r = await fetch(`${eu.url}/v2/library/app/blobs/${img2.layers[0]}`);
    assert.equal(r.status, 200);
    assert.equal(sha256(new Uint8Array(await r.arrayBuffer())), img2.layers[0]);
    assert.equal(await placement(img2.layers[0]!, 'eu-west'), undefined);
    await startReplicator();
    for (const d of [img2.config, ...img2.layers]) {
      assert.equal((await waitFor(() => placement(d, 'eu-west'), 'catch-up placement')).copied_from, 'us-east');
      assert.equal(await hashFile(euFile(d)), d);
    }
  });

  it('detects a corrupt source: nothing is placed, the failure is recorded', async () => {
    await stopReplicator();
    const layer = randomBytes(200_000);
    const img3 = await pushImage(us.url, 'library/app', 'v3', { layers: [layer] });
    const bad = img3.layers[0]!;
    await writeFile(usFile(bad), randomBytes(layer.length)); // same length, other bytes
    await startReplicator();
    const failure = await waitFor(async () => (await sql.query<{ last_error: string; permanent: boolean }>(
      `SELECT last_error, permanent FROM replication_failures WHERE digest = $1 AND region = 'eu-west'`, [bad])).rows[0], 'failure row');
    assert.match(failure.last_error, /corrupt source us-east/);
    assert.equal(failure.permanent, false);
    await waitFor(() => placement(img3.config, 'eu-west'), 'the healthy config is still copied');
    assert.equal(await placement(bad, 'eu-west'), undefined);
    await assert.rejects(stat(euFile(bad)), { code: 'ENOENT' });
    assert.ok(await metricSum(rep!, 'wharf_replication_failures_total', 'kind="corrupt"') >= 1);
    // Retried while deliveries remain; on the last one the failure becomes permanent and the event is terminated.
    const ev = createEvent({
      type: 'wharf.blob.written.v1',
      data: { region: 'us-east', digest: bad as Digest, size: layer.length, repository: 'library/app' as RepoName, storageKey: blobKey(bad as Digest), uploadId: 'again' },
    }, 'wharf://test/us-east/1');
    assert.equal((await rep!.handler(ev, ctl(1))).type, 'nak');
    assert.equal((await rep!.handler(ev, ctl(config.replicator.maxDeliver))).type, 'term');
    const permanent = await sql.query<{ permanent: boolean; attempts: number }>(
      `SELECT permanent, attempts FROM replication_failures WHERE digest = $1 AND region = 'eu-west'`, [bad]);
    assert.equal(permanent.rows[0]?.permanent, true);
    assert.ok(permanent.rows[0]!.attempts >= 3);
    await writeFile(usFile(bad), layer); // repaired at the source: a later retry or reconcile copies it
  });

  it('reconcile re-queues a blob whose event was lost', async () => {
    const lost = img.layers[1]!;
    await sql.query(`DELETE FROM blob_placements WHERE digest = $1 AND region = 'eu-west'`, [lost]);
    await rm(euFile(lost));
    const r = await cli('reconcile', '--region', 'eu-west', '--json');
    assert.equal(r.code, 0, r.out);
    const report = r.json().regions[0];
    assert.equal(report.region, 'eu-west');
    assert.ok(report.missing >= 1 && report.requeued === report.missing, r.out);
    await waitFor(() => placement(lost, 'eu-west'), 're-copied placement');
    // The corrupt-source blob of the previous test, repaired at its source, came back too; its failure is cleared.
    await waitFor(async () => ((await sql.query(`SELECT 1 FROM replication_failures WHERE region = 'eu-west'`)).rowCount === 0 ? true : undefined),
      'failures cleared by the copy');
    assert.equal(await hashFile(euFile(lost)), lost);
    const text = await cli('reconcile');
    assert.match(text.out, /^eu-west: \d+ missing, \d+ re-queued$/m);
    assert.match(text.out, /^us-east: 0 missing, 0 re-queued$/m);
  });

  it('verify finds a missing and (deep) a corrupt object; --repair drops them and reconcile re-copies', async () => {
    const missing = img.config;
    const corrupt = img.layers[0]!;
    await rm(euFile(missing));
    await writeFile(euFile(corrupt), randomBytes(300_000));
    const shallow = await cli('verify', '--region', 'eu-west', '--json');
    assert.equal(shallow.code, 1);
    assert.deepEqual(shallow.json().bad.map((b: any) => [b.digest, b.problem]), [[missing, 'missing']]);
    const deep = await cli('verify', '--region', 'eu-west', '--deep');
    assert.equal(deep.code, 1);
    assert.match(deep.out, new RegExp(`missing +${missing}`));
    assert.match(deep.out, new RegExp(`digest +${corrupt}`));
    const repair = await cli('verify', '--region', 'eu-west', '--deep', '--repair', '--json');
    assert.equal(repair.code, 0);
    assert.equal(repair.json().repaired, 2);
    assert.equal(await placement(missing, 'eu-west'), undefined);
    assert.equal(await placement(corrupt, 'eu-west'), undefined);
    assert.equal((await cli('reconcile', '--region', 'eu-west')).code, 0);
    for (const d of [missing, corrupt]) {
      await waitFor(() => placement(d, 'eu-west'), 're-copied after repair');
      assert.equal(await hashFile(euFile(d)), d);
    }
    assert.equal((await cli('verify', '--region', 'eu-west', '--deep')).code, 0);
  });

  it('a replicator killed (SIGKILL) mid-copy leaves nothing partial visible and finishes after restart', async () => {
    await stopReplicator();
    const big = randomBytes(64 * 1024 * 1024);
    const tmpDir = join(cluster.storeRoots['eu-west']!, '~tmp');
    await mkdir(tmpDir, { recursive: true });
    const digest = await pushBlob(us.url, 'big/app', big);
    const first = await spawnReplicator(env);
    try {
      // Kill as soon as the copy's scratch file holds some bytes.
      const partial = await waitFor(async () => {
        for (const name of await readdir(tmpDir)) {
          const size = await stat(join(tmpDir, name)).then((s) => s.size, () => 0);
          if (size > 1024 * 1024) return { name, size };
        }
        return undefined;
      }, 'a copy in progress', 20_000, 1);
      first.child.kill('SIGKILL');
      await first.exited;
      assert.ok(partial.size < big.length, 'killed before the copy finished');
      assert.equal(await placement(digest, 'eu-west'), undefined);
      await assert.rejects(stat(euFile(digest)), { code: 'ENOENT' }, 'no object at the blob key');
    } finally {
      first.child.kill('SIGKILL');
    }
    const second = await spawnReplicator(env);
    try {
      // JetStream redelivers the killed delivery once its ack wait (2 s here) passes.
      const p = await waitFor(() => placement(digest, 'eu-west'), 'placement after restart', 30_000);
      assert.equal(p.copied_from, 'us-east');
      assert.equal((await stat(euFile(digest))).size, big.length);
      assert.equal(await hashFile(euFile(digest)), digest);
      // Every object visible in eu-west's store hashes to the digest its key names.
      for (const file of await walk(join(cluster.storeRoots['eu-west']!, 'blobs'))) {
        const [alg, , hex] = relative(join(cluster.storeRoots['eu-west']!, 'blobs'), file).split('/');
        assert.equal(await hashFile(file), `${alg}:${hex}`);
      }
      const metrics = await (await fetch(`${second.url}/metrics`)).text();
      assert.match(metrics, /wharf_replication_copies_total\{outcome="copied"\} [1-9]/);
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);
    } finally {
      second.child.kill('SIGKILL');
    }
  });

  it('remove-region refuses a region the policy requires, and with --force drains it safely', async () => {
    // The replicator is stopped: only us-east holds this image, and solo/* is kept nowhere else by policy.
    const img4 = await pushImage(us.url, 'library/app', 'v4', { layers: [randomBytes(40_000)] });
    const usOnly = (await sql.query<{ digest: string }>(
      `SELECT digest FROM blob_placements p WHERE region = 'us-east'
       AND NOT EXISTS (SELECT 1 FROM blob_placements q WHERE q.digest = p.digest AND q.region = 'eu-west')`)).rows.map((r) => r.digest);
    assert.ok(usOnly.includes(img4.layers[0]!) && usOnly.length >= 4, 'solo/app and v4 blobs are only in us-east');
    const refused = await cli('remove-region', '--region', 'us-east', '--json');
    assert.equal(refused.code, 2);
    assert.match(refused.json().refused, /still required by the replication policy/);

    const r = await cli('remove-region', '--region', 'us-east', '--force', '--delete-bytes', '--json');
    assert.equal(r.code, 0, r.out);
    const report = r.json();
    assert.equal(report.copied, usOnly.length);
    assert.equal(report.removed, report.blobs);
    assert.equal(report.bytesDeleted, report.blobs);
    assert.deepEqual(report.failed, []);
    assert.equal((await sql.query(`SELECT 1 FROM blob_placements WHERE region = 'us-east'`)).rowCount, 0);
    assert.deepEqual(await walk(join(cluster.storeRoots['us-east']!, 'blobs')), []);
    for (const d of usOnly) {
      assert.equal((await placement(d, 'eu-west'))?.copied_from, 'us-east');
      assert.equal(await hashFile(euFile(d)), d);
    }
    const pulled = await fetch(`${eu.url}/v2/library/app/blobs/${img4.layers[0]}`);
    assert.equal(sha256(new Uint8Array(await pulled.arrayBuffer())), img4.layers[0]);
  });
});

function ctl(deliveryCount: number): DeliveryControl {
  return { deliveryCount, subject: 'test', signal: new AbortController().signal, working() {} };
}

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

/** Sum of a metric's samples whose labels contain `label` (e.g. 'outcome="copied"'). */
async function metricSum(rep: RunningReplicator, name: string, label: string): Promise<number> {
  const text = await rep.deps.metrics!.registry.getSingleMetricAsString(name);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(label)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

/** The replicator as its own OS process (`node --import tsx nodes/replicator/src/main.ts`), so it can be SIGKILLed. */
async function spawnReplicator(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    env: { ...process.env, ...env, WHARF_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const m = /"port":(\d+)[^\n]*"msg":"replicator listening"/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`replicator exited with ${code} before listening:\n${out}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, exited };
}

