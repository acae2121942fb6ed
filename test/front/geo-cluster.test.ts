import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts, geoUp } from '../../deploy/local/geo-up.js';
import { geoDown } from '../../deploy/local/geo-down.js';
import { request, until, type Reply } from '../../deploy/local/http-request.js';
import type { GeoState } from '../../deploy/local/state.js';
import { ensureCeph, type CephS3 } from '../support/ceph.js';
import { TEST_PG_URL } from '../support/db.js';
import { VULN_DATA } from '../support/vuln-data.js';

/**
 * The whole local geo cluster (geo:up's code, in-process, on free ports): three regions on Ceph RGW, Azurite and
 * the GCS emulator, NATS JetStream with three servers, two registry nodes, a replicator and a scanner per region,
 * HAProxy in front. Clients are told apart by source address: 127.0.1.x is us-east, 127.0.2.x eu-west, 127.0.3.x
 * ap-south.
 */
const US = '127.0.1.1';
const EU = '127.0.2.1';
const AP = '127.0.3.1';
const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
/** A real Debian bookworm layer holding dpkg's database (88 packages), from the shared vulnerability corpus. */
const DPKG_LAYER = join(VULN_DATA, 'layers/debian-bookworm-minbase.dpkgdb.layer.tar');

// The suite's budget covers the cluster start (up to 120 s), the tests and the wait for a scan (up to 180 s).
describe('local geo cluster through the front', { timeout: 420_000 }, () => {
  let ceph: CephS3 | undefined;
  let stateDir: string;
  let state: GeoState | undefined;
  let front: string;

  const call = (client: string, path: string, opts: { method?: string; body?: Uint8Array; headers?: Record<string, string> } = {}): Promise<Reply> =>
    request(`${front}${path}`, { ...opts, localAddress: client });

  const pushBlob = async (client: string, repo: string, data: Uint8Array): Promise<string> => {
    const digest = sha256(data);
    const r = await call(client, `/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(r.status, 201, `push blob: ${r.status} ${r.text()}`);
    return digest;
  };

  before(async () => {
    ceph = await ensureCeph();
    stateDir = await mkdtemp(join(tmpdir(), 'wharf-geo-test-'));
    const t0 = Date.now();
    state = await geoUp({
      stateDir,
      ports: await freePorts(),
      s3: ceph,
      bucketSuffix: randomBytes(4).toString('hex'),
      adminPgUrl: TEST_PG_URL,
      database: `wharf_geo_test_${randomBytes(5).toString('hex')}`,
      nodeEnv: { WHARF_LOG_LEVEL: process.env.WHARF_TEST_LOG_LEVEL ?? 'info' },
      timeoutMs: 120_000,
      log: (l) => process.stderr.write(`geo: ${l}\n`),
    });
    process.stderr.write(`geo cluster up in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    front = state.front!.url;
  });

  after(async () => {
    if (stateDir) {
      await geoDown({ stateDir });
      await rm(stateDir, { recursive: true, force: true });
    }
    await ceph?.stop();
  });

  it('started every part: two ready nodes, a replicator and a scanner per region, each region served by its own nodes', async () => {
    assert.deepEqual(state!.regions.map((r) => r.name), ['us-east', 'eu-west', 'ap-south']);
    assert.deepEqual(state!.notes, [], 'no part was left out');
    assert.equal(new Set(state!.regions.map((r) => r.scanner)).size, 3, 'one scanner of its own per region');
    for (const r of state!.regions) {
      for (const url of [...r.nodes, r.replicator!, r.scanner!]) assert.equal((await fetch(`${url}/readyz`)).status, 200, url);
      assert.equal((await fetch(`${r.scanner}/healthz`)).status, 200, `${r.name} scanner /healthz`);
      const reply = await call(r.clientAddress, '/v2/');
      assert.equal(reply.status, 200);
      assert.equal(reply.header('x-wharf-served-region'), r.name);
    }
  });

  it('an image pushed by a us-east client is pulled at once by an eu-west client, served by eu-west, and replicates everywhere', async () => {
    const repo = 'geo/app';
    const layer = randomBytes(700_000);
    const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: new Date().toISOString() }));
    const config = await pushBlob(US, repo, configBytes);
    const layerDigest = await pushBlob(US, repo, layer);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: configBytes.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
    }));
    const put = await call(US, `/v2/${repo}/manifests/v1`, { method: 'PUT', body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(put.status, 201, put.text());
    assert.equal(put.header('x-wharf-served-region'), 'us-east');

    // Immediately, before replication can have finished: the eu-west client gets the right bytes from eu-west.
    const m = await call(EU, `/v2/${repo}/manifests/v1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(m.status, 200);
    assert.equal(m.header('x-wharf-served-region'), 'eu-west');
    assert.equal(sha256(m.body), sha256(manifest));
    const blob = await call(EU, `/v2/${repo}/blobs/${layerDigest}`);
    assert.equal(blob.status, 200);
    assert.equal(blob.header('x-wharf-served-region'), 'eu-west');
    assert.equal(sha256(blob.body), layerDigest);
    const cfg = await call(EU, `/v2/${repo}/blobs/${config}`);
    assert.deepEqual(cfg.body, configBytes);

    const status = await until('every region to hold the image', 60_000, async () => {
      const s = (await call(AP, `/api/v1/replication/repositories/${repo}/manifests/v1`)).json<{ regions: Record<string, { complete: boolean }> }>();
      return ['us-east', 'eu-west', 'ap-south'].every((r) => s.regions[r]?.complete === true) ? s : undefined;
    }, 250);
    assert.deepEqual(Object.keys(status.regions).sort(), ['ap-south', 'eu-west', 'us-east']);
    // And ap-south serves it from its own store now.
    const ap = await call(AP, `/v2/${repo}/blobs/${layerDigest}`);
    assert.equal(ap.header('x-wharf-served-region'), 'ap-south');
    assert.equal(sha256(ap.body), layerDigest);
  });

  it('a chunked upload begun as a us-east client can be continued as an eu-west client and completes', async () => {
    const repo = 'geo/chunked';
    const data = randomBytes(300_000);
    const digest = sha256(data);
    const start = await call(US, `/v2/${repo}/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202, start.text());
    const loc = (l: string | undefined): string => new URL(l!, front).pathname + new URL(l!, front).search;
    let location = loc(start.header('location'));
    const parts = [data.subarray(0, 100_000), data.subarray(100_000, 200_000), data.subarray(200_000)];
    let offset = 0;
    for (const [i, part] of parts.entries()) {
      const r = await call(i === 1 ? EU : US, location, {
        method: 'PATCH', body: part,
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${offset + part.length - 1}` },
      });
      assert.equal(r.status, 202, `chunk ${i}: ${r.status} ${r.text()}`);
      offset += part.length;
      location = loc(r.header('location'));
    }
    const sep = location.includes('?') ? '&' : '?';
    const done = await call(EU, `${location}${sep}digest=${digest}`, { method: 'PUT' });
    assert.equal(done.status, 201, done.text());
    const back = await call(AP, `/v2/${repo}/blobs/${digest}`);
    assert.equal(back.status, 200);
    assert.equal(sha256(back.body), digest);
  });

  // The region's scanner queues the image on its manifest.pushed event; the scanners share the queue in PostgreSQL,
  // so any of them may index it (from the store of a region holding the layer), and every one serves the report.
  it('an image pushed by an eu-west client gets scanned: its region\'s scanner reports 88 dpkg packages of Debian 12', async () => {
    const eu = state!.regions.find((r) => r.name === 'eu-west')!;
    // Every registry node has its region's scanner and none started one of its own.
    for (const r of state!.regions) {
      for (const n of r.nodes) {
        const name = state!.processes.find((p) => p.url === n)!.name;
        const log = await readFile(join(state!.logsDir, `${name}.log`), 'utf8');
        assert.doesNotMatch(log, /embedded scanner started/, `${name} runs no embedded scanner`);
      }
    }
    const repo = 'geo/debian';
    const layer = await readFile(DPKG_LAYER);
    const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
    const config = await pushBlob(EU, repo, configBytes);
    const layerDigest = await pushBlob(EU, repo, layer);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: configBytes.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    }));
    const put = await call(EU, `/v2/${repo}/manifests/bookworm`, { method: 'PUT', body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(put.status, 201, put.text());
    assert.equal(put.header('x-wharf-served-region'), 'eu-west');
    const digest = sha256(manifest);

    interface IndexReport {
      state: string;
      err?: string;
      packages: Record<string, { name: string; format: string }>;
      distributions: Record<string, { did: string; version_id: string; version_code_name: string }>;
    }
    let last = 'no report yet';
    // Generous: a wait for the manifest.pushed event and the indexing, not a timing claim.
    const report = await until(`the eu-west scanner to report ${digest} indexed`, 180_000, async () => {
      const r = await fetch(`${eu.scanner}/indexer/api/v1/index_report/${digest}`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
      if (r?.status !== 200) {
        last = `${r?.status ?? 'no answer'}`;
        return undefined;
      }
      const body = (await r.json()) as IndexReport;
      last = `${body.state} ${body.err ?? ''}`;
      // Done, or given up for good (retried errors, e.g. a blob not readable yet, are waited out).
      return body.state === 'IndexFinished' || (body.state === 'IndexError' && body.err?.includes('gave up')) ? body : undefined;
    }, 500).catch((err: Error) => assert.fail(`${err.message} (last: ${last})`));
    assert.equal(report.state, 'IndexFinished', `indexing failed: ${report.err}`);
    assert.equal(Object.values(report.packages).filter((p) => p.format === 'dpkg').length, 88);
    assert.deepEqual(Object.values(report.distributions).map((d) => [d.did, d.version_id, d.version_code_name]), [['debian', '12', 'bookworm']]);
  });
});
