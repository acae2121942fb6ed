import type { Context, Hono } from 'hono';
import type { AppEnv, Deps } from '../../deps.js';
import type { Paths } from './openapi.js';
import { jsonBody, requireRepoRole, stringField, who } from './guard.js';
import { WharfError } from '../../../../../shared/errors/errcode.js';
import { INVALID_REQUEST, MANIFEST_UNKNOWN, NAME_INVALID, NOT_FOUND, TAG_INVALID } from '../../../../../shared/errors/codes.js';
import { isRepoName, isTag } from '../../../../../shared/oci/reference.js';
import { isDigest } from '../../../../../shared/oci/digest.js';
import { isIndexMediaType } from '../../../../../shared/oci/media-types.js';
import { withTx, type Queryable } from '../../../../../shared/db/pool.js';
import * as tagsDb from '../../../../../shared/db/tags.js';
import { existingManifestsForShare } from '../../../../../shared/db/manifests.js';
import { tagDeleted, whoOf } from '../../services/activity.js';

type Ctx = Context<AppEnv>;

const repoParam = { name: 'repository', in: 'path', required: true, description: 'namespace/name (may contain more slashes)', schema: { type: 'string' } };
const tagParam = { name: 'tag', in: 'path', required: true, schema: { type: 'string' } };
const digestBody = {
  required: true,
  content: { 'application/json': { schema: { type: 'object', required: ['manifest_digest'], properties: { manifest_digest: { type: 'string' } } } } },
};

export const paths: Paths = {
  '/api/v1/repository/{repository}/tag/': {
    get: {
      summary: 'Tags of a repository with their history (past periods carry end_ts); needs read',
      tags: ['tags'],
      parameters: [
        repoParam,
        { name: 'specificTag', in: 'query', schema: { type: 'string' }, description: 'only this tag' },
        { name: 'onlyActiveTags', in: 'query', schema: { type: 'boolean' }, description: 'leave out past periods' },
        { name: 'page', in: 'query', schema: { type: 'integer', minimum: 1, default: 1 } },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 } },
      ],
      responses: { 200: { description: '{tags:[{name, manifest_digest, reversion, start_ts, end_ts?, last_modified, is_manifest_list}], page, has_additional}' } },
    },
  },
  '/api/v1/repository/{repository}/tag/{tag}': {
    put: {
      summary: 'Create or move a tag to a manifest of the repository; needs write',
      tags: ['tags'], parameters: [repoParam, tagParam], requestBody: digestBody,
      responses: { 201: { description: 'the tag points at the manifest' }, 404: { description: 'MANIFEST_UNKNOWN' } },
    },
    delete: {
      summary: 'Delete a tag (restorable within tags.restoreWindowSeconds); needs write',
      tags: ['tags'], parameters: [repoParam, tagParam],
      responses: { 204: { description: 'deleted' }, 404: { description: 'no such tag' } },
    },
  },
  '/api/v1/repository/{repository}/tag/{tag}/restore': {
    post: {
      summary: 'Point a tag back at a manifest it pointed at within tags.restoreWindowSeconds; needs write',
      tags: ['tags'], parameters: [repoParam, tagParam], requestBody: digestBody,
      responses: { 200: { description: 'restored' }, 400: { description: 'outside the restore window' }, 404: { description: 'never pointed there, or the manifest is gone' } },
    },
  },
};

/**
 * Repository names contain '/', and Hono's router mis-matches overlapping regexp parameters (`:x{.+}/tag/` next to
 * another module's `:x{.+}`), so one wildcard route takes /repository/* and the path is parsed here; anything that is
 * not a tag route falls through to the other modules.
 */
export function register(api: Hono<AppEnv>, deps: Deps): void {
  api.on(['GET', 'PUT', 'DELETE', 'POST'], '/repository/*', async (c, next) => {
    const rest = restOf(c.req.path);
    const method = c.req.method;
    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^(.+)\/tag\/$/.exec(rest))) {
      c.set('route', 'api-tags-list');
      return c.json(await listTags(c, deps, repositoryOf(m[1]!)));
    }
    if ((method === 'PUT' || method === 'DELETE') && (m = /^(.+)\/tag\/([^/]+)$/.exec(rest))) {
      c.set('route', 'api-tag');
      const [name, tag] = [repositoryOf(m[1]!), tagOf(m[2]!)];
      if (method === 'PUT') return c.json(await putTag(c, deps, name, tag), 201);
      await deleteTag(c, deps, name, tag);
      return c.body(null, 204);
    }
    if (method === 'POST' && (m = /^(.+)\/tag\/([^/]+)\/restore$/.exec(rest))) {
      c.set('route', 'api-tag-restore');
      return c.json(await restoreTag(c, deps, repositoryOf(m[1]!), tagOf(m[2]!)));
    }
    return next();
  });
}

/** The part of the request path after /repository/, percent-decoded when it is valid. */
export function restOf(path: string): string {
  const i = path.indexOf('/repository/');
  const rest = i < 0 ? '' : path.slice(i + '/repository/'.length);
  try {
    return decodeURIComponent(rest);
  } catch {
    return rest;
  }
}

function repositoryOf(name: string): string {
  if (!isRepoName(name)) throw new WharfError(NAME_INVALID, { detail: { name: name.slice(0, 300) } });
  return name;
}

