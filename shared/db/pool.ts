import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that runs a query: the pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

// bigint (int8) columns hold sizes and ids; sizes stay far below 2^53, so numbers are safe and simpler.
pg.types.setTypeParser(20, (v) => Number(v));

export interface PoolConfig {
  connectionString: string;
  max?: number;
  applicationName?: string;
}

export function createPool(cfg: PoolConfig): pg.Pool {
  const pool = new pg.Pool({
    connectionString: cfg.connectionString,
    max: cfg.max ?? 20,
    application_name: cfg.applicationName ?? 'wharf',
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return pool;
}

export async function withTx<T>(pool: pg.Pool, fn: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
}

/** Serialises work on one digest across every node (GC against a concurrent commit of the same blob). */
export async function lockDigest(tx: pg.PoolClient, digest: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 7))', [digest]);
}
