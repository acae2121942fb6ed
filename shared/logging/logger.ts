import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** The one root logger of a process; components and requests take children of it. */
export function createLogger(
  opts: { level: string; bindings: Record<string, string>; destination?: NodeJS.WritableStream },
): Logger {
  const options: LoggerOptions = {
    level: opts.level,
    base: opts.bindings,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'authorization',
        'password', '*.password', 'secretAccessKey', '*.secretAccessKey', '*.*.secretAccessKey', 'accountKey', '*.accountKey', '*.*.accountKey',
        'database.url', 'config.database.url', 'config.storage.s3.secretAccessKey',
        'token', '*.token', 'access_token', '*.access_token', 'token_code', '*.token_code', 'secret', '*.secret', '*.*.secret',
        'adminPassword', '*.adminPassword', '*.*.adminPassword',
      ],
      censor: '[redacted]',
    },
    serializers: { err: serializeError },
  };
  return opts.destination ? pino(options, opts.destination as pino.DestinationStream) : pino(options);
}

/**
 * pino's error serializer, except that it never throws: it tags the error object to detect cycles, which fails on
 * a frozen error (the Cloud Storage client's, for one) — and a log call that throws turns a handled store failure
 * (try the next region) into a 500.
 */
function serializeError(err: unknown): unknown {
  try {
    return pino.stdSerializers.err(err as Error);
  } catch {
    const e = err as { name?: unknown; message?: unknown; stack?: unknown; code?: unknown };
    return { type: String(e?.name ?? typeof err), message: String(e?.message ?? err), stack: String(e?.stack ?? ''), ...(e?.code !== undefined ? { code: String(e.code) } : {}) };
  }
}
