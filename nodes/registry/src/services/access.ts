import type { Pool } from '../../../../shared/db/pool.js';
import { covers, type Access } from '../../../../shared/auth/scope.js';
import { readableRepositories, type Subject } from '../../../../shared/db/access.js';

export type Action = 'pull' | 'push' | 'delete';

/**
 * What the caller of one request may do on /v2. The registry core asks, the policy answers: on an open node
 * everything is allowed; under token auth the verified token's `access` claim decides, and listings (catalog,
 * automatic cross-repository mounts) are filtered by what the caller may read in the database.
 */
export interface RequestAccess {
  can(repository: string, action: Action): boolean;
  /** Of `names`, the repositories the caller may read. */
  readable(names: readonly string[]): Promise<Set<string>>;
}

export const openAccess: RequestAccess = {
  can: () => true,
  readable: async (names) => new Set(names),
};

export function tokenAccess(db: Pool, grants: readonly Access[], subject: () => Promise<Subject | null>): RequestAccess {
  return {
    can: (repository, action) => covers(grants, 'repository', repository, action),
    readable: async (names) => readableRepositories(db, await subject(), names),
  };
}
