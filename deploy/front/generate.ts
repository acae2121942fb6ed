/**
 * tsx deploy/front/generate.ts <cluster.json> <outdir> [--bind 127.0.0.1:8080] [--default-region r]
 *
 * Writes <outdir>/haproxy.cfg and <outdir>/regions.map for the locality front from a Wharf config file (its
 * `cluster` section, or a file holding just that section). The default region (for clients neither the header nor
 * the map places) is the first region the file lists unless --default-region says otherwise. Run HAProxy with `haproxy -f <outdir>/haproxy.cfg`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseCluster, type ClusterConfig, type StorageSection } from '../../shared/config/cluster.js';
import { renderHaproxyConfig } from './haproxy.js';

/** The cluster section of a config file; storage sections are passed through unchecked (the front ignores them). */
export async function readClusterFile(file: string): Promise<{ cluster: ClusterConfig; firstRegion: string | undefined }> {
  const raw = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  const section = 'cluster' in raw ? raw.cluster : raw;
  const cluster = parseCluster(section, (s) => s as StorageSection);
  // The parsed regions are sorted by name; the default region is the first one the file lists.
  const listed = (section as { regions?: Record<string, unknown> }).regions;
  return { cluster, firstRegion: listed ? Object.keys(listed)[0] : undefined };
}

export async function generateFront(clusterFile: string, outDir: string, opts: { bind?: string; defaultRegion?: string } = {}): Promise<{ cfgFile: string; mapFile: string }> {
  const { cluster, firstRegion } = await readClusterFile(clusterFile);
  const defaultRegion = opts.defaultRegion ?? firstRegion;
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const mapFile = join(dir, 'regions.map');
  const cfgFile = join(dir, 'haproxy.cfg');
  const { cfg, map } = renderHaproxyConfig(cluster, { bind: opts.bind ?? '127.0.0.1:8080', mapFile, ...(defaultRegion ? { defaultRegion } : {}) });
  await writeFile(mapFile, map);
  await writeFile(cfgFile, cfg);
  return { cfgFile, mapFile };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const bind = flag('--bind');
  const defaultRegion = flag('--default-region');
  const [file, out] = args;
  if (!file || !out) {
    process.stderr.write('usage: tsx deploy/front/generate.ts <cluster.json> <outdir> [--bind host:port] [--default-region r]\n');
    process.exit(2);
  }
  try {
    const { cfgFile, mapFile } = await generateFront(file, out, { ...(bind ? { bind } : {}), ...(defaultRegion ? { defaultRegion } : {}) });
    process.stdout.write(`${cfgFile}\n${mapFile}\n`);
  } catch (err) {
    process.stderr.write(`generate: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
