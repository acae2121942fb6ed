import type { Context, Hono } from 'hono';
import type { AppEnv, Deps } from '../../deps.js';
import { WharfError } from '../../../../../shared/errors/errcode.js';
import { CONFLICT, DENIED, INVALID_REQUEST, NAME_INVALID, NOT_FOUND } from '../../../../../shared/errors/codes.js';
import { isRepoName } from '../../../../../shared/oci/reference.js';
import { withTx, type Queryable } from '../../../../../shared/db/pool.js';
import * as accounts from '../../../../../shared/db/accounts.js';
import * as grants from '../../../../../shared/db/grants.js';
import { findTeam } from '../../../../../shared/db/teams.js';
import { REPO_ROLES, repoAccess, roleAtLeast } from '../../../../../shared/db/access.js';
import { subjectOf } from '../../auth/principal.js';
import { repositoryCreated, whoOf } from '../../services/activity.js';
import { jsonBody, oneOf, repoNameOf, requireRepoRole, requireUser, stringField } from './guard.js';
import type { Paths } from './openapi.js';
import { audit, checkName } from './tenancy.js';

type Ctx = Context<AppEnv>;

/**
 * Repositories and their permissions (Quay's endpoints/api/repository.py and permission.py). Repository names may
 * hold more than one '/', so the name is a regexp parameter; paths whose name would contain another module's
 * sub-resource (…/tag/…, …/logs, …/notification/…) are passed on to that module.
 */
export const paths: Paths = {
  '/api/v1/repository': {
    get: { summary: 'Repositories the caller can read ?namespace=&public=&starred=&limit=&next_page=', tags: ['repository'] },
    post: { summary: 'Create a repository {namespace, repository, visibility: public|private, description?}', tags: ['repository'] },
  },
  '/api/v1/repository/{repository}': {
    get: { summary: 'A repository: description, visibility, tag count, the caller\'s write/admin rights (read)', tags: ['repository'] },
    put: { summary: 'Change the description {description} (admin)', tags: ['repository'] },
    delete: { summary: 'Delete a repository; GC collects its blobs (admin)', tags: ['repository'] },
  },
  '/api/v1/repository/{repository}/changevisibility': { post: { summary: 'Make a repository public or private {visibility} (admin)', tags: ['repository'] } },
  '/api/v1/repository/{repository}/permissions/user/': { get: { summary: 'Users and robots granted on the repository (admin)', tags: ['permission'] } },
  '/api/v1/repository/{repository}/permissions/user/{username}': {
    get: { summary: 'A user\'s or robot\'s grant (admin)', tags: ['permission'] },
    put: { summary: 'Grant {role: read|write|admin} to a user or robot ("owner+short"; robots only in their owner\'s namespace) (admin)', tags: ['permission'] },
    delete: { summary: 'Revoke a user\'s or robot\'s grant (admin)', tags: ['permission'] },
  },
  '/api/v1/repository/{repository}/permissions/team/': { get: { summary: 'Teams granted on the repository (admin)', tags: ['permission'] } },
  '/api/v1/repository/{repository}/permissions/team/{teamname}': {
    get: { summary: 'A team\'s grant (admin)', tags: ['permission'] },
    put: { summary: 'Grant {role} to a team of the repository\'s organization (admin)', tags: ['permission'] },
    delete: { summary: 'Revoke a team\'s grant (admin)', tags: ['permission'] },
  },
};

/** Sub-resources other modules serve under /repository/{name}/…: a name containing one is not ours. */
const OTHER_MODULES = new Set(['tag', 'logs', 'aggregatelogs', 'notification', 'manifest', 'image', 'build', 'trigger', 'mirror', 'permissions', 'changevisibility']);

function ours(name: string): boolean {
  return name.split('/').slice(1).every((s) => !OTHER_MODULES.has(s));
}

const MAX_PAGE = 100;

