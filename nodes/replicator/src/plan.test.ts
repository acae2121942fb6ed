import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCluster, type ClusterConfig } from '../../../shared/config/index.js';
import { createEvent, type EventInput, type WharfEvent } from '../../../shared/events/index.js';
import { digestOf, type Digest } from '../../../shared/oci/digest.js';
import type { RepoName } from '../../../shared/oci/reference.js';
import { planFor, referencedDigests } from './plan.js';

const cluster: ClusterConfig = parseCluster({
  regions: {
    'us-east': { storage: { driver: 'inmemory' } },
    'eu-west': { storage: { driver: 'inmemory' } },
    'ap-south': { storage: { driver: 'inmemory' } },
  },
  replication: {
    default: { regions: ['us-east', 'eu-west'] },
    namespaces: { apac: { regions: 'all' }, solo: { regions: ['us-east'] } },
  },
}, (s) => s as { driver: string });

const L1 = digestOf('layer-1');
const L2 = digestOf('layer-2');
const CFG = digestOf('config');
const CHILD = digestOf('child-manifest');

const ev = (input: EventInput): WharfEvent => createEvent(input, 'wharf://test/t/1');

const written = (region: string, repository: string, digest: Digest = L1): WharfEvent => ev({
  type: 'wharf.blob.written.v1',
  data: { region, digest, size: 7, repository: repository as RepoName, storageKey: 'blobs/x', uploadId: 'u' },
});

const pushed = (region: string, repository: string, refs: Digest[]): WharfEvent => ev({
  type: 'wharf.manifest.pushed.v1',
  data: {
    region, repository: repository as RepoName, digest: digestOf('manifest'), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 100,
    references: refs.map((digest, i) => ({ digest, size: 10 + i, mediaType: 'application/octet-stream' })), actor: '', requestId: 'r',
  },
});

describe('plan', () => {
  it('blob.written elsewhere → that blob, for a repository replicated here', () => {
    assert.deepEqual(planFor(written('us-east', 'library/app'), { cluster, region: 'eu-west' }), {
      type: 'copy', repository: 'library/app', eventRegion: 'us-east', blobs: [{ digest: L1, size: 7 }],
    });
  });

  it('blob.written in this very region → nothing (it is placed here already)', () => {
    assert.deepEqual(planFor(written('eu-west', 'library/app'), { cluster, region: 'eu-west' }), { type: 'skip', reason: 'written-here' });
  });

  it('follows the repository\'s policy: default list, namespace list, "all"', () => {
    assert.equal(planFor(written('us-east', 'library/app'), { cluster, region: 'ap-south' }).type, 'skip');
    assert.deepEqual(planFor(written('us-east', 'solo/app'), { cluster, region: 'eu-west' }), { type: 'skip', reason: 'not-required-here' });
    assert.equal(planFor(written('us-east', 'apac/app'), { cluster, region: 'ap-south' }).type, 'copy');
    assert.equal(planFor(written('ap-south', 'solo/app'), { cluster, region: 'us-east' }).type, 'copy');
  });

  it('manifest.pushed → every reference with a blob row, once each; child manifests drop out', () => {
    const e = pushed('us-east', 'library/app', [CFG, L1, L2, L1, CHILD]);
    assert.deepEqual(referencedDigests(e), [CFG, L1, L2, CHILD]);
    const p = planFor(e, { cluster, region: 'eu-west', blobRows: new Set([CFG, L1, L2]) });
    assert.deepEqual(p, {
      type: 'copy', repository: 'library/app', eventRegion: 'us-east',
      blobs: [{ digest: CFG, size: 10 }, { digest: L1, size: 11 }, { digest: L2, size: 12 }],
    });
  });

  it('manifest.pushed in this region still plans (mounted blobs never emitted blob.written here)', () => {
    const p = planFor(pushed('eu-west', 'library/app', [L1]), { cluster, region: 'eu-west', blobRows: new Set([L1]) });
    assert.equal(p.type, 'copy');
  });

  it('a manifest whose references are all child manifests (an index) → nothing to copy', () => {
    assert.deepEqual(
      planFor(pushed('us-east', 'library/app', [CHILD]), { cluster, region: 'eu-west', blobRows: new Set() }),
      { type: 'skip', reason: 'nothing-to-copy' },
    );
  });

  it('ignores other event types', () => {
    const done = ev({
      type: 'wharf.replication.done.v1',
      data: { digest: L1, size: 1, sourceRegion: 'us-east', targetRegion: 'eu-west', outcome: 'copied', durationMs: 1, attempt: 1 },
    });
    assert.deepEqual(referencedDigests(done), []);
    assert.deepEqual(planFor(done, { cluster, region: 'eu-west' }), { type: 'skip', reason: 'not-a-replication-event' });
  });
});
