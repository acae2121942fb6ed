import type { Context, Hono } from 'hono';
import type { AppEnv, Deps } from '../../deps.js';
import type { Paths } from './openapi.js';
import { requireOrg, requireRepoRole, requireSuperuser, requireUser } from './guard.js';
import { WharfError } from '../../../../../shared/errors/errcode.js';
import { INVALID_REQUEST, NAME_INVALID } from '../../../../../shared/errors/codes.js';
import { isRepoName } from '../../../../../shared/oci/reference.js';
import { restOf } from './tags.js';
import { aggregateAuditLog, queryAuditLog, type AuditCursor, type AuditFilter, type AuditScope } from '../../../../../shared/db/audit.js';

type Ctx = Context<AppEnv>;

const DAY_MS = 86_400_000;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

const QUERY_PARAMS = [
  { name: 'starttime', in: 'query', schema: { type: 'string' }, description: 'ISO 8601, or MM/DD/YYYY (UTC day); default: a week before endtime' },
  { name: 'endtime', in: 'query', schema: { type: 'string' }, description: 'ISO 8601 (exclusive), or MM/DD/YYYY (that whole UTC day included); default: now' },
  { name: 'performer', in: 'query', schema: { type: 'string' }, description: 'only actions of this user or robot' },
  { name: 'kind', in: 'query', schema: { type: 'string' }, description: 'comma-separated kinds (push_repo, delete_tag, ...)' },
];
const PAGE_PARAMS = [
  { name: 'next_page', in: 'query', schema: { type: 'string' }, description: 'the next_page of the previous answer' },
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT } },
];
const LOGS_RESPONSE = { 200: { description: '{start_time, end_time, logs:[{kind, metadata, ip, datetime, performer, namespace, repository}], next_page?}' } };
const AGG_RESPONSE = { 200: { description: '{aggregated:[{kind, count, datetime}]} per kind and UTC day' } };
const repoParam = { name: 'repository', in: 'path', required: true, schema: { type: 'string' } };
const orgParam = { name: 'org', in: 'path', required: true, schema: { type: 'string' } };

const logsOp = (summary: string, extra: unknown[] = []) => ({
  get: { summary, tags: ['logs'], parameters: [...extra, ...QUERY_PARAMS, ...PAGE_PARAMS], responses: LOGS_RESPONSE },
});
const aggOp = (summary: string, extra: unknown[] = []) => ({
  get: { summary, tags: ['logs'], parameters: [...extra, ...QUERY_PARAMS], responses: AGG_RESPONSE },
});

export const paths: Paths = {
  '/api/v1/repository/{repository}/logs': logsOp('Audit log of a repository, newest first; needs admin on it', [repoParam]),
  '/api/v1/repository/{repository}/aggregatelogs': aggOp('Audit log counts per kind and day for a repository; needs admin on it', [repoParam]),
  '/api/v1/organization/{org}/logs': logsOp('Audit log of an organization\'s namespace; needs org admin', [orgParam]),
  '/api/v1/organization/{org}/aggregatelogs': aggOp('Audit log counts per kind and day for an organization; needs org admin', [orgParam]),
  '/api/v1/user/logs': logsOp('The caller\'s audit log: their namespace and everything they performed'),
  '/api/v1/user/aggregatelogs': aggOp('Counts per kind and day of the caller\'s audit log'),
  '/api/v1/superuser/logs': logsOp('Every audit record; superuser only'),
  '/api/v1/superuser/aggregatelogs': aggOp('Counts per kind and day of every audit record; superuser only'),
};

export function register(api: Hono<AppEnv>, deps: Deps): void {
  const repositoryScope = (name: string) => async (c: Ctx): Promise<AuditScope> => {
    if (!isRepoName(name)) throw new WharfError(NAME_INVALID, { detail: { name: name.slice(0, 300) } });
    await requireRepoRole(c, deps, name, 'admin');
    return { kind: 'repository', repository: name };
  };
  const scopes: { path: string; route: string; scope: (c: Ctx) => Promise<AuditScope> }[] = [
    {
      path: '/organization/:org', route: 'api-logs-org',
      scope: async (c) => {
        const { org } = await requireOrg(c, deps, c.req.param('org') ?? '', 'admin');
        return { kind: 'namespace', namespace: org.name };
      },
    },
    {
      path: '/user', route: 'api-logs-user',
      scope: async (c) => ({ kind: 'user', name: requireUser(c, deps).name }),
    },
    {
      path: '/superuser', route: 'api-logs-superuser',
      scope: async (c) => {
        requireSuperuser(c, deps);
        return { kind: 'all' };
      },
    },
  ];
  const logs = async (c: Ctx, route: string, scopeOf: (c: Ctx) => Promise<AuditScope>) => {
    c.set('route', route);
    // Parameters first: a malformed request is a 400 whoever sends it, and costs no permission query.
    const q = parseQuery(c);
    const page = parsePage(c);
    const filter: AuditFilter = { ...q, scope: await scopeOf(c) };
    const { rows, more } = await queryAuditLog(deps.db, filter, page);
    const last = rows[rows.length - 1];
    return c.json({
      start_time: q.start.toISOString(),
      end_time: q.end.toISOString(),
      logs: rows.map((r) => ({
        kind: r.kind,
        metadata: r.metadata,
        ip: r.ip,
        datetime: r.atExact,
        performer: r.performer ? { name: r.performer, kind: r.performerKind ?? 'user' } : null,
        namespace: r.namespace,
        repository: r.repository,
      })),
      ...(more && last ? { next_page: encodeCursor({ at: last.atExact, id: last.id }) } : {}),
    });
  };
  const aggregate = async (c: Ctx, route: string, scopeOf: (c: Ctx) => Promise<AuditScope>) => {
    c.set('route', route);
    const q = parseQuery(c);
    const counts = await aggregateAuditLog(deps.db, { ...q, scope: await scopeOf(c) });
    return c.json({ aggregated: counts.map((x) => ({ kind: x.kind, count: x.count, datetime: `${x.day}T00:00:00.000Z` })) });
  };
  for (const s of scopes) {
    api.get(`${s.path}/logs`, (c) => logs(c, s.route, s.scope));
    api.get(`${s.path}/aggregatelogs`, (c) => aggregate(c, `${s.route}-aggregate`, s.scope));
  }
  // Repository names contain '/': a wildcard route and the path parsed here (see tags.ts), other paths fall through.
  api.get('/repository/*', async (c, next) => {
    const m = /^(.+)\/(logs|aggregatelogs)$/.exec(restOf(c.req.path));
    if (!m) return next();
    const scope = repositoryScope(m[1]!);
    return m[2] === 'logs' ? logs(c, 'api-logs-repository', scope) : aggregate(c, 'api-logs-repository-aggregate', scope);
  });
}

