/**
 * Strict reading of a driver's free-form parameter map. Config may come from env vars, so numbers and
 * booleans are also accepted as their string spellings; unknown keys are an error (a typo must fail startup,
 * not silently fall back to a default).
 */
export type DriverParams = Readonly<Record<string, unknown>>;

export class ParamReader {
  constructor(
    private readonly driver: string,
    private readonly params: DriverParams,
    allowed: readonly string[],
  ) {
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      throw new Error(`storage driver ${driver}: parameters must be an object`);
    }
    const unknown = Object.keys(params).filter((k) => !allowed.includes(k));
    if (unknown.length > 0) {
      throw new Error(
        `storage driver ${driver}: unknown parameter(s) ${unknown.join(', ')} (allowed: ${allowed.join(', ') || 'none'})`,
      );
    }
  }

  private fail(name: string, why: string): never {
    throw new Error(`storage driver ${this.driver}: parameter ${name} ${why}`);
  }

  private raw(name: string): unknown {
    const v = this.params[name];
    return v === '' ? undefined : v;
  }

  string(name: string): string {
    const v = this.optString(name);
    if (v === undefined) this.fail(name, 'is required');
    return v;
  }

  optString(name: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(name, `must be a string, got ${typeof v}`);
    return v;
  }

  bool(name: string, dflt: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined || v === null) return dflt;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    return this.fail(name, `must be a boolean, got ${JSON.stringify(v)}`);
  }

  int(name: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.raw(name);
    if (v === undefined || v === null) return dflt;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) this.fail(name, `must be an integer, got ${JSON.stringify(v)}`);
    if (n < min || n > max) this.fail(name, `must be between ${min} and ${max}, got ${n}`);
    return n;
  }
}
