import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Deps } from '../deps.js';
import { blobDeleted, whoOf } from '../services/activity.js';
import type { Ctx, MethodMap, RouteParams } from './routes.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import { METHOD_NOT_ALLOWED } from '../../../../shared/errors/codes.js';
import { findRepository } from '../../../../shared/db/repositories.js';
import { parseRange, presignBlob, sendBlob, statBlob, unlinkBlob } from '../services/blobs.js';
import { parseDigestParam } from '../services/uploads.js';

export function blobHandlers(deps: Deps): MethodMap {
  const lookup = async (name: string, ref: string) => {
    const digest = parseDigestParam(ref);
    return statBlob(deps, await findRepository(deps.db, name), digest);
  };
  return {
    HEAD: async (_c, { name, ref }) => {
      const blob = await lookup(name, ref);
      return new Response(null, {
        status: 200,
        headers: {
          'Content-Length': String(blob.size), 'Docker-Content-Digest': blob.digest,
          'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes', ETag: `"${blob.digest}"`,
        },
      });
    },
    GET: async (c: Ctx, { name, ref }: RouteParams) => {
      const blob = await lookup(name, ref);
      const url = await presignBlob(deps, blob);
      if (url) {
        return new Response(null, { status: 307, headers: { Location: url, 'Docker-Content-Digest': blob.digest, 'Content-Length': '0' } });
      }
      const range = parseRange(c.req.header('range'), blob.size);
      const headers: Record<string, string> = {
        'Content-Type': 'application/octet-stream',
        'Docker-Content-Digest': blob.digest,
        'Accept-Ranges': 'bytes',
        ETag: `"${blob.digest}"`,
        'Docker-Distribution-API-Version': 'registry/2.0',
        'X-Request-Id': c.get('requestId'),
        'Content-Length': String(range ? range.end - range.start + 1 : blob.size),
      };
      if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${blob.size}`;
      // Straight from the store to the Node response: no web-stream adaptation on the bulk path. Headers go out
      // with the first bytes, so a store failure before them still becomes a proper error response.
      const out = c.env.outgoing;
      out.statusCode = range ? 206 : 200;
      for (const [k, v] of Object.entries(headers)) out.setHeader(k, v);
      try {
        await sendBlob(deps, blob, out, range);
      } catch (err) {
        if (!out.headersSent) {
          for (const k of Object.keys(headers)) out.removeHeader(k);
          throw err;
        }
        if ((err as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE') c.get('log').warn({ err }, 'blob transfer failed');
        out.destroy();
        return RESPONSE_ALREADY_SENT;
      }
      out.end();
      return RESPONSE_ALREADY_SENT;
    },
    DELETE: async (c, { name, ref }) => {
      if (!deps.config.registry.deleteEnabled) throw new WharfError(METHOD_NOT_ALLOWED, { message: 'deletes are disabled on this registry' });
      const digest = parseDigestParam(ref);
      await unlinkBlob(deps, await findRepository(deps.db, name), digest);
      await blobDeleted(deps, whoOf(c), name, digest);
      return new Response(null, { status: 202, headers: { 'Content-Length': '0', 'Docker-Content-Digest': digest } });
    },
  };
}
