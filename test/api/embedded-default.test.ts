import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnRegistry } from '../support/registry-process.js';
import { pushImage, sha256 } from '../support/oci-client.js';
import { VULN_DATA } from '../support/vuln-data.js';

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});

/** `npm start` with nothing configured: embedded PostgreSQL and filesystem storage under the data dir. */
describe('zero-setup default', () => {
  let dataDir: string;
  let env: Record<string, string>;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'wharf-embedded-'));
    // No WHARF_DATABASE_URL: the node starts its own PostgreSQL, on a free port so it never meets another one.
    env = { PORT: '0', WHARF_DATA_DIR: dataDir, WHARF_DATABASE_EMBEDDED_PORT: String(await freePort()), WHARF_DATABASE_URL: '' };
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves pushes and pulls, shuts down cleanly, and keeps everything across a restart', async () => {
    const first = await spawnRegistry(env);
    let img: Awaited<ReturnType<typeof pushImage>>;
    try {
      // A real layer (Debian bookworm's dpkg database), so the embedded scanner has something to find.
      const layer = await readFile(join(VULN_DATA, 'layers/debian-bookworm-minbase.dpkgdb.layer.tar'));
      img = await pushImage(first.url, 'demo/app', 'v1', { layers: [layer] });
      const ready = (await (await fetch(`${first.url}/readyz`)).json()) as { checks: { events: { detail?: string } } };
      assert.match(ready.checks.events.detail ?? '', /in-memory/);
      // The scanner runs beside the node with no set-up: the pushed image gets scanned.
      let security: { status: string; data: { Layer: { NamespaceName: string; Features: unknown[] } } | null } = { status: 'queued', data: null };
      const deadline = Date.now() + 120_000;
      while (security.status !== 'scanned' && security.status !== 'failed' && Date.now() < deadline) {
        const r = await fetch(`${first.url}/api/v1/repository/demo/app/manifest/${img.digest}/security`);
        if (r.status === 200) security = (await r.json()) as typeof security;
        if (security.status !== 'scanned') await new Promise((r2) => setTimeout(r2, 300));
      }
      assert.equal(security.status, 'scanned');
      assert.equal(security.data?.Layer.NamespaceName, 'debian:12');
      assert.equal(security.data?.Layer.Features.length, 88);
    } finally {
      first.child.kill('SIGTERM');
    }
    assert.equal(await first.exited, 0);
    assert.match(first.output(), /"component":"embedded-postgres","msg":"closed"/);

    const second = await spawnRegistry(env);
    try {
      const m = await fetch(`${second.url}/v2/demo/app/manifests/v1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
      assert.equal(m.status, 200);
      assert.equal(m.headers.get('docker-content-digest'), img.digest);
      const layer = await fetch(`${second.url}/v2/demo/app/blobs/${img.layers[0]}`);
      assert.equal(sha256(new Uint8Array(await layer.arrayBuffer())), img.layers[0]);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
