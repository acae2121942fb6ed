import type { Pool } from '../../../../shared/db/pool.js';
import type { Config } from '../../../../shared/config/index.js';
import type { Logger } from '../../../../shared/logging/logger.js';
import { hashPassword } from '../../../../shared/auth/index.js';
import * as accounts from '../../../../shared/db/accounts.js';

/**
 * The first superuser, from WHARF_ADMIN_USER / WHARF_ADMIN_PASSWORD. Created once; on later starts an existing
 * account of that name is left as it is (its password may have been changed through the API since), except that
 * it is made a superuser again, so a locked-out operator can always recover by restarting with the variables set.
 */
export async function bootstrapAdmin(db: Pool, config: Config, log: Logger): Promise<void> {
  const { adminUser, adminPassword, adminEmail } = config.auth;
  if (!adminUser || !adminPassword) return;
  if (!accounts.isAccountName(adminUser)) throw new Error(`WHARF_ADMIN_USER "${adminUser}" is not a valid account name (${accounts.ACCOUNT_NAME_RE}, 2-64 characters)`);
  const existing = await accounts.findAccount(db, adminUser);
  if (existing) {
    if (existing.kind !== 'user') throw new Error(`WHARF_ADMIN_USER "${adminUser}" names an organization or robot`);
    if (!existing.superuser || !existing.enabled) {
      await accounts.updateAccount(db, existing.id, { superuser: true, enabled: true });
      log.warn({ user: adminUser }, 'admin user restored to superuser');
    }
    return;
  }
  const created = await accounts.createAccount(db, {
    name: adminUser, kind: 'user', email: adminEmail, passwordHash: await hashPassword(adminPassword), superuser: true,
  });
  if (created) {
    await db.query(`INSERT INTO audit_log (kind, performer, performer_kind, namespace, metadata) VALUES ('user_create', 'system', 'system', $1, '{"superuser": true}')`, [adminUser]);
    log.info({ user: adminUser }, 'admin superuser created');
  }
}
