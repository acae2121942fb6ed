import type { Deps } from '../deps.js';
import { WharfError } from '../../../../shared/errors/errcode.js';
import { UNAVAILABLE } from '../../../../shared/errors/codes.js';
import { policyFor, requiredRegions } from '../../../../shared/config/index.js';
import { copyVerified } from '../../../../shared/storage/copy-verified.js';
import { blobKey } from '../../../../shared/storage/paths.js';
import * as placementsDb from '../../../../shared/db/placements.js';
import { recordReplicatedPlacement } from '../../../../shared/db/replication.js';
import type { Digest } from '../../../../shared/oci/digest.js';

/**
 * Synchronous replication (RPO 0): for a namespace whose policy says `syncRegions: N`, a blob upload is only
 * acknowledged once the bytes are verified in N regions. This node copies them itself, nearest required regions
 * first; the replicators still bring the remaining regions up to date asynchronously. If N cannot be reached the
 * push fails with 503 (the client retries; the copies made so far stay and count next time).
 */
export async function ensureSyncPlacements(deps: Deps, repository: string, digest: Digest, size: number): Promise<void> {
  const want = policyFor(deps.config.cluster, repository).syncRegions;
  if (want <= 1) return;
  const placements = await placementsDb.placementsOf(deps.db, digest);
  const placed = new Set(placements.map((p) => p.region));
  if (placed.size >= want) return;
  const source = placements.find((p) => p.region === deps.region) ?? placements[0];
  if (!source) throw new WharfError(UNAVAILABLE, { message: 'blob has no placement to replicate from' });
  const sourceStore = await deps.stores.get(source.region);
  const targets = deps.stores.byNearness(requiredRegions(deps.config.cluster, repository)).filter((r) => !placed.has(r));
  const errors: Record<string, string> = {};
  for (const region of targets) {
    if (placed.size >= want) break;
    if (!deps.regionHealth.usable(region)) {
      errors[region] = 'region store unreachable (cooling down)';
      continue;
    }
    try {
      const key = blobKey(digest);
      await copyVerified(sourceStore, source.storageKey, await deps.stores.get(region), key, { digest, size });
      await recordReplicatedPlacement(deps.db, { digest, region, storageKey: key, copiedFrom: source.region });
      placed.add(region);
    } catch (err) {
      deps.regionHealth.failed(region, err);
      errors[region] = (err as Error).message;
      deps.log.warn({ err, digest, region }, 'synchronous replication to a region failed');
    }
  }
  if (placed.size < want) {
    throw new WharfError(UNAVAILABLE, {
      message: `the blob is durable in ${placed.size} region(s); policy for ${repository.split('/')[0]} requires ${want} before acknowledging`,
      detail: { digest, placed: [...placed], errors },
    });
  }
}
