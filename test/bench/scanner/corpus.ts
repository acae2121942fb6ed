// The real corpus (../shared/data/vuln) as the scanner bench uses it: the layers to index, a synthetic rootfs-like
// layer built from this machine's /usr, the feeds to import, and a 1,000-package index report.
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import type { Pool } from '../../../shared/db/pool.js';
import { SCANNERS } from '../../../nodes/scanner/src/ecosystems/index.js';
import { readLayer, wantedBy } from '../../../nodes/scanner/src/indexer/layer-reader.js';
import { coalesce, type IndexReport, type LayerFindings } from '../../../nodes/scanner/src/indexer/coalesce.js';
import type { Package } from '../../../nodes/scanner/src/model.js';
import { parseFeedFile } from '../../../nodes/scanner/src/feeds/detect.js';
import { importFeedBytes, type ImportSummary } from '../../../nodes/scanner/src/vulndb.js';

export interface BenchLayer {
  name: string;
  /** A gzip'ed layer tar, as both sides read it. */
  path: string;
  compressedBytes: number;
  /** Size of the tar inside (what both sides stream through). */
  tarBytes: number;
  origin: string;
}

/** Uncompressed size of a gzip file, by streaming it (gzip's ISIZE is mod 2^32). */
export async function gunzippedSize(path: string): Promise<number> {
  let n = 0;
  for await (const c of createReadStream(path).pipe(createGunzip())) n += (c as Buffer).length;
  return n;
}

async function layer(name: string, path: string, origin: string): Promise<BenchLayer> {
  return { name, path, compressedBytes: statSync(path).size, tarBytes: await gunzippedSize(path), origin };
}

/** The alpine docker-save archive's one layer.tar, gzip'ed here so both sides decompress. */
function alpineLayer(vuln: string, workDir: string): string {
  const archive = join(vuln, 'layers/alpine-3.10.4.docker-save.tar.gz');
  const entry = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).split('\n').find((l) => l.endsWith('/layer.tar'));
  if (!entry) throw new Error(`${archive}: no */layer.tar inside`);
  const out = join(workDir, 'alpine-3.10.4.layer.tar.gz');
  const r = spawnSync('sh', ['-c', `tar -xzOf "$1" "$2" | gzip -6n > "$3"`, 'sh', archive, entry, out]);
  if (r.status !== 0) throw new Error(`extracting the alpine layer: ${r.stderr.toString()}`);
  return out;
}

// Directories of a typical rootfs, in order; files are taken until the byte budget is used up. dist-packages and
// node_modules give the language scanners real metadata, /usr/bin gives the Go scanner binaries to look at.
const SYNTHETIC_DIRS = [
  'usr/lib/python3', 'usr/lib/python3.11', 'usr/lib/node_modules', 'usr/share/perl', 'usr/share/doc', 'usr/bin', 'usr/sbin',
  'usr/lib/x86_64-linux-gnu', 'usr/share', 'usr/lib',
];

/**
 * A rootfs-like layer from this machine: /var/lib/dpkg/status, os-release, then whole files from SYNTHETIC_DIRS
 * until `budget` bytes of file data, tarred by GNU tar with -C / and gzip'ed once (-6, gzip's default).
 */
function syntheticLayer(workDir: string, budget: number): { path: string; files: number; note: string } {
  const list: string[] = ['var/lib/dpkg/status', 'etc/os-release', 'usr/lib/os-release', 'etc/debian_version'].filter((p) => existsSync(`/${p}`));
  const seen = new Set(list);
  let bytes = list.reduce((a, p) => a + statSync(`/${p}`).size, 0);
  for (const dir of SYNTHETIC_DIRS) {
    if (bytes >= budget) break;
    if (!existsSync(`/${dir}`)) continue;
    const found = spawnSync('find', [dir, '-xdev', '(', '-type', 'f', '-o', '-type', 'l', ')', '-printf', '%s %p\\n'], { cwd: '/', maxBuffer: 1 << 28 });
    const lines = found.stdout.toString('utf8').split('\n').filter(Boolean).sort((a, b) => a.slice(a.indexOf(' ')).localeCompare(b.slice(b.indexOf(' '))));
    for (const l of lines) {
      if (bytes >= budget) break;
      const sp = l.indexOf(' ');
      const size = Number(l.slice(0, sp));
      const p = l.slice(sp + 1);
      if (seen.has(p) || p.includes('\n') || size > 64 * 1024 * 1024) continue;
      seen.add(p);
      list.push(p);
      bytes += size;
    }
  }
  const listFile = join(workDir, 'synthetic.list');
  writeFileSync(listFile, list.join('\n') + '\n');
  const out = join(workDir, 'synthetic-rootfs.layer.tar.gz');
  const r = spawnSync('sh', ['-c', 'tar -C / --no-recursion --ignore-failed-read -cf - -T "$1" 2>/dev/null | gzip -6n > "$2"', 'sh', listFile, out]);
  if (r.status !== 0) throw new Error(`building the synthetic layer: ${r.stderr.toString()}`);
  return { path: out, files: list.length, note: `${list.length} files from /var/lib/dpkg/status, os-release and ${SYNTHETIC_DIRS.join(', ')} (in that order, up to the budget)` };
}

