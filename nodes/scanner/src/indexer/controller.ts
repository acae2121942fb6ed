import type { Pool } from '../../../../shared/db/pool.js';
import type { Logger } from '../../../../shared/logging/logger.js';
import type { RegionalStores } from '../../../../shared/storage/regional.js';
import { placementsOf } from '../../../../shared/db/placements.js';
import * as scans from '../../../../shared/db/scans.js';
import {
  DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
} from '../../../../shared/oci/media-types.js';
import type { Scanner } from './types.js';
import { readLayer, wantedBy } from './layer-reader.js';
import { LayerError, type LayerLimits } from './limits.js';
import { coalesce, type IndexReport, type LayerFindings } from './coalesce.js';

export interface IndexerDeps {
  db: Pool;
  stores: RegionalStores;
  log: Logger;
  scanners: readonly Scanner[];
  limits?: Partial<LayerLimits>;
}

/** name@version of every scanner, sorted: a report made by another set is stale and is redone. */
export function scannerSet(scanners: readonly Scanner[]): string {
  return scanners.map((s) => `${s.name}@${s.version}`).sort().join(',');
}

/** Why a manifest cannot be indexed now; `permanent` ones are not retried. */
export class IndexError extends Error {
  override readonly name = 'IndexError';
  constructor(message: string, readonly permanent: boolean) {
    super(message);
  }
}

const IMAGE_CONFIGS = new Set([OCI_CONFIG, DOCKER_CONFIG]);
const LAYER_RE = /^application\/vnd\.(?:oci\.image\.layer\.v1\.tar|docker\.image\.rootfs\.diff\.tar\.gzip)(?:\+(?:gzip|zstd))?$/;

interface ManifestJson {
  mediaType?: string;
  config?: { mediaType?: string; digest?: string };
  layers?: { mediaType?: string; digest?: string; size?: number }[];
  manifests?: { digest?: string }[];
}

/**
 * Indexes one manifest: each layer is read once per scanner version (results are shared by every image using the
 * layer), only for the scanners that have not seen it yet; then the layers are coalesced into the manifest's index
 * report. An index (multi-platform) is "unsupported" itself and queues its platform manifests instead; artifacts
 * that are not container images are "unsupported" too.
 */
export async function indexManifest(deps: IndexerDeps, digest: string, signal?: AbortSignal): Promise<{ state: 'indexed' | 'unsupported'; report?: IndexReport }> {
  const set = scannerSet(deps.scanners);
  const row = await deps.db.query<{ media_type: string; content: Buffer }>(
    'SELECT media_type, content FROM manifests WHERE digest = $1 LIMIT 1', [digest],
  );
  const m = row.rows[0];
  if (!m) throw new IndexError('manifest not found in any repository', true);
  let parsed: ManifestJson;
  try {
    parsed = JSON.parse(m.content.toString('utf8')) as ManifestJson;
  } catch {
    throw new IndexError('manifest is not JSON', true);
  }
  const unsupported = async (reason: string) => {
    await scans.finishIndex(deps.db, digest, { state: 'unsupported', scannerSet: set, report: null, packages: [], reason });
    return { state: 'unsupported' as const };
  };
  if (m.media_type === OCI_INDEX || m.media_type === DOCKER_MANIFEST_LIST) {
    for (const child of parsed.manifests ?? []) if (child.digest) await scans.enqueueIndex(deps.db, child.digest, set);
    return unsupported('an image index: each platform manifest is indexed on its own');
  }
  if (m.media_type !== OCI_MANIFEST && m.media_type !== DOCKER_MANIFEST) return unsupported(`media type ${m.media_type} is not an image manifest`);
  if (!parsed.config?.mediaType || !IMAGE_CONFIGS.has(parsed.config.mediaType)) return unsupported(`artifact (config ${parsed.config?.mediaType ?? 'none'}) is not a container image`);

  const layers: { digest: string; byScanner: Map<string, LayerFindings> }[] = [];
  for (const layer of parsed.layers ?? []) {
    if (!layer.digest || !layer.mediaType || !LAYER_RE.test(layer.mediaType)) continue;
    signal?.throwIfAborted();
    layers.push({ digest: layer.digest, byScanner: await layerFindings(deps, layer.digest, signal) });
  }
  const report = coalesce(digest, layers);
  const names = new Map<string, { format: string; name: string }>();
  for (const p of report.packages) {
    names.set(`${p.format}\0${p.name}`, { format: p.format, name: p.name });
    if (p.source?.name) names.set(`${p.format}\0${p.source.name}`, { format: p.format, name: p.source.name });
  }
  await scans.finishIndex(deps.db, digest, { state: 'indexed', scannerSet: set, report, packages: [...names.values()] });
  return { state: 'indexed', report };
}

/** One layer's findings per scanner: from the database when this scanner version saw it, else by reading it. */
async function layerFindings(deps: IndexerDeps, layer: string, signal?: AbortSignal): Promise<Map<string, LayerFindings>> {
  const out = new Map<string, LayerFindings>();
  const known = await scans.layerResults(deps.db, layer);
  const missing: Scanner[] = [];
  for (const s of deps.scanners) {
    const hit = known.find((k) => k.scanner === s.name && k.version === s.version);
    if (hit) out.set(s.name, hit.findings as LayerFindings);
    else missing.push(s);
  }
  if (missing.length === 0) return out;
  const stream = await openLayer(deps, layer, signal);
  let snapshot;
  try {
    snapshot = await readLayer(stream, { digest: layer, wants: wantedBy(missing), ...(deps.limits ? { limits: deps.limits } : {}), ...(signal ? { signal } : {}) });
  } catch (e) {
    // LayerError messages already name the layer.
    if (e instanceof LayerError) throw new IndexError(e.message, e.reason !== 'aborted');
    throw e;
  }
  for (const s of missing) {
    const files = [...snapshot.list()].filter((p) => s.wants(p));
    const found = await s.scan(snapshot, signal);
    const findings: LayerFindings = {
      packages: s.kind === 'package' ? (found as LayerFindings['packages']) : [],
      distributions: s.kind === 'distribution' ? (found as LayerFindings['distributions']) : [],
      files, whiteouts: [...snapshot.whiteouts], opaqueDirs: [...snapshot.opaqueDirs],
    };
    await scans.saveLayerResult(deps.db, layer, s.name, s.version, findings);
    out.set(s.name, findings);
  }
  return out;
}

/** The layer's bytes from the nearest region holding them. */
async function openLayer(deps: IndexerDeps, layer: string, signal?: AbortSignal) {
  const placements = await placementsOf(deps.db, layer);
  if (placements.length === 0) throw new IndexError(`layer ${layer} is stored in no region`, false);
  let last: unknown;
  for (const region of deps.stores.byNearness(placements.map((p) => p.region))) {
    const p = placements.find((x) => x.region === region)!;
    try {
      const store = await deps.stores.get(region);
      return await store.read(p.storageKey, signal ? { signal } : {});
    } catch (e) {
      last = e;
      deps.log.warn({ err: e, layer, region }, 'layer unreadable in this region; trying the next');
    }
  }
  throw new IndexError(`layer ${layer} could not be read from any region: ${(last as Error)?.message ?? 'unknown'}`, false);
}
