import type { Context, Hono } from 'hono';
import type { AppEnv, Deps } from '../../deps.js';
import { WharfError } from '../../../../../shared/errors/errcode.js';
import { CONFLICT, INVALID_REQUEST, NOT_FOUND } from '../../../../../shared/errors/codes.js';
import { hashPassword } from '../../../../../shared/auth/index.js';
import { withTx } from '../../../../../shared/db/pool.js';
import * as accounts from '../../../../../shared/db/accounts.js';
import { jsonBody, requireSuperuser } from './guard.js';
import type { Paths } from './openapi.js';
import { audit, boolField, checkName, emailField, iso, nameField, passwordField } from './tenancy.js';

type Ctx = Context<AppEnv>;

/** User management and signing-key rotation for superusers (Quay's endpoints/api/superuser.py). */
export const paths: Paths = {
  '/api/v1/superuser/users/': {
    get: { summary: 'Every user account (superuser)', tags: ['superuser'] },
    post: { summary: 'Create a user {username, email, password (at least 8 characters)} (superuser)', tags: ['superuser'] },
  },
  '/api/v1/superuser/users/{username}': {
    get: { summary: 'One user account (superuser)', tags: ['superuser'] },
    put: { summary: 'Change a user {enabled?, superuser?, password?, email?} (superuser)', tags: ['superuser'] },
    delete: { summary: 'Delete a user with its robots, tokens and grants (superuser)', tags: ['superuser'] },
  },
  '/api/v1/superuser/keys/rotate': {
    post: { summary: 'Rotate this node\'s token signing key; tokens signed by the old key stay valid until they expire (superuser)', tags: ['superuser'] },
  },
};

export function register(api: Hono<AppEnv>, deps: Deps): void {
  const list = async (c: Ctx) => {
    c.set('route', 'api-superuser-users');
    requireSuperuser(c, deps);
    const users = await accounts.listAccounts(deps.db, 'user');
    return c.json({ users: users.map(userView) });
  };
  api.get('/superuser/users/', list);
  api.get('/superuser/users', list);

  const create = async (c: Ctx) => {
    c.set('route', 'api-superuser-users');
    requireSuperuser(c, deps);
    const body = await jsonBody(c);
    const username = nameField(body, 'username', 'username', accounts.isAccountName);
    const email = emailField(body, 'email', false);
    const password = passwordField(body, 'password', true)!;
    const hash = await hashPassword(password);
    const user = await withTx(deps.db, async (tx) => {
      const u = await accounts.createAccount(tx, { name: username, kind: 'user', email: email ?? null, passwordHash: hash });
      if (!u) throw new WharfError(CONFLICT, { message: 'the name is taken', detail: { username } });
      await audit(deps, c, 'user_create', { namespace: username, metadata: { username, email: email ?? null } }, tx);
      return u;
    });
    return c.json(userView(user), 201);
  };
  api.post('/superuser/users/', create);
  api.post('/superuser/users', create);

  const target = async (c: Ctx) => {
    const name = checkName('username', c.req.param('username') ?? '', accounts.isAccountName);
    const u = await accounts.findAccount(deps.db, name);
    if (!u || u.kind !== 'user') throw new WharfError(NOT_FOUND, { message: 'user not found', detail: { username: name } });
    return u;
  };

  api.get('/superuser/users/:username', async (c) => {
    c.set('route', 'api-superuser-user');
    requireSuperuser(c, deps);
    return c.json(userView(await target(c)));
  });

  api.put('/superuser/users/:username', async (c) => {
    c.set('route', 'api-superuser-user');
    const me = requireSuperuser(c, deps);
    const u = await target(c);
    const body = await jsonBody(c);
    const enabled = boolField(body, 'enabled');
    const superuser = boolField(body, 'superuser');
    const password = passwordField(body, 'password', false);
    const email = emailField(body, 'email', false);
    // A superuser locking themselves out would leave nobody able to undo it.
    if (u.id === me.id && (enabled === false || superuser === false)) {
      throw new WharfError(INVALID_REQUEST, { message: 'a superuser cannot disable or demote themselves' });
    }
    const hash = password !== undefined ? await hashPassword(password) : undefined;
    const updated = await withTx(deps.db, async (tx) => {
      const on = { namespace: u.name, metadata: { username: u.name } };
      if (enabled !== undefined && enabled !== u.enabled) await audit(deps, c, enabled ? 'user_enable' : 'user_disable', on, tx);
      if (superuser !== undefined && superuser !== u.superuser) {
        await audit(deps, c, superuser ? 'user_change_superuser_grant' : 'user_change_superuser_revoke', on, tx);
      }
      if (email !== undefined && email !== u.email) await audit(deps, c, 'user_change_email', { ...on, metadata: { ...on.metadata, email } }, tx);
      if (hash !== undefined) {
        await accounts.setPasswordHash(tx, u.id, hash);
        await audit(deps, c, 'user_change_password', on, tx);
      }
      await accounts.updateAccount(tx, u.id, { ...(email !== undefined ? { email } : {}), enabled, superuser });
      return (await accounts.findAccountById(tx, u.id))!;
    });
    return c.json(userView(updated));
  });

  api.delete('/superuser/users/:username', async (c) => {
    c.set('route', 'api-superuser-user');
    const me = requireSuperuser(c, deps);
    const u = await target(c);
    if (u.id === me.id) throw new WharfError(INVALID_REQUEST, { message: 'a superuser cannot delete themselves' });
    await withTx(deps.db, async (tx) => {
      // The user's namespace goes with it, as in Quay; repositories' blobs are collected by GC.
      await tx.query('DELETE FROM repositories WHERE namespace = $1', [u.name]);
      await tx.query('DELETE FROM notifications WHERE namespace = $1', [u.name]);
      await accounts.deleteAccount(tx, u.id);
      await audit(deps, c, 'user_delete', { namespace: u.name, metadata: { username: u.name } }, tx);
    });
    return c.body(null, 204);
  });

  api.post('/superuser/keys/rotate', async (c) => {
    c.set('route', 'api-superuser-keys-rotate');
    requireSuperuser(c, deps);
    if (!deps.auth) throw new WharfError(INVALID_REQUEST, { message: 'this node runs without token auth (auth mode open): there is no signing key' });
    const kid = await deps.auth.rotate();
    await audit(deps, c, 'rotate_signing_key', { metadata: { kid } });
    return c.json({ kid });
  });
}

function userView(u: accounts.AccountRow): Record<string, unknown> {
  return { username: u.name, email: u.email, kind: u.kind, super_user: u.superuser, enabled: u.enabled, created: iso(u.createdAt) };
}