function tagOf(tag: string): string {
  if (!isTag(tag)) throw new WharfError(TAG_INVALID, { detail: { tag: tag.slice(0, 300) } });
  return tag;
}

function intParam(c: Ctx, key: string, dflt: number, min: number, max: number): number {
  const raw = c.req.query(key);
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new WharfError(INVALID_REQUEST, { message: `"${key}" must be an integer from ${min} to ${max}` });
  }
  return Number(raw);
}

function boolParam(c: Ctx, key: string): boolean {
  const raw = c.req.query(key);
  if (raw === undefined || raw === '') return false;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new WharfError(INVALID_REQUEST, { message: `"${key}" must be true or false` });
}

async function digestField(c: Ctx): Promise<string> {
  const digest = stringField(await jsonBody(c), 'manifest_digest', { required: true, max: 200 })!;
  if (!isDigest(digest)) throw new WharfError(INVALID_REQUEST, { message: '"manifest_digest" is not a valid digest', detail: { manifest_digest: digest.slice(0, 200) } });
  return digest;
}

async function requireManifest(tx: Queryable, repositoryId: number, digest: string, message: string): Promise<void> {
  const found = await existingManifestsForShare(tx, repositoryId, [digest]);
  if (!found.has(digest)) throw new WharfError(MANIFEST_UNKNOWN, { message, detail: { digest } });
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

async function listTags(c: Ctx, deps: Deps, name: string) {
  const specific = c.req.query('specificTag');
  if (specific !== undefined && specific !== '' && !isTag(specific)) {
    throw new WharfError(INVALID_REQUEST, { message: '"specificTag" is not a valid tag name' });
  }
  const onlyActive = boolParam(c, 'onlyActiveTags');
  const page = intParam(c, 'page', 1, 1, 100_000);
  const limit = intParam(c, 'limit', 50, 1, 100);
  const { repositoryId } = await requireRepoRole(c, deps, name, 'read');
  const periods = await tagsDb.listTagPeriods(deps.db, repositoryId, name, {
    tag: specific || undefined, onlyActive, limit: limit + 1, offset: (page - 1) * limit,
  });
  return {
    tags: periods.slice(0, limit).map((p) => ({
      name: p.name,
      manifest_digest: p.manifestDigest,
      reversion: p.reversion,
      start_ts: seconds(p.start),
      ...(p.end ? { end_ts: seconds(p.end) } : {}),
      last_modified: p.start.toUTCString(),
      ...(p.mediaType ? { is_manifest_list: isIndexMediaType(p.mediaType) } : {}),
    })),
    page,
    has_additional: periods.length > limit,
  };
}

async function putTag(c: Ctx, deps: Deps, name: string, tag: string) {
  const { repositoryId } = await requireRepoRole(c, deps, name, 'write');
  const digest = await digestField(c);
  const { performer, ip } = who(c);
  const { previous } = await withTx(deps.db, async (tx) => {
    await requireManifest(tx, repositoryId, digest, 'the repository has no manifest with this digest');
    const r = await tagsDb.setTag(tx, repositoryId, tag, digest);
    if (r.changed) {
      await deps.audit.record({
        kind: r.previous ? 'move_tag' : 'create_tag', performer, ip, repository: name,
        metadata: { tag, digest, previous: r.previous },
      }, tx);
    }
    return r;
  });
  return { name: tag, manifest_digest: digest, previous_digest: previous };
}

async function deleteTag(c: Ctx, deps: Deps, name: string, tag: string): Promise<void> {
  const { repositoryId } = await requireRepoRole(c, deps, name, 'write');
  await withTx(deps.db, async (tx) => {
    const digest = await tagsDb.deleteTag(tx, repositoryId, tag);
    if (!digest) throw new WharfError(NOT_FOUND, { message: 'tag not found', detail: { repository: name, tag } });
    await tagDeleted(deps, tx, whoOf(c), name, tag, digest);
  });
}

async function restoreTag(c: Ctx, deps: Deps, name: string, tag: string) {
  const { repositoryId } = await requireRepoRole(c, deps, name, 'write');
  const digest = await digestField(c);
  const window = deps.config.tags.restoreWindowSeconds;
  const { performer, ip } = who(c);
  const { previous } = await withTx(deps.db, async (tx) => {
    const when = await tagsDb.pointedWithin(tx, repositoryId, tag, digest, window);
    if (when === 'never') {
      throw new WharfError(NOT_FOUND, { message: 'the tag never pointed at this manifest', detail: { tag, digest } });
    }
    if (when === 'expired') {
      throw new WharfError(INVALID_REQUEST, {
        message: `the tag last pointed at this manifest more than ${window} seconds ago (the restore window)`,
        detail: { tag, digest, restoreWindowSeconds: window },
      });
    }
    await requireManifest(tx, repositoryId, digest, 'the manifest no longer exists in the repository, so the tag cannot be restored');
    const r = await tagsDb.setTag(tx, repositoryId, tag, digest);
    // Same transaction, so the same now(): the tag listing marks the period as a reversion by this record.
    if (r.changed) {
      await deps.audit.record({ kind: 'revert_tag', performer, ip, repository: name, metadata: { tag, digest, previous: r.previous } }, tx);
    }
    return r;
  });
  return { name: tag, manifest_digest: digest, previous_digest: previous };
}
