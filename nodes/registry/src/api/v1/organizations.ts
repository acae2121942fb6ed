import type { Context, Hono } from 'hono';
import type { AppEnv, Deps } from '../../deps.js';
import { WharfError } from '../../../../../shared/errors/errcode.js';
import { CONFLICT, DENIED, INVALID_REQUEST, NOT_FOUND } from '../../../../../shared/errors/codes.js';
import { withTx, type Queryable } from '../../../../../shared/db/pool.js';
import * as accounts from '../../../../../shared/db/accounts.js';
import * as teams from '../../../../../shared/db/teams.js';
import * as grants from '../../../../../shared/db/grants.js';
import { REPO_ROLES, TEAM_ROLES } from '../../../../../shared/db/access.js';
import { jsonBody, oneOf, requireOrg, requireUser, stringField } from './guard.js';
import type { Paths } from './openapi.js';
import { registerRobots, robotPaths } from './robots.js';
import { audit, checkName, emailField, iso, nameField, objectField, UUID_RE } from './tenancy.js';

type Ctx = Context<AppEnv>;

/**
 * Organizations, their teams and members, robots and default permissions (Quay's endpoints/api/organization.py,
 * team.py, robot.py, prototype.py). Quay's model: the creator of an organization becomes the first member of its
 * "owners" team (role admin); a team's role applies to the whole organization; an organization always keeps at
 * least one admin.
 */
export const paths: Paths = {
  '/api/v1/organization/': { post: { summary: 'Create an organization {name, email?}; the caller joins its "owners" admin team', tags: ['organization'] } },
  '/api/v1/organization/{org}': {
    get: { summary: 'An organization and its teams (members)', tags: ['organization'] },
    put: { summary: 'Change an organization\'s e-mail {email} (admin)', tags: ['organization'] },
    delete: { summary: 'Delete an organization with its repositories, teams and robots (admin)', tags: ['organization'] },
  },
  '/api/v1/organization/{org}/members': { get: { summary: 'Every member of the organization\'s teams (admin)', tags: ['organization'] } },
  '/api/v1/organization/{org}/team/{team}': {
    get: { summary: 'A team (members)', tags: ['organization'] },
    put: { summary: 'Create or update a team {role: member|creator|admin, description?} (admin)', tags: ['organization'] },
    delete: { summary: 'Delete a team (admin; not the last admin team)', tags: ['organization'] },
  },
  '/api/v1/organization/{org}/team/{team}/members': { get: { summary: 'A team\'s members (members)', tags: ['organization'] } },
  '/api/v1/organization/{org}/team/{team}/members/{member}': {
    put: { summary: 'Add a user or one of the organization\'s robots to a team (admin)', tags: ['organization'] },
    delete: { summary: 'Remove a member from a team (admin; the organization keeps an admin)', tags: ['organization'] },
  },
  '/api/v1/organization/{org}/prototypes': {
    get: { summary: 'Default permissions applied to new repositories (admin)', tags: ['organization'] },
    post: { summary: 'Add a default permission {role, delegate: {kind: user|team, name}, activating_user?: {name}} (admin)', tags: ['organization'] },
  },
  '/api/v1/organization/{org}/prototypes/{uuid}': { delete: { summary: 'Remove a default permission (admin)', tags: ['organization'] } },
  ...robotPaths('/api/v1/organization/{org}/robots', 'organization', 'an organization (admin)'),
};

const isTeamName = (s: string) => teams.TEAM_NAME_RE.test(s);