const bad = (message: string, detail?: Record<string, unknown>) => new WharfError(INVALID_REQUEST, { message, ...(detail ? { detail } : {}) });

/** ISO 8601 (with a date at least), or Quay's MM/DD/YYYY as a UTC day: its start, or for an end bound its end. */
export function parseTime(raw: string, key: string, bound: 'start' | 'end'): Date {
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(raw);
  if (us) {
    const [month, day, year] = [Number(us[1]), Number(us[2]), Number(us[3])];
    const d = new Date(Date.UTC(year, month - 1, day));
    if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) throw bad(`"${key}" is not a real date`, { [key]: raw });
    return bound === 'end' ? new Date(d.getTime() + DAY_MS) : d;
  }
  if (raw.length <= 40 && /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw)) {
    // A bare date or a time without offset is UTC, as for the MM/DD/YYYY form.
    const withZone = /(Z|[+-]\d{2}:?\d{2})$/.test(raw) || !raw.includes(':') ? raw : `${raw}Z`;
    const d = new Date(withZone.replace(' ', 'T'));
    if (!Number.isNaN(d.getTime())) return d;
  }
  throw bad(`"${key}" must be ISO 8601 or MM/DD/YYYY`, { [key]: raw.slice(0, 100) });
}

function parseQuery(c: Ctx): Omit<AuditFilter, 'scope'> {
  const startRaw = c.req.query('starttime');
  const endRaw = c.req.query('endtime');
  const end = endRaw ? parseTime(endRaw, 'endtime', 'end') : new Date();
  const start = startRaw ? parseTime(startRaw, 'starttime', 'start') : new Date(end.getTime() - 7 * DAY_MS);
  if (start.getTime() > end.getTime()) throw bad('"starttime" is after "endtime"');
  const performer = c.req.query('performer');
  if (performer !== undefined && (performer === '' || performer.length > 255)) throw bad('"performer" must be a name of 1 to 255 characters');
  const kindRaw = c.req.query('kind');
  let kinds: string[] | undefined;
  if (kindRaw !== undefined) {
    kinds = kindRaw.split(',').map((k) => k.trim()).filter((k) => k !== '');
    if (kinds.length === 0 || kinds.length > 50 || kinds.some((k) => !/^[a-z][a-z0-9_]{0,63}$/.test(k))) {
      throw bad('"kind" must be a comma-separated list of log kinds (lowercase letters, digits, _)');
    }
  }
  return { start, end, performer, kinds };
}

function parsePage(c: Ctx): { limit: number; after: AuditCursor | undefined } {
  const rawLimit = c.req.query('limit');
  let limit = DEFAULT_LIMIT;
  if (rawLimit !== undefined) {
    if (!/^\d{1,4}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > MAX_LIMIT) {
      throw bad(`"limit" must be an integer from 1 to ${MAX_LIMIT}`);
    }
    limit = Number(rawLimit);
  }
  const rawNext = c.req.query('next_page');
  return { limit, after: rawNext === undefined ? undefined : decodeCursor(rawNext) };
}

const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The keyset (at to the microsecond, id) of the last row, base64url: opaque to clients, checked when it returns. */
export function encodeCursor(k: AuditCursor): string {
  return Buffer.from(JSON.stringify([k.at, k.id])).toString('base64url');
}

export function decodeCursor(raw: string): AuditCursor {
  const invalid = () => bad('"next_page" is not a cursor this API returned');
  if (raw.length > 200 || !/^[A-Za-z0-9_-]+$/.test(raw)) throw invalid();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(v) || v.length !== 2) throw invalid();
  const [at, id] = v as unknown[];
  if (typeof at !== 'string' || !CURSOR_AT.test(at) || Number.isNaN(new Date(at).getTime())) throw invalid();
  if (typeof id !== 'string' || !/^\d{1,18}$/.test(id)) throw invalid();
  return { at, id };
}
