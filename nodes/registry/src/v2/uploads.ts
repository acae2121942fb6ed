import type { Deps } from '../deps.js';
import type { Ctx, MethodMap } from './routes.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import { BLOB_UPLOAD_INVALID, BLOB_UPLOAD_UNKNOWN, NAME_INVALID, RANGE_INVALID } from '../../../../shared/errors/codes.js';
import { isRepoName } from '../../../../shared/oci/reference.js';
import { findRepository } from '../../../../shared/db/repositories.js';
import { repositoryForPush, whoOf } from '../services/activity.js';
import {
  appendChunk, cancelUpload, completeUpload, monolithicUpload, parseDigestParam, rangeHeader, startUpload, uploadStatus,
} from '../services/uploads.js';
import { mountBlob } from '../services/blobs.js';

const uploadLocation = (name: string, id: string) => `/v2/${name}/blobs/uploads/${id}`;

function progress(status: number, name: string, id: string, size: number): Response {
  return new Response(null, {
    status,
    headers: { Location: uploadLocation(name, id), Range: rangeHeader(size), 'Docker-Upload-UUID': id, 'Content-Length': '0' },
  });
}

function created(name: string, digest: string): Response {
  return new Response(null, {
    status: 201,
    headers: { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest, 'Content-Length': '0' },
  });
}

function contentLength(c: Ctx): number | undefined {
  const v = c.req.header('content-length');
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new WharfError(BLOB_UPLOAD_INVALID, { message: 'invalid Content-Length' });
  return Number(v);
}

/** Content-Range of a chunk: the spec's `<start>-<end>`, also accepting the RFC form `bytes <start>-<end>/<size|*>`. */
function contentRange(c: Ctx): { start: number; end: number } | undefined {
  const v = c.req.header('content-range');
  if (v === undefined) return undefined;
  const m = /^(?:bytes )?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(v.trim());
  if (!m || Number(m[2]) < Number(m[1])) {
    throw new WharfError(RANGE_INVALID, { message: `invalid Content-Range "${v.slice(0, 100)}"` });
  }
  return { start: Number(m[1]), end: Number(m[2]) };
}

async function repoForUpload(deps: Deps, name: string, id: string) {
  const repo = await findRepository(deps.db, name);
  if (!repo) throw new WharfError(BLOB_UPLOAD_UNKNOWN, { detail: { uuid: id } });
  return repo;
}

/** 416s on an upload carry where the client should continue. */
async function withUploadLocation<T>(name: string, id: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof WharfError && e.code === RANGE_INVALID) e.headers.Location = uploadLocation(name, id);
    throw e;
  }
}

export function uploadStartHandlers(deps: Deps): MethodMap {
  return {
    POST: async (c, { name }) => {
      const mount = c.req.query('mount');
      const from = c.req.query('from');
      const digest = c.req.query('digest');
      const repo = await repositoryForPush(deps, name, whoOf(c));
      if (mount !== undefined) {
        const mountDigest = parseDigestParam(mount);
        let source: Awaited<ReturnType<typeof findRepository>> | 'any' = 'any';
        if (from !== undefined) {
          if (!isRepoName(from)) throw new WharfError(NAME_INVALID, { detail: { name: from.slice(0, 300) } });
          source = await findRepository(deps.db, from);
        }
        if (await mountBlob(deps, repo, mountDigest, source, c.get('access'))) return created(name, mountDigest);
        // Not mountable: the spec says to fall back to a regular upload session.
      } else if (digest !== undefined) {
        const len = contentLength(c);
        const r = await monolithicUpload(deps, repo, digest, c.env.incoming, len);
        deps.metrics.bytesIn.inc({ route: 'upload-start' }, r.size);
        return created(name, r.digest);
      }
      const up = await startUpload(deps, repo);
      return progress(202, name, up.id, 0);
    },
  };
}

export function uploadHandlers(deps: Deps): MethodMap {
  return {
    GET: async (_c, { name, ref }) => {
      const up = await uploadStatus(deps, await repoForUpload(deps, name, ref), ref);
      return progress(204, name, up.id, up.size);
    },
    PATCH: async (c, { name, ref }) => withUploadLocation(name, ref, async () => {
      const repo = await repoForUpload(deps, name, ref);
      const range = contentRange(c);
      const len = contentLength(c);
      const up = await appendChunk(deps, repo, ref, c.env.incoming, { ...(range ? { range } : {}), ...(len !== undefined ? { contentLength: len } : {}) });
      deps.metrics.bytesIn.inc({ route: 'upload' }, len ?? 0);
      return progress(202, name, up.id, up.size);
    }),
    PUT: async (c, { name, ref }) => withUploadLocation(name, ref, async () => {
      const repo = await repoForUpload(deps, name, ref);
      const range = contentRange(c);
      const len = contentLength(c);
      const r = await completeUpload(deps, repo, ref, c.req.query('digest') ?? '', c.env.incoming, {
        ...(range ? { range } : {}), ...(len !== undefined ? { contentLength: len } : {}),
      });
      return created(name, r.digest);
    }),
    DELETE: async (_c, { name, ref }) => {
      await cancelUpload(deps, await repoForUpload(deps, name, ref), ref);
      return new Response(null, { status: 204, headers: { 'Content-Length': '0' } });
    },
  };
}
