import type { Fetcher } from './oci-client.js';

/** Credentials as a registry client holds them: a user's password, an app token, or a robot's token. */
export interface Creds {
  username: string;
  password: string;
}

export function basic(c: Creds): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** Parses `Bearer realm="...",service="...",scope="..."` (quoted values may hold commas). */
export function parseChallenge(header: string | null): Record<string, string> | undefined {
  if (!header || !/^Bearer\s/i.test(header)) return undefined;
  const out: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/gi)) out[m[1]!.toLowerCase()] = m[2]!.replace(/\\(.)/g, '$1');
  return out;
}

/** GETs a token from the endpoint a challenge names, with Basic credentials or anonymously. */
export async function fetchToken(realm: string, service: string, scopes: string[], creds?: Creds): Promise<Response> {
  const url = new URL(realm);
  url.searchParams.set('service', service);
  for (const s of scopes) url.searchParams.append('scope', s);
  return fetch(url, { headers: creds ? { Authorization: basic(creds) } : {} });
}

export async function tokenFor(base: string, scopes: string[], creds?: Creds, service = 'wharf'): Promise<string> {
  const r = await fetchToken(`${base}/v2/auth`, service, scopes, creds);
  if (r.status !== 200) throw new Error(`token: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

/**
 * A fetch that behaves like docker/podman/skopeo: send the request; on a 401 Bearer challenge get a token for the
 * challenge's scope (with the credentials, if any) and send the request once more. Bodies must be replayable
 * (buffers, strings), which test bodies are.
 */
export function registryFetch(creds?: Creds): Fetcher {
  const tokens = new Map<string, string>();
  return async (url, init = {}) => {
    const send = (token?: string) => fetch(url, {
      ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    });
    const scopeKey = (ch: Record<string, string>) => `${ch.realm} ${ch.scope ?? ''}`;
    let first = await send();
    const ch = parseChallenge(first.headers.get('www-authenticate'));
    if (first.status !== 401 || !ch?.realm) return first;
    let token = tokens.get(scopeKey(ch));
    if (token) {
      first = await send(token);
      if (first.status !== 401) return first;
    }
    const tr = await fetchToken(ch.realm, ch.service ?? '', ch.scope ? [ch.scope] : [], creds);
    if (tr.status !== 200) return tr;
    token = ((await tr.json()) as { token: string }).token;
    tokens.set(scopeKey(ch), token);
    return send(token);
  };
}