export async function benchLayers(vuln: string, workDir: string, syntheticBudget: number): Promise<BenchLayer[]> {
  const L = (p: string) => join(vuln, 'layers', p);
  const out = [
    await layer('debian-bookworm-python', L('debian-bookworm-python.meta.layer.tar.gz'), 'corpus layers/debian-bookworm-python.meta.layer.tar.gz'),
    await layer('npm-app', L('npm-app.meta.layer.tar.gz'), 'corpus layers/npm-app.meta.layer.tar.gz'),
    await layer('alpine-3.10.4', alpineLayer(vuln, workDir), 'layer.tar inside corpus layers/alpine-3.10.4.docker-save.tar.gz, gzip -6 here'),
  ];
  const syn = syntheticLayer(workDir, syntheticBudget);
  out.push(await layer('synthetic-rootfs', syn.path, `built here: ${syn.note}`));
  return out;
}

/** The indexer's per-layer work without a database: readLayer, then every scanner's scan (controller.ts layerFindings). */
export async function indexLayerFile(path: string, digest: string): Promise<{
  byScanner: Map<string, LayerFindings>; packages: number; keptBytes: number; entries: number; readMs: number; scanMs: Record<string, number>;
}> {
  const t0 = performance.now();
  const snapshot = await readLayer(createReadStream(path, { highWaterMark: 256 * 1024 }), { digest, wants: wantedBy(SCANNERS) });
  const readMs = performance.now() - t0;
  const scanMs: Record<string, number> = {};
  const byScanner = new Map<string, LayerFindings>();
  let packages = 0;
  for (const s of SCANNERS) {
    const ts = performance.now();
    const files = [...snapshot.list()].filter((p) => s.wants(p));
    const found = await s.scan(snapshot);
    scanMs[s.name] = performance.now() - ts;
    const findings: LayerFindings = {
      packages: s.kind === 'package' ? (found as LayerFindings['packages']) : [],
      distributions: s.kind === 'distribution' ? (found as LayerFindings['distributions']) : [],
      files, whiteouts: [...snapshot.whiteouts], opaqueDirs: [...snapshot.opaqueDirs],
    };
    packages += findings.packages.length;
    byScanner.set(s.name, findings);
  }
  return { byScanner, packages, keptBytes: snapshot.stats.keptBytes, entries: snapshot.stats.entries, readMs, scanMs };
}

