/** Small concurrency helpers shared by the two buses (kept internal: not exported from index.ts). */

/** Counting semaphore; acquire() resolves false instead of waiting forever once the signal aborts. */
export class Semaphore {
  private free: number;
  private readonly waiters: Array<(ok: boolean) => void> = [];

  constructor(size: number) {
    this.free = size;
  }

  get available(): number {
    return this.free;
  }

  tryAcquire(): boolean {
    if (this.free <= 0) return false;
    this.free--;
    return true;
  }

  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.tryAcquire()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      };
      const grant = (ok: boolean): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      this.waiters.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next(true);
    else this.free++;
  }
}

/** Resolves after ms, or early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A level-triggered wake-up: wait() resolves on the next wake() or after an optional timeout. */
export class Waker {
  private waiters: Array<() => void> = [];

  wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  wait(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let t: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (t) clearTimeout(t);
        resolve();
      };
      this.waiters.push(done);
      if (timeoutMs !== undefined) {
        t = setTimeout(() => {
          this.waiters = this.waiters.filter((f) => f !== done);
          resolve();
        }, Math.max(0, timeoutMs));
      }
    });
  }
}

/**
 * A controller aborted when any parent aborts. dispose() detaches it from the parents: a long-lived parent (the
 * bus's own stop signal) must not collect one listener per subscription ever made.
 */
export function linkedAbort(...parents: Array<AbortSignal | undefined>): AbortController & { dispose(): void } {
  const ac = new AbortController();
  const detach: Array<() => void> = [];
  for (const p of parents) {
    if (!p) continue;
    if (p.aborted) {
      ac.abort(p.reason);
      continue;
    }
    const onAbort = (): void => ac.abort(p.reason);
    p.addEventListener('abort', onAbort, { once: true });
    detach.push(() => p.removeEventListener('abort', onAbort));
  }
  return Object.assign(ac, { dispose: () => detach.forEach((d) => d()) });
}

/** Resolves when the signal aborts (never rejects); for racing against other waits. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
