import type { Queryable } from './pool.js';

export interface RepositoryRow {
  id: number;
  name: string;
}

export async function findRepository(db: Queryable, name: string): Promise<RepositoryRow | undefined> {
  const r = await db.query<RepositoryRow>({ name: 'find-repository', text: 'SELECT id, name FROM repositories WHERE name = $1', values: [name] });
  return r.rows[0];
}

/** The repository, created when missing; `created` tells whether this call created it (xmax is 0 on insert). */
export async function ensureRepository(db: Queryable, name: string, visibility: 'public' | 'private' = 'private'): Promise<RepositoryRow & { created: boolean }> {
  // The no-op update makes RETURNING yield the row on conflict too.
  const r = await db.query<RepositoryRow & { created: boolean }>(
    `INSERT INTO repositories (name, visibility) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id, name, (xmax = 0) AS created`,
    [name, visibility],
  );
  return r.rows[0]!;
}

/** Repositories holding at least one manifest, in byte order (whatever the database collation), after `last`. */
export async function listRepositoryNames(db: Queryable, opts: { limit: number; last?: string }): Promise<string[]> {
  const r = await db.query<{ name: string }>(
    `SELECT r.name FROM repositories r
     WHERE ($1::text IS NULL OR r.name COLLATE "C" > $1)
       AND EXISTS (SELECT 1 FROM manifests m WHERE m.repository_id = r.id)
     ORDER BY r.name COLLATE "C" LIMIT $2`,
    [opts.last ?? null, opts.limit],
  );
  return r.rows.map((x) => x.name);
}
