import { requiredRegions, type ClusterConfig } from '../../../shared/config/index.js';
import type { WharfEvent } from '../../../shared/events/index.js';
import type { Digest } from '../../../shared/oci/digest.js';

/** One blob this region must hold, with the size the event announced (the blob row's size is authoritative). */
export interface PlannedBlob {
  digest: Digest;
  size: number;
}

export type Plan =
  | {
      type: 'copy';
      repository: string;
      /** Region the event comes from: where the blob was written, or where the manifest was pushed. */
      eventRegion: string;
      blobs: PlannedBlob[];
    }
  | { type: 'skip'; reason: 'not-a-replication-event' | 'written-here' | 'not-required-here' | 'nothing-to-copy' };

/**
 * Digests an event may ask this region to hold, before knowing which are blobs: blob.written names one, and
 * manifest.pushed every reference (layers, config, and child manifests of an index, which live in Postgres).
 */
export function referencedDigests(event: WharfEvent): Digest[] {
  switch (event.type) {
    case 'wharf.blob.written.v1':
      return [event.data.digest];
    case 'wharf.manifest.pushed.v1':
      return [...new Set(event.data.references.map((r) => r.digest))];
    default:
      return [];
  }
}

/**
 * Which blobs of an event `region` must hold (STYLE §4: required minus present; "present" is checked per blob by
 * replicate.ts against the placements, since it changes under us). Pure: the caller passes `blobRows`, the
 * referenced digests that have a blob row, so child manifests and references of deleted blobs drop out.
 *
 * - blob.written → that blob, unless it was written in this very region (it is placed here already).
 * - manifest.pushed → every reference with a blob row. Also from this region's own pushes: a layer mounted from a
 *   repository whose bytes live elsewhere emitted no blob.written, and this is how it arrives.
 * - Either only when the repository's replication policy lists this region.
 */
export function planFor(
  event: WharfEvent,
  ctx: { cluster: ClusterConfig; region: string; blobRows?: ReadonlySet<string> },
): Plan {
  let repository: string;
  let blobs: PlannedBlob[];
  switch (event.type) {
    case 'wharf.blob.written.v1':
      if (event.data.region === ctx.region) return { type: 'skip', reason: 'written-here' };
      repository = event.data.repository;
      blobs = [{ digest: event.data.digest, size: event.data.size }];
      break;
    case 'wharf.manifest.pushed.v1': {
      repository = event.data.repository;
      const seen = new Set<string>();
      blobs = [];
      for (const r of event.data.references) {
        if (seen.has(r.digest) || (ctx.blobRows && !ctx.blobRows.has(r.digest))) continue;
        seen.add(r.digest);
        blobs.push({ digest: r.digest, size: r.size });
      }
      break;
    }
    default:
      return { type: 'skip', reason: 'not-a-replication-event' };
  }
  if (!requiredRegions(ctx.cluster, repository).includes(ctx.region)) return { type: 'skip', reason: 'not-required-here' };
  if (blobs.length === 0) return { type: 'skip', reason: 'nothing-to-copy' };
  return { type: 'copy', repository, eventRegion: event.data.region, blobs };
}
