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
      ],
      censor: '[redacted]',
    },
    serializers: { err: pino.stdSerializers.err },
  };
  return opts.destination ? pino(options, opts.destination as pino.DestinationStream) : pino(options);
}
