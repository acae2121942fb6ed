import type { AccountRow } from '../../../../shared/db/accounts.js';
import type { Subject } from '../../../../shared/db/access.js';

/** An authenticated caller: a user (by password or app token) or a robot (by its token). Anonymous is null. */
export interface Principal {
  id: number;
  name: string;
  kind: 'user' | 'robot';
  superuser: boolean;
  /** How the caller proved who it is; bearer = a registry token the token endpoint issued. */
  via: 'password' | 'robot-token' | 'app-token' | 'bearer';
}

export function principalOf(a: AccountRow, via: Principal['via']): Principal {
  if (a.kind === 'org') throw new Error('an organization cannot act');
  return { id: a.id, name: a.name, kind: a.kind, superuser: a.kind === 'user' && a.superuser, via };
}

export function subjectOf(p: Principal | null): Subject | null {
  return p ? { id: p.id, kind: p.kind, superuser: p.superuser } : null;
}

/** For the audit log and events: who did it. */
export function performerOf(p: Principal | null): { name: string; kind: string } | null {
  return p ? { name: p.name, kind: p.kind } : null;
}
