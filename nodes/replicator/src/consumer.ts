import * as blobsDb from '../../../shared/db/blobs.js';
import { recordReplicationFailure } from '../../../shared/db/replication.js';
import {
  outcome, retryDelayMs, type DeliveryControl, type EventHandler, type Outcome, type WharfEvent,
} from '../../../shared/events/index.js';
import type { Digest } from '../../../shared/oci/digest.js';
import type { ReplicatorDeps } from './deps.js';
import { planFor, referencedDigests } from './plan.js';
import { replicateBlob, type CopyResult } from './replicate.js';

export interface ReplicationHandler extends EventHandler {
  /** Resolves when no copy is running (tests, shutdown diagnostics). */
  idle(): Promise<void>;
}

/**
 * Event → plan → copies → what to tell the broker:
 * - every planned blob copied, already present or gone → ack;
 * - a blob with no source yet, or a source (or our own store) unreachable → nak with the retry schedule;
 * - a blob whose every source is corrupt → the failure is recorded and the event nak'ed, and on the last delivery
 *   (maxDeliver) the failure is marked permanent and the event terminated.
 *
 * At most `concurrency` copies run at once across all events, and one digest is copied once even when several
 * events (its blob.written, the manifest.pushed listing it) ask for it at the same time.
 */
export function createReplicationHandler(
  deps: ReplicatorDeps, opts: { region: string; concurrency: number; maxDeliver: number; ackWaitMs: number },
): ReplicationHandler {
  const slots = new Slots(opts.concurrency);
  // One copy per digest; every delivery waiting on it is kept alive by its progress.
  const running = new Map<string, { result: Promise<CopyResult>; waiting: Set<DeliveryControl> }>();

  const copy = async (digest: Digest, ctl: DeliveryControl): Promise<CopyResult> => {
    let entry = running.get(digest);
    if (!entry) {
      const waiting = new Set<DeliveryControl>();
      const keepAlive = () => waiting.forEach((c) => c.working());
      const result = (async () => {
        // Waiting for a slot is not progress the broker can see: keep the deliveries alive meanwhile.
        const beat = setInterval(keepAlive, Math.max(100, Math.floor(opts.ackWaitMs / 3)));
        let release: () => void;
        try {
          release = await slots.acquire();
        } finally {
          clearInterval(beat);
        }
        try {
          return await replicateBlob(deps, {
            digest, target: opts.region, attempt: ctl.deliveryCount, signal: ctl.signal, onProgress: keepAlive,
          });
        } finally {
          release();
        }
      })().finally(() => running.delete(digest));
      entry = { result, waiting };
      running.set(digest, entry);
    }
    entry.waiting.add(ctl);
    try {
      return await entry.result;
    } finally {
      entry.waiting.delete(ctl);
    }
  };

  const handle = async (event: WharfEvent, ctl: DeliveryControl): Promise<Outcome> => {
    const digests = referencedDigests(event);
    const blobRows = event.type === 'wharf.manifest.pushed.v1' ? await blobsDb.existingBlobs(deps.db, digests) : undefined;
    const plan = planFor(event, { cluster: deps.config.cluster, region: opts.region, ...(blobRows ? { blobRows } : {}) });
    if (plan.type === 'skip') {
      deps.metrics?.events.inc({ type: event.type, result: 'skip' });
      deps.log.debug({ eventId: event.id, reason: plan.reason }, 'event needs no copy here');
      return outcome.ack();
    }
    const results = await Promise.all(plan.blobs.map((b) => copy(b.digest, ctl)));
    const decision = await decide(results, ctl);
    deps.metrics?.events.inc({ type: event.type, result: decision.type });
    return decision;
  };

  const decide = async (results: CopyResult[], ctl: DeliveryControl): Promise<Outcome> => {
    const by = (o: CopyResult['outcome']) => results.filter((r) => r.outcome === o);
    if (by('aborted').length > 0) return outcome.nak(1_000);
    const waiting = [...by('no-source'), ...by('unavailable')];
    if (waiting.length > 0) {
      const retryInMs = retryDelayMs(ctl.deliveryCount);
      deps.log.info({ digests: waiting.map((r) => r.digest), outcomes: waiting.map((r) => r.outcome), retryInMs }, 'blobs not copyable yet; will retry');
      return outcome.nak(retryInMs);
    }
    const corrupt = by('corrupt');
    if (corrupt.length > 0) {
      if (ctl.deliveryCount < opts.maxDeliver) {
        deps.log.warn({ digests: corrupt.map((r) => r.digest), deliveryCount: ctl.deliveryCount }, 'every source of a blob is corrupt; will retry');
        return outcome.nak(retryDelayMs(ctl.deliveryCount));
      }
      for (const r of corrupt) {
        const error = r.outcome === 'corrupt' ? r.failures.map((f) => `${f.region}: ${f.error}`).join('; ') : '';
        await recordReplicationFailure(deps.db, {
          digest: r.digest, region: opts.region, error: `permanent after ${ctl.deliveryCount} deliveries: every source corrupt (${error})`, permanent: true,
        });
        deps.metrics?.failures.inc({ kind: 'permanent' });
      }
      deps.log.error({ digests: corrupt.map((r) => r.digest), region: opts.region }, 'every source of a blob is corrupt; giving up (marked permanent)');
      return outcome.term('every source region holds corrupt bytes');
    }
    return outcome.ack();
  };

  return Object.assign(handle, {
    idle: async () => {
      while (running.size > 0) await Promise.allSettled([...running.values()].map((e) => e.result));
    },
  });
}

/** FIFO counting semaphore over copies. */
class Slots {
  private free: number;
  private readonly waiters: Array<() => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiters.push(resolve));
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiters.shift();
      if (next) next();
      else this.free++;
    };
  }
}
