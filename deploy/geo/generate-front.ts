/**
 * tsx deploy/geo/generate-front.ts [cluster.json] [outdir]
 *
 * The HAProxy front of docker-compose.geo.yml: deploy/front's generator (`deploy/front/generate.ts`, the same
 * routing: X-Wharf-Region header, then client network, then the default region; nearest-peer failover) rendered
 * for the container — listening on :8080, the map at /usr/local/etc/haproxy/regions.map (where the compose file
 * mounts deploy/geo/front), and node host names resolved through Docker's DNS at run time, so the front starts
 * (and keeps running) while some nodes are down. Defaults: deploy/geo/cluster.compose.json → deploy/geo/front.
 * Regenerate after editing the regions, nodes, nearest orders or client CIDRs, and commit the result.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readClusterFile } from '../front/generate.js';
import { renderHaproxyConfig } from '../front/haproxy.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const COMPOSE_CLUSTER_FILE = join(HERE, 'cluster.compose.json');
export const COMPOSE_FRONT_DIR = join(HERE, 'front');
/** Where haproxy:2.6 reads its config; the compose file mounts deploy/geo/front here. */
export const CONTAINER_DIR = '/usr/local/etc/haproxy';

export async function renderComposeFront(clusterFile = COMPOSE_CLUSTER_FILE): Promise<{ cfg: string; map: string }> {
  const { cluster, firstRegion } = await readClusterFile(clusterFile);
  const { cfg, map } = renderHaproxyConfig(cluster, {
    bind: ':8080',
    mapFile: `${CONTAINER_DIR}/regions.map`,
    ...(firstRegion ? { defaultRegion: firstRegion } : {}),
  });
  const header = [
    '# HAProxy front of docker-compose.geo.yml, generated from deploy/geo/cluster.compose.json; do not edit.',
    '# Regenerate: npx tsx deploy/geo/generate-front.ts   (test/front/compose.test.ts fails while it is stale)',
  ];
  const lines = cfg.split('\n');
  // Docker's embedded DNS; a node that is not (yet) resolvable starts in maintenance instead of failing the start.
  const d = lines.indexOf('defaults');
  if (d < 0) throw new Error('unexpected HAProxy config: no defaults section');
  lines.splice(d, 0, 'resolvers docker', '    nameserver dns 127.0.0.11:53', '    hold valid 10s', '');
  lines.splice(lines.indexOf('defaults') + 1, 0, '    default-server init-addr last,libc,none resolvers docker');
  return { cfg: [...header, ...lines].join('\n'), map: [header[0]!.replace('HAProxy front', 'client networks of the front'), header[1]!, map].join('\n') };
}

export async function writeComposeFront(clusterFile = COMPOSE_CLUSTER_FILE, outDir = COMPOSE_FRONT_DIR): Promise<string[]> {
  const { cfg, map } = await renderComposeFront(clusterFile);
  await mkdir(outDir, { recursive: true });
  const files = [join(outDir, 'haproxy.cfg'), join(outDir, 'regions.map')];
  await writeFile(files[0]!, cfg);
  await writeFile(files[1]!, map);
  return files;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [file, out] = process.argv.slice(2);
  try {
    const files = await writeComposeFront(file ? resolve(file) : undefined, out ? resolve(out) : undefined);
    process.stdout.write(`${files.join('\n')}\n`);
  } catch (err) {
    process.stderr.write(`generate-front: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
