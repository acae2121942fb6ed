import { DriverError, type WriterState } from './driver.js';

/**
 * Resume states come back from Postgres, i.e. from outside the type system: every driver re-checks the
 * shape before trusting it, and refuses a state written by another driver or for another key.
 */
export class StateReader {
  constructor(
    private readonly driver: string,
    private readonly key: string,
    readonly state: WriterState,
    expectedDriver: string,
  ) {
    if (state.driver !== expectedDriver) this.fail(`resume state belongs to driver ${String(state.driver)}`);
    if (state['key'] !== key) this.fail(`resume state belongs to key ${String(state['key'])}`);
    if (!Number.isSafeInteger(state.size) || state.size < 0) this.fail('resume state has an invalid size');
  }

  fail(why: string): never {
    throw new DriverError(this.driver, this.key, why);
  }

  string(name: string, pattern?: RegExp): string {
    const v = this.state[name];
    if (typeof v !== 'string' || (pattern && !pattern.test(v))) this.fail(`resume state has an invalid ${name}`);
    return v;
  }

  optString(name: string, pattern?: RegExp): string | undefined {
    return this.state[name] === undefined || this.state[name] === null ? undefined : this.string(name, pattern);
  }

  int(name: string): number {
    const v = this.state[name];
    if (!Number.isSafeInteger(v) || (v as number) < 0) this.fail(`resume state has an invalid ${name}`);
    return v as number;
  }
}

export const WRITER_ID_RE = /^[a-f0-9]{32}$/;
