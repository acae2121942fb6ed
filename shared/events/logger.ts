/**
 * The slice of a pino logger the events package uses. Structural, so a pino root or child logger fits as is
 * and tests can pass a recording stub; events never import a logger singleton (STYLE §7.5 rule 5).
 */
export interface EventLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything, for callers (mostly tests) that do not care. */
export const silentLogger: EventLogger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});
