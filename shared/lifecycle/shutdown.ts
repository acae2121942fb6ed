export interface Closer {
  name: string;
  close(): Promise<void>;
}

interface ShutdownLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Closes each resource in order; one that fails is logged and the rest still close. */
export async function closeInOrder(closers: Closer[], log: Pick<ShutdownLog, 'error'> & { info?: ShutdownLog['info'] }): Promise<void> {
  for (const c of closers) {
    try {
      await c.close();
      log.info?.({ component: c.name }, 'closed');
    } catch (err) {
      log.error({ err, component: c.name }, 'close failed');
    }
  }
}

/** A closer for the whole list, safe to call more than once. */
export function onceClosing(closers: Closer[], log: Pick<ShutdownLog, 'error'>): () => Promise<void> {
  let closed: Promise<void> | undefined;
  return () => (closed ??= closeInOrder(closers, log));
}

/** Runs a readiness probe: ok, or not ok with the error's message. */
export async function probe(fn: () => Promise<unknown>): Promise<{ ok: boolean; detail?: string }> {
  try {
    await fn();
    return { ok: true };
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
}

/**
 * Closes resources in order (server first, so no new work arrives; connections last) within a time box,
 * once, on SIGTERM/SIGINT. A second signal exits at once.
 */
export function onSignals(closers: Closer[], log: ShutdownLog, timeoutMs: number): () => Promise<void> {
  let shuttingDown: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    shuttingDown ??= (async () => {
      const timer = setTimeout(() => {
        log.error({ timeoutMs }, 'shutdown timed out; exiting');
        process.exit(1);
      }, timeoutMs);
      timer.unref();
      await closeInOrder(closers, log);
      clearTimeout(timer);
    })();
    return shuttingDown;
  };
  const handler = (signal: NodeJS.Signals) => {
    if (shuttingDown) process.exit(1);
    log.info({ signal }, 'shutting down');
    void shutdown().then(() => process.exit(0));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return shutdown;
}
