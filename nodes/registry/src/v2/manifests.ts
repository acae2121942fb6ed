import type { Deps } from '../deps.js';
import type { MethodMap } from './routes.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import { MANIFEST_INVALID, METHOD_NOT_ALLOWED } from '../../../../shared/errors/codes.js';
import { MAX_MANIFEST_BYTES } from '../../../../shared/oci/manifest.js';
import { deleteManifest, getManifest, parseReference, putManifest } from '../services/manifests.js';
import { readBounded } from '../services/body.js';
import { manifestDeleted, manifestPulled, manifestPushed, tagDeleted, whoOf } from '../services/activity.js';

export function manifestHandlers(deps: Deps): MethodMap {
  const read = (withBody: boolean) => async (c: Parameters<NonNullable<MethodMap['GET']>>[0], { name, ref }: { name: string; ref: string }) => {
    const m = await getManifest(deps, name, parseReference(ref), withBody);
    if (withBody) manifestPulled(deps, whoOf(c), name, ref);
    const headers = {
      'Content-Type': m.mediaType,
      'Content-Length': String(m.size),
      'Docker-Content-Digest': m.digest,
      ETag: `"${m.digest}"`,
    };
    const body = withBody ? new Uint8Array(m.content!) : null;
    return new Response(body, { status: 200, headers });
  };
  return {
    GET: read(true),
    HEAD: read(false),
    PUT: async (c, { name, ref }) => {
      const reference = parseReference(ref);
      const declared = Number(c.req.header('content-length') ?? NaN);
      if (declared > MAX_MANIFEST_BYTES) throw tooLarge(declared);
      const body = await readBounded(c.env.incoming, MAX_MANIFEST_BYTES);
      if (body === 'too-large') throw tooLarge(undefined);
      deps.metrics.bytesIn.inc({ route: 'manifest' }, body.length);
      const pushed = await putManifest(deps, name, reference, body, c.req.header('content-type'), {
        actor: c.get('actor'), requestId: c.get('requestId'), who: whoOf(c),
      });
      await manifestPushed(deps, whoOf(c), name, pushed.digest, reference.kind === 'tag' ? reference.tag : undefined);
      const headers: Record<string, string> = {
        Location: `/v2/${name}/manifests/${pushed.digest}`,
        'Docker-Content-Digest': pushed.digest,
        'Content-Length': '0',
      };
      if (pushed.subject) headers['OCI-Subject'] = pushed.subject;
      return new Response(null, { status: 201, headers });
    },
    DELETE: async (c, { name, ref }) => {
      if (!deps.config.registry.deleteEnabled) throw new WharfError(METHOD_NOT_ALLOWED, { message: 'deletes are disabled on this registry' });
      const reference = parseReference(ref);
      const removed = await deleteManifest(deps, name, reference);
      if (reference.kind === 'tag') await tagDeleted(deps, deps.db, whoOf(c), name, reference.tag, removed.digest);
      else await manifestDeleted(deps, whoOf(c), name, removed.digest, removed.tags);
      return new Response(null, { status: 202, headers: { 'Content-Length': '0' } });
    },
  };
}

function tooLarge(size: number | undefined): WharfError {
  return new WharfError(MANIFEST_INVALID, {
    status: 413,
    message: `manifest exceeds the ${MAX_MANIFEST_BYTES}-byte limit`,
    // The rest of the body is never read; closing the connection is cheaper than draining it.
    headers: { Connection: 'close' },
    detail: size === undefined ? { limit: MAX_MANIFEST_BYTES } : { size, limit: MAX_MANIFEST_BYTES },
  });
}
