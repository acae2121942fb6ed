import type { Context, Hono } from 'hono';
import type { AppEnv, Deps } from '../../deps.js';
import { WharfError } from '../../../../../shared/errors/errcode.js';
import { DENIED, INVALID_REQUEST, NOT_FOUND } from '../../../../../shared/errors/codes.js';
import { createSecretToken, hashPassword } from '../../../../../shared/auth/index.js';
import { withTx } from '../../../../../shared/db/pool.js';
import * as accounts from '../../../../../shared/db/accounts.js';
import { organizationsOf } from '../../../../../shared/db/teams.js';
import { jsonBody, requireUser, stringField } from './guard.js';
import type { Paths } from './openapi.js';
import { registerRobots, robotPaths } from './robots.js';
import { audit, emailField, iso, passwordField, requireAccountUser, UUID_RE } from './tenancy.js';

type Ctx = Context<AppEnv>;

/**
 * The caller's own account (Quay's endpoints/api/user.py): who am I, change my password or e-mail, my application
 * tokens, my robots.
 */
export const paths: Paths = {
  '/api/v1/user/': {
    get: { summary: 'The authenticated caller: username, email, super_user, organizations, kind', tags: ['user'] },
    put: { summary: 'Change the caller\'s password or e-mail {password?, email?} (not with an application token)', tags: ['user'] },
  },
  '/api/v1/user/apptoken': {
    get: { summary: 'The caller\'s application tokens (without their secrets)', tags: ['user'] },
    post: { summary: 'Create an application token {title}; token_code is answered only here', tags: ['user'] },
  },
  '/api/v1/user/apptoken/{uuid}': {
    get: { summary: 'One application token', tags: ['user'] },
    delete: { summary: 'Revoke an application token', tags: ['user'] },
  },
  ...robotPaths('/api/v1/user/robots', 'user', 'the caller'),
};

export function register(api: Hono<AppEnv>, deps: Deps): void {
  const me = async (c: Ctx) => {
    c.set('route', 'api-user');
    const p = requireUser(c, deps);
    if (p.id === 0) return c.json({ anonymous: true, username: p.name, super_user: true, kind: 'user', organizations: [] });
    const account = await accounts.findAccountById(deps.db, p.id);
    if (!account) throw new WharfError(NOT_FOUND, { message: 'account not found' });
    const orgs = await organizationsOf(deps.db, p.id);
    return c.json({
      anonymous: false,
      username: account.name,
      email: account.email,
      super_user: p.superuser,
      kind: account.kind,
      enabled: account.enabled,
      created: iso(account.createdAt),
      organizations: orgs.map((o) => ({ name: o.name, is_org_admin: o.isAdmin })),
    });
  };
  api.get('/user/', me);
  api.get('/user', me);

  const update = async (c: Ctx) => {
    c.set('route', 'api-user');
    const p = requireAccountUser(c, deps);
    const body = await jsonBody(c);
    const password = passwordField(body, 'password', false);
    const email = emailField(body, 'email', false);
    // A leaked CI token must not be enough to take the account over.
    if (password !== undefined && p.via === 'app-token') throw new WharfError(DENIED, { message: 'the password cannot be changed with an application token' });
    const hash = password !== undefined ? await hashPassword(password) : undefined;
    await withTx(deps.db, async (tx) => {
      if (hash !== undefined) {
        await accounts.setPasswordHash(tx, p.id, hash);
        await audit(deps, c, 'user_change_password', { namespace: p.name, metadata: { username: p.name } }, tx);
      }
      if (email !== undefined) {
        await accounts.updateAccount(tx, p.id, { email });
        await audit(deps, c, 'user_change_email', { namespace: p.name, metadata: { username: p.name, email } }, tx);
      }
    });
    return me(c);
  };
  api.put('/user/', update);
  api.put('/user', update);

  // Application tokens -------------------------------------------------------------------------------------------

  api.get('/user/apptoken', async (c) => {
    c.set('route', 'api-user-apptokens');
    const p = requireAccountUser(c, deps);
    const tokens = await accounts.listAppTokens(deps.db, p.id);
    return c.json({ tokens: tokens.map((t) => tokenView(t)) });
  });

  api.post('/user/apptoken', async (c) => {
    c.set('route', 'api-user-apptokens');
    const p = requireAccountUser(c, deps);
    const body = await jsonBody(c);
    const title = stringField(body, 'title', { required: true, max: 255 })!.trim();
    if (title === '') throw new WharfError(INVALID_REQUEST, { message: '"title" must not be empty' });
    const secret = createSecretToken('app');
    const token = await withTx(deps.db, async (tx) => {
      const t = await accounts.createAppToken(tx, p.id, title, secret);
      await audit(deps, c, 'create_application_specific_token', { namespace: p.name, metadata: { app_specific_token_title: title, app_specific_token: t.id } }, tx);
      return t;
    });
    return c.json({ token: tokenView(token, secret.token) }, 201);
  });

  const tokenOf = async (c: Ctx) => {
    const p = requireAccountUser(c, deps);
    const id = c.req.param('uuid') ?? '';
    const t = UUID_RE.test(id) ? await accounts.findAppToken(deps.db, p.id, id) : undefined;
    if (!t) throw new WharfError(NOT_FOUND, { message: 'application token not found' });
    return { p, t };
  };

  api.get('/user/apptoken/:uuid', async (c) => {
    c.set('route', 'api-user-apptoken');
    const { t } = await tokenOf(c);
    return c.json({ token: tokenView(t) });
  });

  api.delete('/user/apptoken/:uuid', async (c) => {
    c.set('route', 'api-user-apptoken');
    const { p, t } = await tokenOf(c);
    await withTx(deps.db, async (tx) => {
      await accounts.deleteAppToken(tx, p.id, t.id);
      await audit(deps, c, 'revoke_application_specific_token', { namespace: p.name, metadata: { app_specific_token_title: t.title, app_specific_token: t.id } }, tx);
    });
    return c.body(null, 204);
  });

  // The caller's robots ------------------------------------------------------------------------------------------

  registerRobots(api, deps, '/user/robots', async (c) => {
    const p = requireAccountUser(c, deps);
    const account = await accounts.findAccountById(deps.db, p.id);
    if (!account) throw new WharfError(NOT_FOUND, { message: 'account not found' });
    return account;
  }, 'api-user');
}

function tokenView(t: accounts.AppTokenRow, code?: string): Record<string, unknown> {
  return {
    uuid: t.id, title: t.title, created: iso(t.createdAt), last_accessed: iso(t.lastUsedAt), expiration: iso(t.expiresAt),
    ...(code ? { token_code: code } : {}),
  };
}
