import type { Queryable } from '../../../../shared/db/pool.js';
import type { Config } from '../../../../shared/config/index.js';

/**
 * Login rate limiting, kept in Postgres so every node of the cluster counts the same failures. Each key (an account
 * name, a client address) may fail `loginMaxFailures` times in `loginWindowSeconds`; then it is locked for
 * `loginLockoutSeconds`, doubling with each further failure up to an hour. An address gets four times the account
 * allowance, since many users can share one (NAT, a CI fleet).
 */
export interface ThrottleKeys {
  account?: string | undefined;
  address?: string | undefined;
}

const MAX_LOCKOUT_SECONDS = 3600;

function keysOf(k: ThrottleKeys): { key: string; max: number }[] {
  const out: { key: string; max: number }[] = [];
  if (k.account) out.push({ key: `account:${k.account.slice(0, 300)}`, max: 1 });
  if (k.address) out.push({ key: `address:${k.address}`, max: 4 });
  return out;
}

/** Seconds until the caller may try again; 0 when not locked. */
export async function lockedFor(db: Queryable, k: ThrottleKeys): Promise<number> {
  const keys = keysOf(k).map((x) => x.key);
  if (keys.length === 0) return 0;
  const r = await db.query<{ wait: number | null }>({
    name: 'login-locked-for',
    text: `SELECT ceil(extract(epoch FROM max(locked_until) - now()))::int AS wait FROM login_throttle
           WHERE key = ANY($1::text[]) AND locked_until > now()`,
    values: [keys],
  });
  return Math.max(0, r.rows[0]?.wait ?? 0);
}

export async function recordFailure(db: Queryable, k: ThrottleKeys, cfg: Config['auth']): Promise<void> {
  for (const { key, max } of keysOf(k)) {
    const limit = cfg.loginMaxFailures * max;
    await db.query({
      name: 'login-record-failure',
      text: `INSERT INTO login_throttle AS t (key, failures, window_start) VALUES ($1, 1, now())
             ON CONFLICT (key) DO UPDATE SET
               failures = CASE WHEN t.window_start < now() - make_interval(secs => $2) AND (t.locked_until IS NULL OR t.locked_until < now())
                               THEN 1 ELSE t.failures + 1 END,
               window_start = CASE WHEN t.window_start < now() - make_interval(secs => $2) AND (t.locked_until IS NULL OR t.locked_until < now())
                                   THEN now() ELSE t.window_start END
             RETURNING failures`,
      values: [key, cfg.loginWindowSeconds],
    }).then(async (r) => {
      const failures = (r.rows[0] as { failures: number }).failures;
      if (failures < limit) return;
      const seconds = Math.min(MAX_LOCKOUT_SECONDS, cfg.loginLockoutSeconds * 2 ** Math.min(failures - limit, 12));
      await db.query('UPDATE login_throttle SET locked_until = now() + make_interval(secs => $2) WHERE key = $1', [key, seconds]);
    });
  }
}

/** A successful login clears the account's count (not the address's: one good password must not unlock a spray). */
export async function recordSuccess(db: Queryable, account: string): Promise<void> {
  await db.query({ name: 'login-record-success', text: 'DELETE FROM login_throttle WHERE key = $1', values: [`account:${account.slice(0, 300)}`] });
}
