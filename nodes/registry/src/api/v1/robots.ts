import type { Context, Hono } from 'hono';
import type { AppEnv, Deps } from '../../deps.js';
import { WharfError } from '../../../../../shared/errors/errcode.js';
import { CONFLICT, NOT_FOUND } from '../../../../../shared/errors/codes.js';
import { createSecretToken } from '../../../../../shared/auth/index.js';
import { withTx } from '../../../../../shared/db/pool.js';
import * as accounts from '../../../../../shared/db/accounts.js';
import { grantsOfAccount } from '../../../../../shared/db/grants.js';
import { jsonBody, stringField } from './guard.js';
import type { Paths } from './openapi.js';
import { audit, checkName, iso } from './tenancy.js';

type Ctx = Context<AppEnv>;

/**
 * Robot accounts of a user or an organization, at the same paths under /user/robots and
 * /organization/{org}/robots. `owner` resolves (and authorizes) the owning account: the caller itself, or an
 * organization the caller administers. The token is stored hashed, so it is shown only when created or regenerated.
 */
export function registerRobots(api: Hono<AppEnv>, deps: Deps, base: string, owner: (c: Ctx) => Promise<accounts.AccountRow>, route: string): void {
  const robotOf = async (c: Ctx): Promise<{ owner: accounts.AccountRow; robot: accounts.AccountRow }> => {
    const o = await owner(c);
    const short = checkName('robot', c.req.param('short') ?? '', (s) => accounts.ROBOT_SHORT_RE.test(s));
    const robot = await accounts.findAccount(deps.db, accounts.robotName(o.name, short));
    if (!robot || robot.kind !== 'robot' || robot.ownerId !== o.id) {
      throw new WharfError(NOT_FOUND, { message: 'robot not found', detail: { robot: accounts.robotName(o.name, short) } });
    }
    return { owner: o, robot };
  };

  api.get(base, async (c) => {
    c.set('route', `${route}-robots`);
    const o = await owner(c);
    const robots = await accounts.listAccounts(deps.db, 'robot', { ownerId: o.id });
    return c.json({ robots: robots.map((r) => robotView(r)) });
  });

  api.put(`${base}/:short`, async (c) => {
    c.set('route', `${route}-robot`);
    const o = await owner(c);
    const short = checkName('robot', c.req.param('short'), (s) => accounts.ROBOT_SHORT_RE.test(s));
    const body = await jsonBody(c);
    const description = stringField(body, 'description', { max: 1024 }) ?? '';
    const secret = createSecretToken('robot');
    const robot = await withTx(deps.db, async (tx) => {
      const r = await accounts.createRobot(tx, o, short, secret, description);
      if (!r) throw new WharfError(CONFLICT, { message: 'a robot (or account) with this name exists', detail: { robot: accounts.robotName(o.name, short) } });
      await audit(deps, c, 'create_robot', { namespace: o.name, metadata: { robot: r.name } }, tx);
      return r;
    });
    return c.json(robotView(robot, secret.token), 201);
  });

  api.get(`${base}/:short`, async (c) => {
    c.set('route', `${route}-robot`);
    const { robot } = await robotOf(c);
    return c.json(robotView(robot));
  });

  api.delete(`${base}/:short`, async (c) => {
    c.set('route', `${route}-robot`);
    const { owner: o, robot } = await robotOf(c);
    await withTx(deps.db, async (tx) => {
      await accounts.deleteAccount(tx, robot.id);
      await audit(deps, c, 'delete_robot', { namespace: o.name, metadata: { robot: robot.name } }, tx);
    });
    return c.body(null, 204);
  });

  api.post(`${base}/:short/regenerate`, async (c) => {
    c.set('route', `${route}-robot-regenerate`);
    const { owner: o, robot } = await robotOf(c);
    const secret = createSecretToken('robot');
    await withTx(deps.db, async (tx) => {
      await accounts.setRobotToken(tx, robot.id, secret);
      await audit(deps, c, 'regenerate_robot_token', { namespace: o.name, metadata: { robot: robot.name } }, tx);
    });
    return c.json(robotView(robot, secret.token));
  });

  api.get(`${base}/:short/permissions`, async (c) => {
    c.set('route', `${route}-robot-permissions`);
    const { robot } = await robotOf(c);
    const grants = await grantsOfAccount(deps.db, robot.id);
    return c.json({ permissions: grants.map((g) => ({ repository: { name: g.repository }, role: g.role })) });
  });
}

function robotView(r: accounts.AccountRow, token?: string): Record<string, unknown> {
  return { name: r.name, description: r.description, created: iso(r.createdAt), enabled: r.enabled, ...(token ? { token } : {}) };
}

export function robotPaths(base: string, tag: string, params: string): Paths {
  return {
    [base]: { get: { summary: `List the robot accounts of ${params}`, tags: [tag] } },
    [`${base}/{short}`]: {
      get: { summary: 'A robot account (its token is shown only at creation and regeneration)', tags: [tag] },
      put: { summary: 'Create a robot account {description?}; answers its token once', tags: [tag] },
      delete: { summary: 'Delete a robot account', tags: [tag] },
    },
    [`${base}/{short}/regenerate`]: { post: { summary: 'Replace the robot\'s token; the old one stops working', tags: [tag] } },
    [`${base}/{short}/permissions`]: { get: { summary: 'Repositories granted to the robot, with the role', tags: [tag] } },
  };
}