export function register(api: Hono<AppEnv>, deps: Deps): void {
  const repoParam = (c: Ctx): string => {
    const name = c.req.param('repository') ?? '';
    if (!isRepoName(name)) throw new WharfError(NAME_INVALID, { detail: { name: name.slice(0, 300) } });
    return name;
  };

  // Create and list ------------------------------------------------------------------------------------------------

  const create = async (c: Ctx) => {
    c.set('route', 'api-repositories');
    const p = requireUser(c, deps);
    const body = await jsonBody(c);
    const namespace = stringField(body, 'namespace', { required: true, max: 255 })!;
    const repository = stringField(body, 'repository', { required: true, max: 255 })!;
    const name = repoNameOf(namespace, repository);
    const visibility = oneOf(body, 'visibility', ['public', 'private'] as const, false) ?? 'private';
    const description = stringField(body, 'description', { max: 64 * 1024 }) ?? '';
    if (deps.auth) {
      const a = await repoAccess(deps.db, subjectOf(p), name);
      if (!a.canCreate) {
        if (a.namespaceKind === null) throw new WharfError(NOT_FOUND, { message: 'no such user or organization', detail: { namespace } });
        throw new WharfError(DENIED, { message: 'you may not create repositories in this namespace', detail: { namespace } });
      }
    }
    const repo = await withTx(deps.db, async (tx) => {
      const r = await tx.query<{ id: number; name: string }>(
        `INSERT INTO repositories (name, visibility, description) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING RETURNING id, name`,
        [name, visibility, description],
      );
      const row = r.rows[0];
      if (!row) throw new WharfError(CONFLICT, { message: 'the repository exists', detail: { repository: name } });
      await repositoryCreated(deps, tx, row, whoOf(c), 'api');
      return row;
    });
    return c.json({ namespace, name: repository, full_name: repo.name, kind: 'image', is_public: visibility === 'public' }, 201);
  };
  api.post('/repository', create);
  api.post('/repository/', create);

  const list = async (c: Ctx) => {
    c.set('route', 'api-repositories');
    const p = c.get('principal');
    const namespace = c.req.query('namespace');
    if (namespace !== undefined) checkName('namespace', namespace, accounts.isAccountName);
    const limitText = c.req.query('limit');
    const limit = limitText === undefined ? MAX_PAGE : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new WharfError(INVALID_REQUEST, { message: `limit must be 1 to ${MAX_PAGE}` });
    const last = c.req.query('next_page');
    if (last !== undefined && !isRepoName(last)) throw new WharfError(INVALID_REQUEST, { message: 'bad next_page' });
    // Wharf has no stars: nothing is starred.
    if (c.req.query('starred') === 'true') return c.json({ repositories: [] });
    const subject = deps.auth ? subjectOf(p) : { id: 0, kind: 'user' as const, superuser: true };
    const rows = await grants.listVisibleRepositories(deps.db, subject, {
      ...(namespace !== undefined ? { namespace } : {}),
      ...(last !== undefined ? { last } : {}),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    return c.json({
      repositories: page.map((r) => ({
        namespace: r.namespace, name: r.name.slice(r.namespace.length + 1), full_name: r.name,
        description: r.description, is_public: r.visibility === 'public', kind: 'image',
      })),
      ...(rows.length > limit ? { next_page: page[page.length - 1]!.name } : {}),
    });
  };
  api.get('/repository', list);
  api.get('/repository/', list);

  // One repository -------------------------------------------------------------------------------------------------

  // GET/PUT/DELETE /repository/{name}: the name has no fixed number of segments, and a route with a trailing
  // regexp parameter would shadow every other module's /repository/{name}/… route (Hono's RegExpRouter keeps one
  // match per path). So these three are a middleware that answers only for a bare repository name and passes
  // everything else on.
  api.use('/repository/*', async (c, next) => {
    const method = c.req.method;
    const rest = c.req.path.replace(/^.*?\/repository\//, '');
    if ((method !== 'GET' && method !== 'PUT' && method !== 'DELETE') || !isRepoName(rest) || !ours(rest)) return next();
    c.set('route', 'api-repository');
    const res = method === 'GET' ? await getRepository(c, rest) : method === 'PUT' ? await putRepository(c, rest) : await deleteRepository(c, rest);
    return res;
  });

  const getRepository = async (c: Ctx, name: string) => {
    const a = await requireRepoRole(c, deps, name, 'read');
    const r = await deps.db.query<{ description: string; visibility: string; tags: number }>(
      `SELECT description, visibility, (SELECT count(*)::int FROM tags t WHERE t.repository_id = r.id) AS tags FROM repositories r WHERE id = $1`,
      [a.repositoryId],
    );
    const row = r.rows[0];
    if (!row) throw new WharfError(NOT_FOUND, { message: 'repository not found' });
    const namespace = name.split('/', 1)[0]!;
    return c.json({
      namespace, name: name.slice(namespace.length + 1), full_name: name, kind: 'image',
      description: row.description, is_public: row.visibility === 'public', tag_count: row.tags,
      is_organization: a.namespaceKind === 'org',
      can_write: roleAtLeast(a.role, 'write'), can_admin: roleAtLeast(a.role, 'admin'),
    });
  };

  const putRepository = async (c: Ctx, name: string) => {
    const a = await requireRepoRole(c, deps, name, 'admin');
    const body = await jsonBody(c);
    const description = stringField(body, 'description', { required: true, max: 64 * 1024 })!;
    await withTx(deps.db, async (tx) => {
      await tx.query('UPDATE repositories SET description = $2 WHERE id = $1', [a.repositoryId, description]);
      await audit(deps, c, 'set_repo_description', { repository: name, metadata: { description } }, tx);
    });
    return c.json({ success: true });
  };

  const deleteRepository = async (c: Ctx, name: string) => {
    const a = await requireRepoRole(c, deps, name, 'admin');
    await withTx(deps.db, async (tx) => {
      // Manifests, tags, blob links, grants and notifications cascade; GC frees the unreferenced blobs later.
      await tx.query('DELETE FROM repositories WHERE id = $1', [a.repositoryId]);
      await audit(deps, c, 'delete_repo', { repository: name, metadata: {} }, tx);
    });
    return c.body(null, 204);
  };

  api.post('/repository/:repository{.+}/changevisibility', async (c) => {
    c.set('route', 'api-repository-visibility');
    const name = repoParam(c);
    const a = await requireRepoRole(c, deps, name, 'admin');
    const body = await jsonBody(c);
    const visibility = oneOf(body, 'visibility', ['public', 'private'] as const)!;
    await withTx(deps.db, async (tx) => {
      await tx.query('UPDATE repositories SET visibility = $2 WHERE id = $1', [a.repositoryId, visibility]);
      await audit(deps, c, 'change_repo_visibility', { repository: name, metadata: { visibility } }, tx);
    });
    return c.json({ success: true, is_public: visibility === 'public' });
  });

  // Permissions ----------------------------------------------------------------------------------------------------

  api.get('/repository/:repository{.+}/permissions/user/', async (c) => {
    c.set('route', 'api-repository-permissions-user');
    const a = await requireRepoRole(c, deps, repoParam(c), 'admin');
    const list = await grants.listAccountGrants(deps.db, a.repositoryId);
    return c.json({ permissions: Object.fromEntries(list.map((g) => [g.name, accountGrantView(g.name, g.kind, g.role)])) });
  });

  api.get('/repository/:repository{.+}/permissions/team/', async (c) => {
    c.set('route', 'api-repository-permissions-team');
    const a = await requireRepoRole(c, deps, repoParam(c), 'admin');
    const list = await grants.listTeamGrants(deps.db, a.repositoryId);
    return c.json({ permissions: Object.fromEntries(list.map((g) => [g.name, { name: g.name, role: g.role }])) });
  });

  /** The grantee of a user permission: a user, or a robot of the repository's namespace; never an organization. */
  const grantee = async (c: Ctx, db: Queryable, repository: string): Promise<accounts.AccountRow> => {
    const username = c.req.param('username') ?? '';
    if (username.length > 300) throw new WharfError(INVALID_REQUEST, { message: 'username too long' });
    const a = await accounts.findAccount(db, username);
    if (!a) throw new WharfError(NOT_FOUND, { message: 'no such user or robot', detail: { username } });
    if (a.kind === 'org') throw new WharfError(INVALID_REQUEST, { message: 'permissions are granted to users, robots and teams, not organizations', detail: { username } });
    if (a.kind === 'robot' && !username.startsWith(`${repository.split('/', 1)[0]}+`)) {
      throw new WharfError(INVALID_REQUEST, { message: 'a robot can only be granted repositories of its owner\'s namespace', detail: { username } });
    }
    return a;
  };

  const teamOfRepo = async (c: Ctx, db: Queryable, repository: string) => {
    const teamname = c.req.param('teamname') ?? '';
    const org = await accounts.findAccount(db, repository.split('/', 1)[0]!);
    if (!org || org.kind !== 'org') throw new WharfError(INVALID_REQUEST, { message: 'team permissions exist only on repositories of organizations' });
    const team = teamname.length <= 300 ? await findTeam(db, org.id, teamname) : undefined;
    if (!team) throw new WharfError(NOT_FOUND, { message: 'no such team in the organization', detail: { team: teamname.slice(0, 300) } });
    return team;
  };

  api.get('/repository/:repository{.+}/permissions/user/:username', async (c) => {
    c.set('route', 'api-repository-permission-user');
    const name = repoParam(c);
    const a = await requireRepoRole(c, deps, name, 'admin');
    const who = await grantee(c, deps.db, name);
    const role = await grants.findAccountGrant(deps.db, a.repositoryId, who.id);
    if (!role) throw new WharfError(NOT_FOUND, { message: 'no permission for this user', detail: { username: who.name } });
    return c.json(accountGrantView(who.name, who.kind, role));
  });

  api.put('/repository/:repository{.+}/permissions/user/:username', async (c) => {
    c.set('route', 'api-repository-permission-user');
    const name = repoParam(c);
    const a = await requireRepoRole(c, deps, name, 'admin');
    const body = await jsonBody(c);
    const role = oneOf(body, 'role', REPO_ROLES)!;
    const who = await grantee(c, deps.db, name);
    await withTx(deps.db, async (tx) => {
      const before = await grants.setAccountGrant(tx, a.repositoryId, who.id, role);
      await audit(deps, c, 'change_repo_permission', { repository: name, metadata: { username: who.name, role, previous: before ?? null } }, tx);
    });
    return c.json(accountGrantView(who.name, who.kind, role));
  });

  api.delete('/repository/:repository{.+}/permissions/user/:username', async (c) => {
    c.set('route', 'api-repository-permission-user');
    const name = repoParam(c);
    const a = await requireRepoRole(c, deps, name, 'admin');
    const who = await grantee(c, deps.db, name);
    await withTx(deps.db, async (tx) => {
      if (!(await grants.deleteAccountGrant(tx, a.repositoryId, who.id))) {
        throw new WharfError(NOT_FOUND, { message: 'no permission for this user', detail: { username: who.name } });
      }
      await audit(deps, c, 'delete_repo_permission', { repository: name, metadata: { username: who.name } }, tx);
    });
    return c.body(null, 204);
  });

  api.get('/repository/:repository{.+}/permissions/team/:teamname', async (c) => {
    c.set('route', 'api-repository-permission-team');
    const name = repoParam(c);
    const a = await requireRepoRole(c, deps, name, 'admin');
    const team = await teamOfRepo(c, deps.db, name);
    const role = await grants.findTeamGrant(deps.db, a.repositoryId, team.id);
    if (!role) throw new WharfError(NOT_FOUND, { message: 'no permission for this team', detail: { team: team.name } });
    return c.json({ name: team.name, role });
  });

  api.put('/repository/:repository{.+}/permissions/team/:teamname', async (c) => {
    c.set('route', 'api-repository-permission-team');
    const name = repoParam(c);
    const a = await requireRepoRole(c, deps, name, 'admin');
    const body = await jsonBody(c);
    const role = oneOf(body, 'role', REPO_ROLES)!;
    const team = await teamOfRepo(c, deps.db, name);
    await withTx(deps.db, async (tx) => {
      const before = await grants.setTeamGrant(tx, a.repositoryId, team.id, role);
      await audit(deps, c, 'change_repo_permission', { repository: name, metadata: { team: team.name, role, previous: before ?? null } }, tx);
    });
    return c.json({ name: team.name, role });
  });

  api.delete('/repository/:repository{.+}/permissions/team/:teamname', async (c) => {
    c.set('route', 'api-repository-permission-team');
    const name = repoParam(c);
    const a = await requireRepoRole(c, deps, name, 'admin');
    const team = await teamOfRepo(c, deps.db, name);
    await withTx(deps.db, async (tx) => {
      if (!(await grants.deleteTeamGrant(tx, a.repositoryId, team.id))) {
        throw new WharfError(NOT_FOUND, { message: 'no permission for this team', detail: { team: team.name } });
      }
      await audit(deps, c, 'delete_repo_permission', { repository: name, metadata: { team: team.name } }, tx);
    });
    return c.body(null, 204);
  });
}

function accountGrantView(name: string, kind: string, role: string): Record<string, unknown> {
  return { name, role, is_robot: kind === 'robot' };
}
