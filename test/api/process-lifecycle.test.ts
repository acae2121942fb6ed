import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { spawnRegistry } from '../support/registry-process.js';
import { errorCode, sha256 } from '../support/oci-client.js';

/** Opens a monolithic upload, sends `sent` of `total` bytes and leaves the request hanging. */
function startHangingUpload(url: string, repo: string, digest: string, total: number, sent: Buffer) {
  const req = request(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: 'POST', headers: { 'Content-Length': String(total), 'Content-Type': 'application/octet-stream' },
  });
  const response = new Promise<{ status: number; digest: string | undefined }>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, digest: res.headers['docker-content-digest'] as string | undefined });
    });
    req.on('error', reject);
  });
  req.write(sent);
  return { req, response };
}

async function until(cond: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition not reached');
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
  }
  return out;
}

describe('registry process lifecycle', () => {
  let db: TestDatabase;
  let dataDir: string;
  const env = () => ({ PORT: '0', WHARF_DATABASE_URL: db.url, WHARF_DATA_DIR: dataDir, WHARF_GC_ENABLED: 'false' });

  before(async () => {
    db = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'wharf-proc-'));
  });
  after(async () => {
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a SIGKILL in the middle of an upload leaves no blob visible, and the same push works after restart', async () => {
    const body = randomBytes(4 * 1024 * 1024);
    const digest = sha256(body);
    const first = await spawnRegistry(env());
    const { req, response } = startHangingUpload(first.url, 'crash/app', digest, body.length, body.subarray(0, body.length / 2));
    response.catch(() => {});
    // Wait until the half body is on disk (in the writer's temp area), then kill without any chance to clean up.
    for (let i = 0; i < 200 && !(await listFiles(join(dataDir, 'storage')).catch(() => [])).some((f) => f.includes('~tmp')); i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    first.child.kill('SIGKILL');
    await first.exited;
    req.destroy();

    const second = await spawnRegistry(env());
    try {
      const head = await fetch(`${second.url}/v2/crash/app/blobs/${digest}`, { method: 'HEAD' });
      assert.equal(head.status, 404, 'a half-written blob must not be visible');
      const blobFiles = (await listFiles(join(dataDir, 'storage'))).filter((f) => f.includes('/blobs/'));
      assert.deepEqual(blobFiles, [], 'nothing may reach the blob area');
      const put = await fetch(`${second.url}/v2/crash/app/blobs/uploads/?digest=${digest}`, { method: 'POST', body });
      assert.equal(put.status, 201);
      const get = await fetch(`${second.url}/v2/crash/app/blobs/${digest}`);
      assert.equal(sha256(new Uint8Array(await get.arrayBuffer())), digest);
    } finally {
      second.child.kill('SIGKILL');
      await second.exited;
    }
  });

  it('SIGTERM lets a running upload finish, refuses new connections, then exits 0', async () => {
    const proc = await spawnRegistry(env());
    const body = randomBytes(2 * 1024 * 1024);
    const digest = sha256(body);
    const { req, response } = startHangingUpload(proc.url, 'term/app', digest, body.length, body.subarray(0, 1024 * 1024));
    await until(async () => /wharf_uploads_in_flight 1\b/.test(await (await fetch(`${proc.url}/metrics`)).text()));
    proc.child.kill('SIGTERM');
    await until(async () => /"msg":"shutting down"/.test(proc.output()));
    await assert.rejects(fetch(`${proc.url}/v2/`), 'a stopping node accepts no new connections');
    req.end(body.subarray(1024 * 1024));
    const res = await response;
    assert.equal(res.status, 201);
    assert.equal(res.digest, digest);
    assert.equal(await proc.exited, 0);
    assert.match(proc.output(), /"msg":"shutting down"/);

    const again = await spawnRegistry(env());
    try {
      const get = await fetch(`${again.url}/v2/term/app/blobs/${digest}`);
      assert.equal(get.status, 200);
      assert.equal(sha256(new Uint8Array(await get.arrayBuffer())), digest);
      const missing = await fetch(`${again.url}/v2/term/app/blobs/sha256:${'0'.repeat(64)}`);
      assert.equal(missing.status, 404);
      assert.equal(await errorCode(missing), 'BLOB_UNKNOWN');
    } finally {
      again.child.kill('SIGKILL');
      await again.exited;
    }
  });
});
