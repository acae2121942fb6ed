import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../../../../test/support/registry.js';
import { pushImage } from '../../../../test/support/oci-client.js';

describe('operations endpoints', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry();
  });
  after(async () => {
    await reg.stop();
  });

  it('healthz and readyz report the node and each dependency', async () => {
    assert.deepEqual(await (await fetch(`${reg.url}/healthz`)).json(), { status: 'ok' });
    const ready = await fetch(`${reg.url}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    assert.equal(body.status, 'ready');
    assert.deepEqual(Object.keys(body.checks).sort(), ['database', 'events', 'storage']);
  });

  it('metrics count requests by route and status, bytes both ways and latency', async () => {
    const img = await pushImage(reg.url, 'ops/app', 'v1', { layers: [new Uint8Array(10_000)] });
    await (await fetch(`${reg.url}/v2/ops/app/blobs/${img.layers[0]}`)).arrayBuffer();
    await fetch(`${reg.url}/v2/ops/app/manifests/missing`);
    const text = await (await fetch(`${reg.url}/metrics`)).text();
    const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    assert.equal(value(/wharf_http_requests_total\{route="manifest",method="PUT",status="201"\} (\d+)/), 1);
    assert.equal(value(/wharf_http_requests_total\{route="manifest",method="GET",status="404"\} (\d+)/), 1);
    assert.equal(value(/wharf_http_requests_total\{route="upload-start",method="POST",status="201"\} (\d+)/), 2);
    assert.ok(value(/wharf_http_request_bytes_total\{route="upload-start"\} (\d+)/) >= 10_000);
    assert.ok(value(/wharf_http_response_bytes_total\{route="blob"\} (\d+)/) >= 10_000);
    assert.equal(value(/wharf_http_request_duration_seconds_count\{route="blob",method="GET"\} (\d+)/), 1);
    assert.equal(value(/wharf_uploads_in_flight (\d+)/), 0);
  });

  it('counts a request the client abandoned mid-body as aborted', async () => {
    const { request } = await import('node:http');
    const req = request(`${reg.url}/v2/ops/abort/blobs/uploads/?digest=sha256:${'a'.repeat(64)}`, {
      method: 'POST', headers: { 'Content-Length': '1000000' },
    });
    req.on('error', () => {});
    req.write(Buffer.alloc(1000));
    const metric = async () => /wharf_http_requests_total\{route="upload-start",method="POST",status="aborted"\} (\d+)/
      .exec(await (await fetch(`${reg.url}/metrics`)).text())?.[1];
    for (let i = 0; i < 200 && !/wharf_uploads_in_flight 1\b/.test(await (await fetch(`${reg.url}/metrics`)).text()); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    req.destroy();
    let seen: string | undefined;
    for (let i = 0; i < 200 && !(seen = await metric()); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(seen, '1');
  });

  it('echoes a sane X-Request-Id and invents one otherwise', async () => {
    const mine = await fetch(`${reg.url}/v2/`, { headers: { 'X-Request-Id': 'abc-123' } });
    assert.equal(mine.headers.get('x-request-id'), 'abc-123');
    const evil = await fetch(`${reg.url}/v2/`, { headers: { 'X-Request-Id': 'a"b\u0001'.replace('\u0001', '') + ' x' } });
    assert.match(evil.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
  });
});
