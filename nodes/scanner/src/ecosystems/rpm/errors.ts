/**
 * One error type for everything that is wrong with an rpm database or header, so the indexer can tell "this layer's
 * rpm database is damaged or hostile" (an RpmDbError) from a bug (anything else). `kind` says which layer of the
 * format failed; messages carry offsets, never file contents.
 */
export type RpmDbErrorKind = 'header' | 'bdb' | 'ndb' | 'sqlite';

export class RpmDbError extends Error {
  override readonly name = 'RpmDbError';
  constructor(
    readonly kind: RpmDbErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`rpm ${kind}: ${message}`, options);
  }
}
