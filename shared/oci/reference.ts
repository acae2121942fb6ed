export type RepoName = string & { readonly __brand: 'RepoName' };
export type Tag = string & { readonly __brand: 'Tag' };

// distribution-spec: <name> is [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
// Hosts like Docker Hub cap the name (with registry host) at 255 characters; the spec suggests the same limit.
export const MAX_NAME_LENGTH = 255;

export function isRepoName(s: string): s is RepoName {
  return s.length > 0 && s.length <= MAX_NAME_LENGTH && NAME_RE.test(s);
}

export function isTag(s: string): s is Tag {
  return TAG_RE.test(s);
}
