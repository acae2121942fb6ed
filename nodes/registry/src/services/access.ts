/**
 * Who may do what. The registry core asks, a policy answers; tenancy (users, teams, robots) plugs in here.
 * `openAccess` is the policy of a registry without authentication: everything is allowed.
 */
export type Action = 'pull' | 'push' | 'delete';

export interface AccessPolicy {
  can(actor: string, repository: string, action: Action): Promise<boolean>;
}

export const openAccess: AccessPolicy = {
  can: async () => true,
};
