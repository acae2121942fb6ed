/**
 * Token scopes per the Docker Registry v2 token specification:
 *
 *   scope          := resourcescope [ ' ' resourcescope ]*
 *   resourcescope  := resourcetype ":" resourcename ":" action [ ',' action ]*
 *   resourcetype   := /[a-z0-9]+/ [ '(' /[a-z0-9]+/ ')' ]      e.g. "repository(plugin)"
 *
 * Wharf knows two resource types: `repository:<name>:pull,push,delete,*` and `registry:catalog:*`.
 * Names are validated with the OCI grammar (`isRepoName`), so a hostname:port prefix or any extra colon is refused.
 * Parsing is strict (a malformed scope is a client error); down-scoping (`intersectAccess`) never errors.
 */
import { isRepoName } from '../oci/reference.js';

export type ResourceType = 'repository' | 'registry';

/** One resource and the actions requested or granted on it (the `access` claim entry of a registry token). */
export interface Access {
  readonly type: ResourceType;
  /** The optional resource class, e.g. "plugin" in `repository(plugin):name:pull`; informational only. */
  readonly class?: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/** Actions each resource type understands; `*` means every action on the resource. */
export const KNOWN_ACTIONS: Readonly<Record<ResourceType, readonly string[]>> = Object.freeze({
  repository: Object.freeze(['pull', 'push', 'delete', '*']),
  registry: Object.freeze(['*']),
});

const TYPE_RE = /^([a-z0-9]+)(?:\(([a-z0-9]+)\))?$/;
/** Upper bound for one `scope` value; a client never needs more, and it bounds the work of a hostile request. */
export const MAX_SCOPE_LENGTH = 4096;
/** Upper bound on the number of resource scopes in one request. */
export const MAX_SCOPES = 64;

export class ScopeError extends Error {
  override readonly name = 'ScopeError';
  readonly scope: string;
  constructor(scope: string, reason: string) {
    super(`invalid scope ${JSON.stringify(scope.slice(0, 300))}: ${reason}`);
    this.scope = scope;
  }
}

function isResourceType(t: string): t is ResourceType {
  return t === 'repository' || t === 'registry';
}

/** Checks one access entry (parsed or read from a token claim); returns the reason it is invalid, or null. */
export function accessProblem(a: { type: unknown; class?: unknown; name: unknown; actions: unknown }): string | null {
  if (typeof a.type !== 'string' || !isResourceType(a.type)) return `unknown resource type ${JSON.stringify(a.type)}`;
  if (a.class !== undefined && (typeof a.class !== 'string' || !/^[a-z0-9]+$/.test(a.class))) return 'bad resource class';
  if (typeof a.name !== 'string') return 'name is not a string';
  if (a.type === 'repository' && !isRepoName(a.name)) return `bad repository name ${JSON.stringify(a.name.slice(0, 300))}`;
  if (a.type === 'registry' && a.name !== 'catalog') return `unknown registry resource ${JSON.stringify(a.name.slice(0, 300))}`;
  if (!Array.isArray(a.actions) || a.actions.length === 0) return 'no actions';
  const known = KNOWN_ACTIONS[a.type];
  for (const act of a.actions as unknown[]) {
    if (typeof act !== 'string' || !known.includes(act)) return `unknown action ${JSON.stringify(act)} for ${a.type}`;
  }
  return null;
}

/** Parses one resource scope such as `repository:library/ubuntu:pull,push`. Throws ScopeError. */
export function parseScope(s: string): Access {
  if (s.length === 0) throw new ScopeError(s, 'empty');
  if (s.length > MAX_SCOPE_LENGTH) throw new ScopeError(s, 'too long');
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  // Split as distribution does (type before the first colon, actions after the last one), so that "extra" colons
  // land in the name, where the name grammar refuses them.
  if (first < 0 || last === first) throw new ScopeError(s, 'expected <type>:<name>:<actions>');
  const typePart = s.slice(0, first);
  const name = s.slice(first + 1, last);
  const actionPart = s.slice(last + 1);
  const m = TYPE_RE.exec(typePart);
  if (!m) throw new ScopeError(s, `bad resource type ${JSON.stringify(typePart)}`);
  const type = m[1]!;
  const cls = m[2];
  if (actionPart.length === 0) throw new ScopeError(s, 'no actions');
  const actions = dedupe(actionPart.split(','));
  if (actions.some((a) => a.length === 0)) throw new ScopeError(s, 'empty action');
  const problem = accessProblem({ type, class: cls, name, actions });
  if (problem) throw new ScopeError(s, problem);
  return makeAccess(type as ResourceType, name, actions, cls);
}

/**
 * Parses every `scope` parameter of a token request (each may hold several space-separated scopes) and merges
 * entries for the same resource. No parameter, or only empty ones, gives `[]` (a login without scope).
 */
export function parseScopes(params: string | readonly string[] | undefined | null): Access[] {
  const values = params == null ? [] : typeof params === 'string' ? [params] : params;
  const out: Access[] = [];
  for (const v of values) {
    if (v.length > MAX_SCOPE_LENGTH * MAX_SCOPES) throw new ScopeError(v, 'too long');
    for (const piece of v.split(' ')) {
      if (piece.length === 0) continue;
      out.push(parseScope(piece));
      if (out.length > MAX_SCOPES) throw new ScopeError(v, `more than ${MAX_SCOPES} scopes`);
    }
  }
  return mergeAccess(out);
}

/** `repository(plugin):name:pull,push` */
export function formatScope(a: Access): string {
  return `${a.type}${a.class ? `(${a.class})` : ''}:${a.name}:${a.actions.join(',')}`;
}

/** Space-separated, as in a `WWW-Authenticate` scope attribute. */
export function formatScopes(list: readonly Access[]): string {
  return list.map(formatScope).join(' ');
}

/** Merges entries for the same (type, class, name), uniting their actions, keeping first-seen order. */
export function mergeAccess(list: readonly Access[]): Access[] {
  const byKey = new Map<string, { type: ResourceType; class: string | undefined; name: string; actions: string[] }>();
  for (const a of list) {
    const key = `${a.type}(${a.class ?? ''}):${a.name}`;
    const cur = byKey.get(key);
    if (cur) cur.actions = dedupe([...cur.actions, ...a.actions]);
    else byKey.set(key, { type: a.type, class: a.class, name: a.name, actions: dedupe([...a.actions]) });
  }
  return [...byKey.values()].map((e) => makeAccess(e.type, e.name, e.actions, e.class));
}

/**
 * True when `granted` allows `action` on (type, name): an entry for the same type and name holding that action or
 * `*`. The resource class is not part of the decision. Asking for `*` requires a granted `*`.
 */
export function covers(granted: readonly Access[], type: ResourceType, name: string, action: string): boolean {
  for (const g of granted) {
    if (g.type !== type || g.name !== name) continue;
    if (g.actions.includes('*') || g.actions.includes(action)) return true;
  }
  return false;
}

/**
 * Down-scoping, as the token spec asks: keep the requested actions that `granted` allows and drop the rest, dropping
 * resources left with no action. Never throws. A requested `*` stays `*` when `*` is granted, otherwise it becomes
 * the concrete actions granted on that resource.
 */
export function intersectAccess(requested: readonly Access[], granted: readonly Access[]): Access[] {
  const out: Access[] = [];
  for (const r of requested) {
    const kept: string[] = [];
    for (const act of r.actions) {
      if (covers(granted, r.type, r.name, act)) kept.push(act);
      else if (act === '*') {
        for (const g of granted) if (g.type === r.type && g.name === r.name) kept.push(...g.actions);
      }
    }
    const actions = dedupe(kept).filter((a) => KNOWN_ACTIONS[r.type]?.includes(a));
    if (actions.length > 0) out.push(makeAccess(r.type, r.name, actions, r.class));
  }
  return mergeAccess(out);
}

function makeAccess(type: ResourceType, name: string, actions: readonly string[], cls: string | undefined): Access {
  const a: { type: ResourceType; class?: string; name: string; actions: readonly string[] } = { type, name, actions: Object.freeze([...actions]) };
  if (cls) a.class = cls;
  return Object.freeze(a);
}

function dedupe(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}
