import type { Deps } from '../deps.js';
import type { MethodMap } from './routes.js';
import { referrers } from '../services/manifests.js';
import { parseDigestParam } from '../services/uploads.js';
import { OCI_INDEX } from '../../../../shared/oci/media-types.js';

export function referrerHandlers(deps: Deps): MethodMap {
  return {
    GET: async (c, { name, ref }) => {
      const digest = parseDigestParam(ref);
      const artifactType = c.req.query('artifactType') || undefined;
      const index = await referrers(deps, name, digest, artifactType);
      const headers: Record<string, string> = { 'Content-Type': OCI_INDEX };
      if (artifactType) headers['OCI-Filters-Applied'] = 'artifactType';
      return new Response(JSON.stringify(index), { status: 200, headers });
    },
  };
}
