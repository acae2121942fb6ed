import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { pushImage, sha256 } from '../support/oci-client.js';

describe('registry smoke', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startTestRegistry();
  });
  after(async () => {
    await reg.stop();
  });

  it('pushes and pulls an image by tag and digest', async () => {
    const img = await pushImage(reg.url, 'library/hello', 'v1');
    const byTag = await fetch(`${reg.url}/v2/library/hello/manifests/v1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(byTag.status, 200);
    assert.equal(byTag.headers.get('docker-content-digest'), img.digest);
    assert.deepEqual(new Uint8Array(await byTag.arrayBuffer()), img.manifest);
    const blob = await fetch(`${reg.url}/v2/library/hello/blobs/${img.layers[0]}`);
    assert.equal(blob.status, 200);
    assert.equal(sha256(new Uint8Array(await blob.arrayBuffer())), img.layers[0]);
  });
});
