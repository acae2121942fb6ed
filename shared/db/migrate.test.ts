import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createPool } from './pool.js';
import { migrate } from './migrate.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';

describe('migrate', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await db.drop();
  });

  it('applies every migration exactly once when several nodes start at the same moment', async () => {
    const pools = Array.from({ length: 5 }, () => createPool({ connectionString: db.url, max: 2 }));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p)));
      const applied = results.flat();
      const files = new Set(applied);
      assert.equal(applied.length, files.size, 'a migration was applied twice');
      assert.ok(files.has('0001_init.sql'));
      const { rows } = await pools[0]!.query('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows.map((r) => r.version), [...files].sort());
      assert.deepEqual(await migrate(pools[0]!), [], 'a second run applies nothing');
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});
