import * as scans from '../../../shared/db/scans.js';
import type { Logger } from '../../../shared/logging/logger.js';
import { IndexError, indexManifest, scannerSet, type IndexerDeps } from './indexer/controller.js';

export interface IndexWorkerOptions {
  concurrency: number;
  pollSeconds: number;
  maxAttempts: number;
  /** Called after each manifest is indexed (the node matches it and records its findings). */
  onIndexed?: (digest: string) => Promise<void>;
}

export interface IndexWorker {
  /** Wakes the worker now (an event arrived, a request queued work). */
  kick(): void;
  stop(): Promise<void>;
}

const LEASE_SECONDS = 900;

/**
 * The indexing loop: claims queued manifests from Postgres (several scanners share the queue), indexes them, and
 * records failures with a reason: retried with backoff up to maxAttempts, then failed for good. Every pollSeconds it
 * also queues manifests that were never queued (a lost event, a node without a broker) or were indexed by an older
 * scanner set, so the scanner catches up by itself.
 */
export function startIndexWorker(deps: IndexerDeps, opts: IndexWorkerOptions): IndexWorker {
  const log: Logger = deps.log;
  const set = scannerSet(deps.scanners);
  const abort = new AbortController();
  let wake: (() => void) | undefined;
  let kicked = false;
  const sleep = (ms: number) => new Promise<void>((resolve) => {
    if (kicked || abort.signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      wake = undefined;
      resolve();
    }
    wake = done;
  });

  const one = async (digest: string, attempts: number) => {
    try {
      await indexManifest(deps, digest, abort.signal);
      await opts.onIndexed?.(digest);
    } catch (e) {
      if (abort.signal.aborted) return;
      const permanent = e instanceof IndexError && e.permanent;
      const last = permanent || attempts >= opts.maxAttempts;
      const reason = e instanceof Error ? e.message : String(e);
      log.warn({ digest, attempts, reason, final: last }, 'indexing failed');
      await scans.failIndex(deps.db, digest, last ? `${reason}${permanent ? '' : ` (gave up after ${attempts} attempts)`}` : reason,
        last ? null : Math.min(3600, 5 * 2 ** attempts)).catch((err: unknown) => log.error({ err }, 'could not record an indexing failure'));
    }
  };

  const loop = (async () => {
    let lastSweep = 0;
    while (!abort.signal.aborted) {
      kicked = false;
      try {
        if (Date.now() - lastSweep > opts.pollSeconds * 1000) {
          lastSweep = Date.now();
          await scans.enqueueMissing(deps.db, set, 500);
        }
        const work = await scans.claimIndexWork(deps.db, opts.concurrency, LEASE_SECONDS);
        if (work.length > 0) {
          await Promise.all(work.map((w) => one(w.digest, w.attempts)));
          continue;
        }
      } catch (err) {
        if (!abort.signal.aborted) log.error({ err }, 'index worker iteration failed');
      }
      await sleep(opts.pollSeconds * 1000);
    }
  })();

  return {
    kick: () => {
      kicked = true;
      wake?.();
    },
    stop: async () => {
      abort.abort();
      wake?.();
      await loop;
    },
  };
}
