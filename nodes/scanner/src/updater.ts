import type { Pool } from '../../../shared/db/pool.js';
import type { Logger } from '../../../shared/logging/logger.js';
import { importFeedBytes, type BundleKeys, type ImportSummary } from './vulndb.js';

export interface FeedUrlResult {
  url: string;
  status: 'imported' | 'unchanged' | 'not-modified' | 'failed';
  feeds?: ImportSummary[];
  error?: string;
}

const MAX_FEED_DOWNLOAD = 1024 * 1024 * 1024;

/**
 * Updaters for connected sites: each configured URL (a feed file or archive in any format the parsers detect) is
 * fetched on a schedule with its last ETag / Last-Modified, so an unchanged feed costs one 304; a changed one is
 * imported as a new update operation (and is a no-op when the data is in fact the same). An unreachable URL is
 * logged and retried on the next run; air-gapped sites import files or bundles instead.
 */
export function feedUpdater(opts: { db: Pool; log: Logger; urls: readonly string[]; keys: BundleKeys; afterImport: (added: { format: string; name: string }[]) => Promise<unknown> }) {
  const validators = new Map<string, { etag?: string; lastModified?: string }>();
  const runOne = async (url: string, signal?: AbortSignal): Promise<FeedUrlResult> => {
    const v = validators.get(url) ?? {};
    try {
      const r = await fetch(url, {
        headers: { ...(v.etag ? { 'If-None-Match': v.etag } : {}), ...(v.lastModified ? { 'If-Modified-Since': v.lastModified } : {}) },
        redirect: 'follow', ...(signal ? { signal } : {}),
      });
      if (r.status === 304) return { url, status: 'not-modified' };
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const declared = Number(r.headers.get('content-length') ?? 0);
      if (declared > MAX_FEED_DOWNLOAD) throw new Error(`feed is ${declared} bytes, over the ${MAX_FEED_DOWNLOAD}-byte limit`);
      const bytes = Buffer.from(await r.arrayBuffer());
      const name = new URL(url).pathname.split('/').pop() || url;
      const feeds = await importFeedBytes(opts.db, name, bytes, opts.keys);
      validators.set(url, { ...(r.headers.get('etag') ? { etag: r.headers.get('etag')! } : {}), ...(r.headers.get('last-modified') ? { lastModified: r.headers.get('last-modified')! } : {}) });
      const added = feeds.flatMap((f) => f.added);
      if (added.length > 0) await opts.afterImport(added);
      return { url, status: feeds.some((f) => f.status === 'imported') ? 'imported' : 'unchanged', feeds };
    } catch (e) {
      const error = (e as Error).message;
      opts.log.warn({ url, error }, 'feed update failed; retried on the next run');
      return { url, status: 'failed', error };
    }
  };
  return {
    /** One pass over every URL, one at a time (feeds are large; the importer locks per feed anyway). */
    run: async (signal?: AbortSignal): Promise<FeedUrlResult[]> => {
      const out: FeedUrlResult[] = [];
      for (const u of opts.urls) {
        if (signal?.aborted) break;
        out.push(await runOne(u, signal));
      }
      return out;
    },
  };
}
