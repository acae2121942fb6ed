import type { Context } from 'hono';
import type { AppEnv, Deps } from '../deps.js';
import { WharfError, errorEnvelope } from '../../../../shared/errors/errcode.js';
import { UNAVAILABLE, UNKNOWN } from '../../../../shared/errors/codes.js';
import { StorageError, InvalidKeyError } from '../../../../shared/storage/driver.js';

/** The one place error bodies are written: the OCI envelope, for /v2 and every other route. */
export function toErrorResponse(c: Context<AppEnv>, err: unknown, deps: Deps): Response {
  const e = classify(err);
  if (e.status >= 500) (c.get('log') ?? deps.log).error({ err }, 'request error');
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Docker-Distribution-API-Version': 'registry/2.0',
    ...e.headers,
  };
  const requestId = c.get('requestId');
  if (requestId) headers['X-Request-Id'] = requestId;
  const body = c.req.method === 'HEAD' ? null : JSON.stringify(errorEnvelope([e]));
  return new Response(body, { status: e.status, headers });
}

function classify(err: unknown): WharfError {
  if (err instanceof WharfError) return err;
  if (err instanceof StorageError && !(err instanceof InvalidKeyError)) {
    return new WharfError(UNAVAILABLE, { message: 'object storage error; retry later', cause: err });
  }
  const code = (err as { code?: string } | null)?.code;
  // Postgres connection-class errors (08xxx, 57P0x) and refused sockets: the node is degraded, not broken.
  if (code && (/^08/.test(code) || /^57P0/.test(code) || code === 'ECONNREFUSED' || code === 'ETIMEDOUT')) {
    return new WharfError(UNAVAILABLE, { message: 'database unavailable; retry later', cause: err });
  }
  return new WharfError(UNKNOWN, { cause: err });
}
