export interface Closer {
  name: string;
  close(): Promise<void>;
}

interface ShutdownLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
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
      for (const c of closers) {
        try {
          await c.close();
          log.info({ component: c.name }, 'closed');
        } catch (err) {
          log.error({ err, component: c.name }, 'close failed');
        }
      }
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