export function register(api: Hono<AppEnv>, deps: Deps): void {
  const orgName = (c: Ctx) => checkName('organization', c.req.param('org') ?? '', accounts.isAccountName);
  const teamOf = async (c: Ctx, db: Queryable, org: accounts.AccountRow) => {
    const name = checkName('team', c.req.param('team') ?? '', isTeamName);
    const team = await teams.findTeam(db, org.id, name);
    if (!team) throw new WharfError(NOT_FOUND, { message: 'team not found', detail: { team: name } });
    return team;
  };

  // Organizations ------------------------------------------------------------------------------------------------

  const create = async (c: Ctx) => {
    c.set('route', 'api-organizations');
    const p = requireUser(c, deps);
    if (p.kind !== 'user') throw new WharfError(DENIED, { message: 'robot accounts cannot create organizations' });
    const body = await jsonBody(c);
    const name = nameField(body, 'name', 'organization', accounts.isAccountName);
    const email = emailField(body, 'email', false);
    await withTx(deps.db, async (tx) => {
      const org = await accounts.createAccount(tx, { name, kind: 'org', email: email ?? null });
      if (!org) throw new WharfError(CONFLICT, { message: 'the name is taken', detail: { name } });
      const { team } = await teams.upsertTeam(tx, org.id, teams.OWNERS_TEAM, 'admin', 'The organization\'s administrators');
      if (p.id > 0) await teams.addTeamMember(tx, team.id, p.id);
      await audit(deps, c, 'org_create', { namespace: name, metadata: { email: email ?? null } }, tx);
    });
    return c.json({ name, email: email ?? null }, 201);
  };
  api.post('/organization/', create);
  api.post('/organization', create);

  api.get('/organization/:org', async (c) => {
    c.set('route', 'api-organization');
    const { org, role } = await requireOrg(c, deps, orgName(c), 'member');
    const list = await teams.listTeams(deps.db, org.id);
    return c.json({
      name: org.name,
      email: role === 'admin' ? org.email : undefined,
      is_admin: role === 'admin',
      is_member: true,
      can_create_repo: role === 'admin' || role === 'creator',
      created: iso(org.createdAt),
      teams: Object.fromEntries(list.map((t) => [t.name, teamView(t)])),
    });
  });

  api.put('/organization/:org', async (c) => {
    c.set('route', 'api-organization');
    const { org } = await requireOrg(c, deps, orgName(c), 'admin');
    const body = await jsonBody(c);
    const email = emailField(body, 'email', false);
    if (email !== undefined) {
      await withTx(deps.db, async (tx) => {
        await accounts.updateAccount(tx, org.id, { email });
        await audit(deps, c, 'org_change_email', { namespace: org.name, metadata: { email } }, tx);
      });
    }
    return c.json({ name: org.name, email: email ?? org.email });
  });

  api.delete('/organization/:org', async (c) => {
    c.set('route', 'api-organization');
    const { org } = await requireOrg(c, deps, orgName(c), 'admin');
    await withTx(deps.db, async (tx) => {
      // Repositories are keyed by name, not by owner: remove them explicitly; their manifests, tags and grants
      // cascade and GC collects the blobs. Teams, robots and default permissions cascade from the account.
      const repos = await tx.query('DELETE FROM repositories WHERE namespace = $1', [org.name]);
      // Namespace-wide webhooks hang on the name only.
      await tx.query('DELETE FROM notifications WHERE namespace = $1', [org.name]);
      await accounts.deleteAccount(tx, org.id);
      await audit(deps, c, 'org_delete', { namespace: org.name, metadata: { repositories: repos.rowCount ?? 0 } }, tx);
    });
    return c.body(null, 204);
  });

  api.get('/organization/:org/members', async (c) => {
    c.set('route', 'api-organization-members');
    const { org } = await requireOrg(c, deps, orgName(c), 'admin');
    const members = await teams.listOrgMembers(deps.db, org.id);
    return c.json({
      members: members.map((m) => ({ name: m.name, kind: m.kind, is_robot: m.kind === 'robot', enabled: m.enabled, teams: m.teams })),
    });
  });

  // Teams --------------------------------------------------------------------------------------------------------

  api.get('/organization/:org/team/:team', async (c) => {
    c.set('route', 'api-organization-team');
    const { org } = await requireOrg(c, deps, orgName(c), 'member');
    const team = await teamOf(c, deps.db, org);
    const members = await teams.listTeamMembers(deps.db, team.id);
    return c.json({ ...teamView({ ...team, memberCount: members.length }) });
  });

  api.put('/organization/:org/team/:team', async (c) => {
    c.set('route', 'api-organization-team');
    const { org } = await requireOrg(c, deps, orgName(c), 'admin');
    const name = checkName('team', c.req.param('team'), isTeamName);
    const body = await jsonBody(c);
    const role = oneOf(body, 'role', TEAM_ROLES)!;
    const description = stringField(body, 'description', { max: 4096 });
    const out = await withTx(deps.db, async (tx) => {
      await teams.lockOrg(tx, org.id);
      const adminsBefore = await teams.countOrgAdmins(tx, org.id);
      const r = await teams.upsertTeam(tx, org.id, name, role, description);
      await keepsAnAdmin(tx, org.id, adminsBefore);
      if (r.created) await audit(deps, c, 'org_create_team', { namespace: org.name, metadata: { team: name, role } }, tx);
      else if (r.previousRole !== role) await audit(deps, c, 'org_set_team_role', { namespace: org.name, metadata: { team: name, role, previous: r.previousRole } }, tx);
      if (!r.created && description !== undefined) await audit(deps, c, 'org_set_team_description', { namespace: org.name, metadata: { team: name, description } }, tx);
      return r;
    });
    const count = (await teams.listTeamMembers(deps.db, out.team.id)).length;
    return c.json(teamView({ ...out.team, memberCount: count }), out.created ? 201 : 200);
  });

  api.delete('/organization/:org/team/:team', async (c) => {
    c.set('route', 'api-organization-team');
    const { org } = await requireOrg(c, deps, orgName(c), 'admin');
    await withTx(deps.db, async (tx) => {
      await teams.lockOrg(tx, org.id);
      const team = await teamOf(c, tx, org);
      const adminsBefore = await teams.countOrgAdmins(tx, org.id);
      await teams.deleteTeam(tx, team.id);
      await keepsAnAdmin(tx, org.id, adminsBefore);
      await audit(deps, c, 'org_delete_team', { namespace: org.name, metadata: { team: team.name } }, tx);
    });
    return c.body(null, 204);
  });

  api.get('/organization/:org/team/:team/members', async (c) => {
    c.set('route', 'api-organization-team-members');
    const { org } = await requireOrg(c, deps, orgName(c), 'member');
    const team = await teamOf(c, deps.db, org);
    const members = await teams.listTeamMembers(deps.db, team.id);
    return c.json({
      name: team.name,
      members: members.map((m) => ({ name: m.name, kind: m.kind === 'robot' ? 'robot' : 'user', is_robot: m.kind === 'robot', enabled: m.enabled })),
    });
  });

  api.put('/organization/:org/team/:team/members/:member', async (c) => {
    c.set('route', 'api-organization-team-member');
    const { org } = await requireOrg(c, deps, orgName(c), 'admin');
    const member = await memberAccount(deps.db, org, c.req.param('member'));
    const team = await teamOf(c, deps.db, org);
    const added = await withTx(deps.db, async (tx) => {
      const a = await teams.addTeamMember(tx, team.id, member.id);
      if (a) await audit(deps, c, 'org_add_team_member', { namespace: org.name, metadata: { team: team.name, member: member.name } }, tx);
      return a;
    });
    return c.json({ name: member.name, kind: member.kind, is_robot: member.kind === 'robot', team: team.name }, added ? 201 : 200);
  });

  api.delete('/organization/:org/team/:team/members/:member', async (c) => {
    c.set('route', 'api-organization-team-member');
    const { org } = await requireOrg(c, deps, orgName(c), 'admin');
    const name = c.req.param('member');
    const member = await accounts.findAccount(deps.db, name);
    await withTx(deps.db, async (tx) => {
      await teams.lockOrg(tx, org.id);
      const team = await teamOf(c, tx, org);
      const adminsBefore = await teams.countOrgAdmins(tx, org.id);
      if (!member || !(await teams.removeTeamMember(tx, team.id, member.id))) {
        throw new WharfError(NOT_FOUND, { message: 'not a member of the team', detail: { team: team.name, member: name.slice(0, 300) } });
      }
      await keepsAnAdmin(tx, org.id, adminsBefore);
      await audit(deps, c, 'org_remove_team_member', { namespace: org.name, metadata: { team: team.name, member: member.name } }, tx);
    });
    return c.body(null, 204);
  });

  // Robots -------------------------------------------------------------------------------------------------------

  registerRobots(api, deps, '/organization/:org/robots', async (c) => (await requireOrg(c, deps, orgName(c), 'admin')).org, 'api-organization');

  // Default permissions ------------------------------------------------------------------------------------------

  api.get('/organization/:org/prototypes', async (c) => {
    c.set('route', 'api-organization-prototypes');
    const { org } = await requireOrg(c, deps, orgName(c), 'admin');
    return c.json({ prototypes: (await grants.listDefaultPermissions(deps.db, org.id)).map(prototypeView) });
  });

  api.post('/organization/:org/prototypes', async (c) => {
    c.set('route', 'api-organization-prototypes');
    const { org } = await requireOrg(c, deps, orgName(c), 'admin');
    const body = await jsonBody(c);
    const role = oneOf(body, 'role', REPO_ROLES)!;
    const delegate = objectField(body, 'delegate', true)!;
    const kind = oneOf(delegate, 'kind', ['user', 'team'] as const)!;
    const delegateName = stringField(delegate, 'name', { required: true, max: 300 })!;
    const activating = objectField(body, 'activating_user', false);
    let activatingAccountId: number | null = null;
    if (activating) {
      const n = stringField(activating, 'name', { required: true, max: 300 })!;
      const a = await accounts.findAccount(deps.db, n);
      if (!a || a.kind === 'org') throw new WharfError(INVALID_REQUEST, { message: 'activating_user must be an existing user or robot', detail: { name: n } });
      activatingAccountId = a.id;
    }
    let target: { accountId: number } | { teamId: number };
    if (kind === 'team') {
      const team = await teams.findTeam(deps.db, org.id, delegateName);
      if (!team) throw new WharfError(INVALID_REQUEST, { message: 'no such team in the organization', detail: { team: delegateName } });
      target = { teamId: team.id };
    } else {
      const a = await accounts.findAccount(deps.db, delegateName);
      if (!a || a.kind === 'org') throw new WharfError(INVALID_REQUEST, { message: 'the delegate must be an existing user or robot', detail: { name: delegateName } });
      if (a.kind === 'robot' && a.ownerId !== org.id) throw new WharfError(INVALID_REQUEST, { message: 'only the organization\'s own robots can be delegates', detail: { name: delegateName } });
      target = { accountId: a.id };
    }
    const proto = await withTx(deps.db, async (tx) => {
      const p = await grants.createDefaultPermission(tx, org.id, { role, ...target, activatingAccountId });
      await audit(deps, c, 'create_prototype_permission', {
        namespace: org.name,
        metadata: { id: p.id, role, delegate: { kind, name: delegateName }, activating_user: p.activatingUser?.name ?? null },
      }, tx);
      return p;
    });
    return c.json(prototypeView(proto), 201);
  });

  api.delete('/organization/:org/prototypes/:uuid', async (c) => {
    c.set('route', 'api-organization-prototype');
    const { org } = await requireOrg(c, deps, orgName(c), 'admin');
    const id = c.req.param('uuid');
    await withTx(deps.db, async (tx) => {
      const p = UUID_RE.test(id) ? await grants.findDefaultPermission(tx, org.id, id) : undefined;
      if (!p) throw new WharfError(NOT_FOUND, { message: 'default permission not found' });
      await grants.deleteDefaultPermission(tx, org.id, id);
      await audit(deps, c, 'delete_prototype_permission', { namespace: org.name, metadata: { id, role: p.role, delegate: p.delegate } }, tx);
    });
    return c.body(null, 204);
  });
}