/** A tar (in memory) of several feed documents, so records of one feed (osv:npm, osv:Go) import as one update. */
export async function tarOf(files: string[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const f of files) {
    const data = await readFile(f);
    await new Promise<void>((resolve, reject) => pack.entry({ name: f.split('/').slice(-2).join('/'), size: data.length }, data, (e) => (e ? reject(e) : resolve())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const NPM_UPDATE_ADVISORY = 'GHSA-p6mc-m468-83gw.json'; // lodash: withheld from the first npm import, added by the update

export function npmFeedFiles(vuln: string, withUpdate: boolean): string[] {
  const dir = join(vuln, 'osv/npm');
  const all = execFileSync('ls', [dir], { encoding: 'utf8' }).split('\n').filter((f) => f.endsWith('.json')).sort();
  return all.filter((f) => withUpdate || f !== NPM_UPDATE_ADVISORY).map((f) => join(dir, f));
}

/** Every real feed of the corpus the bench matches against (the npm feed without the update's advisory). */
export async function importCorpusFeeds(db: Pool, vuln: string): Promise<{ summaries: ImportSummary[]; seconds: number }> {
  const t0 = performance.now();
  const summaries: ImportSummary[] = [];
  const files = [
    'secdb/alpine/v3.10/main.yaml', 'secdb/alpine/v3.10/community.yaml', 'secdb/alpine/v3.11/main.yaml', 'secdb/alpine/v3.11/community.yaml',
    'debian/security-tracker-data/DSA-list', 'debian/security-tracker-data/DLA-list', 'debian/tracker-json/subset.vunnel-fixture.json',
    'osv/pypi/pypa-advisory-database-vulns.tar.gz',
  ];
  for (const f of files) summaries.push(...(await importFeedBytes(db, f, readFileSync(join(vuln, f)))));
  summaries.push(...(await importFeedBytes(db, 'osv-npm.tar', await tarOf(npmFeedFiles(vuln, false)))));
  const goDir = join(vuln, 'osv/go');
  const goFiles = execFileSync('ls', [goDir], { encoding: 'utf8' }).split('\n').filter((f) => f.endsWith('.json')).map((f) => join(goDir, f));
  summaries.push(...(await importFeedBytes(db, 'osv-go.tar', await tarOf(goFiles))));
  return { summaries, seconds: (performance.now() - t0) / 1000 };
}

const OLD_DPKG_VERSION = '0.1-1';

/**
 * A 1,000-package Debian bookworm image: the real packages of the corpus's minbase + python + npm layers
 * (coalesced as the indexer does: dpkg, pypi, npm), then dpkg packages named after real source packages of the
 * Debian tracker subset, the Alpine secdb feeds and the DSA/DLA lists, at an old version (0.1-1), until `size`.
 */
export async function thousandPackageReport(vuln: string, size: number): Promise<{ report: IndexReport; fromLayers: number; fillers: number; byFormat: Record<string, number> }> {
  const L = (p: string) => join(vuln, 'layers', p);
  const layers = [];
  for (const [digest, path] of [
    ['sha256:minbase', L('debian-bookworm-minbase.dpkgdb.layer.tar')],
    ['sha256:python', L('debian-bookworm-python.meta.layer.tar.gz')],
    ['sha256:npm', L('npm-app.meta.layer.tar.gz')],
  ] as const) layers.push({ digest, byScanner: (await indexLayerFile(path, digest)).byScanner });
  const base = coalesce('sha256:bench-1000', layers);
  const packages: Package[] = [...base.packages];
  const fromLayers = packages.length;
  const have = new Set(packages.filter((p) => p.format === 'dpkg').flatMap((p) => [p.name, p.source?.name ?? p.name]));
  const names: string[] = [];
  const add = (n: string) => {
    if (!n || have.has(n) || !/^[a-z0-9][a-z0-9+.-]+$/.test(n)) return;
    have.add(n);
    names.push(n);
  };
  const tracker = JSON.parse(readFileSync(join(vuln, 'debian/tracker-json/subset.vunnel-fixture.json'), 'utf8')) as Record<string, unknown>;
  Object.keys(tracker).sort().forEach(add);
  for (const f of ['v3.10/main.yaml', 'v3.11/main.yaml', 'v3.10/community.yaml', 'v3.11/community.yaml']) {
    for (const feed of await parseFeedFile(join(vuln, 'secdb/alpine', f))) [...new Set(feed.vulnerabilities.map((v) => v.package.name))].sort().forEach(add);
  }
  for (const f of ['DSA-list', 'DLA-list']) {
    for (const feed of await parseFeedFile(join(vuln, 'debian/security-tracker-data', f))) [...new Set(feed.vulnerabilities.map((v) => v.package.name))].sort().forEach(add);
  }
  const fillers = Math.max(0, size - packages.length);
  for (const name of names.slice(0, fillers)) {
    packages.push({ name, version: OLD_DPKG_VERSION, format: 'dpkg', source: { name, version: OLD_DPKG_VERSION }, arch: 'amd64', location: 'var/lib/dpkg/status', layer: 'sha256:filler' });
  }
  const byFormat: Record<string, number> = {};
  for (const p of packages) byFormat[p.format] = (byFormat[p.format] ?? 0) + 1;
  return { report: { ...base, packages, layers: [...base.layers, 'sha256:filler'] }, fromLayers, fillers: Math.min(fillers, names.length), byFormat };
}

/** (format, name) pairs of a report, as the controller stores them in index_packages. */
export function packageNames(report: IndexReport): { format: string; name: string }[] {
  const names = new Map<string, { format: string; name: string }>();
  for (const p of report.packages) {
    names.set(`${p.format}\0${p.name}`, { format: p.format, name: p.name });
    if (p.source?.name) names.set(`${p.format}\0${p.source.name}`, { format: p.format, name: p.source.name });
  }
  return [...names.values()];
}
