import type { EventBus, EventInput } from '../../../../shared/events/index.js';
import { publishSafely } from '../../../../shared/events/index.js';
import type { Logger } from '../../../../shared/logging/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { Digest } from '../../../../shared/oci/digest.js';
import type { RepoName, Tag } from '../../../../shared/oci/reference.js';

/**
 * What the registry tells the rest of the cluster. Published after the database commit, never awaited by the
 * request and never failing it: a lost publish is made up for by reconciliation, a failed push is not.
 */
export interface BlobWritten {
  digest: string;
  size: number;
  mediaType?: string | undefined;
  repository: string;
  storageKey: string;
  uploadId: string;
}

export interface Descriptor {
  digest: string;
  size: number;
  mediaType: string;
}

export interface ManifestPushed {
  repository: string;
  digest: string;
  mediaType: string;
  size: number;
  tag?: string | undefined;
  artifactType?: string | undefined;
  subject?: Descriptor | undefined;
  references: Descriptor[];
  actor: string;
  requestId: string;
}

export interface ManifestDeleted {
  repository: string;
  digest: string;
  tags: string[];
}

export interface RegistryEvents {
  blobWritten(e: BlobWritten): Promise<void>;
  manifestPushed(e: ManifestPushed): Promise<void>;
  manifestDeleted(e: ManifestDeleted): Promise<void>;
  blobDeleted(digest: string): Promise<void>;
  /**
   * Read-repair: a pull here was served from `region`. Re-announcing the blob as written there makes this
   * region's replicator copy it (its message id differs from the upload's, so the duplicate window keeps it).
   */
  replicationWanted(e: { digest: string; size: number; repository: string; region: string; storageKey: string }): Promise<void>;
  /** Waits (at most `timeoutMs`) for publishes still in flight; what is still unsent is left to reconciliation. */
  drain(timeoutMs?: number): Promise<void>;
}

export function busEvents(bus: EventBus, region: string, log: Logger, metrics: Metrics): RegistryEvents {
  const inFlight = new Set<Promise<unknown>>();
  const send = (event: EventInput): Promise<void> => {
    const p = publishSafely(bus, event, log).then((ok) => {
      metrics.eventsPublished.inc({ type: event.type, outcome: ok ? 'published' : 'failed' });
    });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    return Promise.resolve();
  };
  const desc = (d: Descriptor) => ({ digest: d.digest as Digest, size: d.size, mediaType: d.mediaType });
  return {
    blobWritten: (e) => send({
      type: 'wharf.blob.written.v1',
      data: {
        region, digest: e.digest as Digest, size: e.size, repository: e.repository as RepoName, storageKey: e.storageKey,
        uploadId: e.uploadId, ...(e.mediaType ? { mediaType: e.mediaType } : {}),
      },
    }),
    manifestPushed: (e) => send({
      type: 'wharf.manifest.pushed.v1',
      data: {
        region, repository: e.repository as RepoName, digest: e.digest as Digest, mediaType: e.mediaType, size: e.size,
        references: e.references.map(desc), actor: e.actor, requestId: e.requestId,
        ...(e.tag ? { tag: e.tag as Tag } : {}),
        ...(e.artifactType ? { artifactType: e.artifactType } : {}),
        ...(e.subject ? { subject: desc(e.subject) } : {}),
      },
    }),
    manifestDeleted: (e) => send({
      type: 'wharf.manifest.deleted.v1',
      data: { region, repository: e.repository as RepoName, digest: e.digest as Digest, tags: e.tags as Tag[] },
    }),
    replicationWanted: (e) => send({
      type: 'wharf.blob.written.v1',
      data: {
        region: e.region, digest: e.digest as Digest, size: e.size, repository: e.repository as RepoName,
        storageKey: e.storageKey, uploadId: 'read-repair',
      },
    }),
    blobDeleted: (digest) => send({ type: 'wharf.blob.deleted.v1', data: { region, digest: digest as Digest } }),
    drain: async (timeoutMs = 3000) => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([Promise.allSettled([...inFlight]), deadline]);
      clearTimeout(timer);
    },
  };
}
