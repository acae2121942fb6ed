/**
 * Which peer regions' stores to try. A store that failed is skipped for a cool-down, so one dead region does not
 * add its timeout to every pull; after the cool-down it is tried again (the next pull is the probe).
 */
export class RegionHealth {
  private readonly downUntil = new Map<string, { until: number; error: string }>();
  constructor(private readonly coolDownMs = 30_000, private readonly now: () => number = Date.now) {}

  usable(region: string): boolean {
    const d = this.downUntil.get(region);
    if (!d) return true;
    if (d.until <= this.now()) {
      this.downUntil.delete(region);
      return true;
    }
    return false;
  }

  failed(region: string, err: unknown): void {
    this.downUntil.set(region, { until: this.now() + this.coolDownMs, error: (err as Error)?.message ?? String(err) });
  }

  /** Regions currently skipped, with the error that put them there. */
  snapshot(): Record<string, { until: string; error: string }> {
    return Object.fromEntries([...this.downUntil].filter(([r]) => !this.usable(r) || this.downUntil.has(r))
      .map(([r, d]) => [r, { until: new Date(d.until).toISOString(), error: d.error }]));
  }
}
