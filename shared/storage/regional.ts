import type { BlobStore } from './driver.js';

/**
 * The object stores of every region, seen from one node: its home region's store (opened at startup, since the
 * node cannot work without it) and the others opened on first use, so a peer region being down never stops a node
 * from starting. `peers` is the nearness order the read path and the replicator try.
 */
export class RegionalStores {
  private readonly opened = new Map<string, Promise<BlobStore>>();

  constructor(
    readonly homeRegion: string,
    readonly home: BlobStore,
    private readonly open: (region: string) => Promise<BlobStore>,
    /** Other regions, nearest first. */
    readonly peers: readonly string[],
  ) {
    this.opened.set(homeRegion, Promise.resolve(home));
  }

  get(region: string): Promise<BlobStore> {
    let p = this.opened.get(region);
    if (!p) {
      if (!this.peers.includes(region)) return Promise.reject(new Error(`unknown region "${region}"`));
      p = this.open(region);
      // A failed open is retried on the next use instead of being remembered.
      p.catch(() => this.opened.delete(region));
      this.opened.set(region, p);
    }
    return p;
  }

  /** `regions` ordered home first, then by nearness; regions not in the cluster are dropped. */
  byNearness(regions: Iterable<string>): string[] {
    const set = new Set(regions);
    return [this.homeRegion, ...this.peers].filter((r) => set.has(r));
  }

  async close(): Promise<void> {
    const stores = await Promise.allSettled([...this.opened.values()]);
    for (const s of stores) if (s.status === 'fulfilled') await s.value.close?.();
  }
}