/** A user, or a robot of this organization: who may join its teams. */
async function memberAccount(db: Queryable, org: accounts.AccountRow, name: string): Promise<accounts.AccountRow> {
  if (name.length > 300) throw new WharfError(INVALID_REQUEST, { message: 'member name too long' });
  const a = await accounts.findAccount(db, name);
  if (!a) throw new WharfError(NOT_FOUND, { message: 'no such user or robot', detail: { member: name } });
  if (a.kind === 'org') throw new WharfError(INVALID_REQUEST, { message: 'an organization cannot be a team member', detail: { member: name } });
  if (a.kind === 'robot' && a.ownerId !== org.id) {
    throw new WharfError(INVALID_REQUEST, { message: 'only the organization\'s own robots can join its teams', detail: { member: name } });
  }
  return a;
}

/** Refuses (rolls back) a change that leaves an organization which had an admin without any. */
async function keepsAnAdmin(tx: Queryable, orgId: number, before: number): Promise<void> {
  if (before > 0 && (await teams.countOrgAdmins(tx, orgId)) === 0) {
    throw new WharfError(INVALID_REQUEST, { message: 'an organization must keep at least one admin: this would remove the last one' });
  }
}

function teamView(t: teams.TeamRow & { memberCount: number }): Record<string, unknown> {
  return { name: t.name, role: t.role, description: t.description, member_count: t.memberCount, created: iso(t.createdAt) };
}

function prototypeView(p: grants.DefaultPermissionRow): Record<string, unknown> {
  return {
    id: p.id,
    role: p.role,
    delegate: { kind: p.delegate.kind, name: p.delegate.name, is_robot: p.delegate.isRobot },
    activating_user: p.activatingUser,
  };
}

