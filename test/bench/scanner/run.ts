// `npm run bench:scanner`: the scanner on the real corpus (../shared/data/vuln), reported, never asserted.
//
//   1. Index throughput per layer: readLayer + every scanner's scan (the indexer's per-layer work, no database) vs
//      `gzip -dc < FILE | tar -t > /dev/null` on the same gzip'ed layer, alternating run by run; target ≥ 80 %.
//   2. Match time of a 1,000-package image against the real feeds in a fresh PostgreSQL database.
//   3. Re-match of N indexed manifests after a feed update, through a real scanner node's rematch.
//
//   BENCH_QUICK=1          fewer runs, a smaller synthetic layer, 100 manifests (well under a minute)
//   BENCH_SYNTHETIC_MB     file bytes in the synthetic rootfs layer (default 300, quick 40)
//   BENCH_INDEX_RUNS       timed runs per corpus layer (default 15, quick 5); the synthetic layer gets a third
//   BENCH_MATCH_RUNS       timed match runs (default 30, quick 8)
//   BENCH_PACKAGES         packages in the big image (default 1000)
//   BENCH_MANIFESTS        manifests re-matched (default 1000, quick 100)
//   BENCH_VULN             corpus directory (default ../shared/data/vuln from the repo root)
//   BENCH_KEEP=1           keep the temp dir and the database; BENCH_TMPDIR: where the temp dir goes
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../shared/config/index.js';
import { createPool } from '../../../shared/db/pool.js';
import { migrate } from '../../../shared/db/migrate.js';
import { createLogger } from '../../../shared/logging/logger.js';
import { startScannerNode, type RunningScanner } from '../../../nodes/scanner/src/node.js';
import { createTestDatabase, type TestDatabase } from '../../support/db.js';
import { fmt, table } from '../report.js';
import { benchLayers, importCorpusFeeds, thousandPackageReport } from './corpus.js';
import { INDEX_TARGET, indexThroughput, type IndexRow } from './index-throughput.js';
import { manifestVariants, matchTimes, rematchAfterUpdate, storeIndexReports, type MatchResult, type RematchResult } from './match.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const env = process.env;
const quick = env.BENCH_QUICK === '1';
const num = (k: string, d: number): number => (env[k] && Number.isFinite(Number(env[k])) ? Number(env[k]) : d);
const cfg = {
  quick,
  vuln: resolve(repoRoot, env.BENCH_VULN ?? '../shared/data/vuln'),
  syntheticMB: num('BENCH_SYNTHETIC_MB', quick ? 40 : 300),
  indexRuns: num('BENCH_INDEX_RUNS', quick ? 5 : 15),
  matchRuns: num('BENCH_MATCH_RUNS', quick ? 8 : 30),
  packages: num('BENCH_PACKAGES', 1000),
  manifests: num('BENCH_MANIFESTS', quick ? 100 : 1000),
  keep: env.BENCH_KEEP === '1',
};
const log = (s: string): void => console.log(s);
const startedAt = new Date();
const workDir = mkdtempSync(join(env.BENCH_TMPDIR ?? tmpdir(), 'wharf-bench-scanner-'));
let db: TestDatabase | undefined;
let node: RunningScanner | undefined;
let pool: ReturnType<typeof createPool> | undefined;
let cleanedUp = false;

async function cleanup(): Promise<void> {
  if (cleanedUp) return;
  cleanedUp = true;
  await node?.close().catch((e: Error) => console.error(`stopping the scanner node: ${e.message}`));
  await pool?.end().catch(() => {});
  if (cfg.keep) log(`kept ${workDir}${db ? ` and database ${db.url}` : ''}`);
  else {
    await db?.drop().catch((e: Error) => console.error(`dropping the database: ${e.message}`));
    rmSync(workDir, { recursive: true, force: true });
  }
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: cleaning up…`);
    void cleanup().finally(() => process.exit(130));
  });
}

const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;

async function main(): Promise<number> {
  log(`Wharf scanner benchmark${quick ? ' (BENCH_QUICK)' : ''} — corpus ${cfg.vuln}`);
  log(`host: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${fmt(totalmem() / 2 ** 30, 1)} GiB RAM, Linux ${release()}, node ${process.version}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  // ---- 1. index throughput
  log(`\n== 1. Index throughput per layer: readLayer + all ${'SCANNERS'} scan vs gzip -dc | tar -t (target ≥ ${pct(INDEX_TARGET)})`);
  const tl = performance.now();
  const layers = await benchLayers(cfg.vuln, workDir, cfg.syntheticMB * 1e6);
  log(`   layers ready in ${((performance.now() - tl) / 1000).toFixed(1)} s (synthetic: ${layers.at(-1)!.origin})`);
  const indexRows: IndexRow[] = await indexThroughput(
    layers, (l) => (l.tarBytes > 50e6 ? Math.max(1, Math.round(cfg.indexRuns / 5)) : cfg.indexRuns), log,
  );

  // ---- 2. match a 1,000-package image
  log(`\n== 2. Match time for a ${cfg.packages}-package image`);
  db = await createTestDatabase();
  pool = createPool({ connectionString: db.url, max: 4, applicationName: 'wharf-bench-scanner' });
  await migrate(pool);
  const imported = await importCorpusFeeds(pool, cfg.vuln);
  const records = imported.summaries.reduce((a, s) => a + s.vulnerabilities, 0);
  log(`   imported ${imported.summaries.length} feeds, ${records} records in ${imported.seconds.toFixed(1)} s: ` +
    imported.summaries.map((s) => `${s.feed} ${s.vulnerabilities}`).join(', '));
  const big = await thousandPackageReport(cfg.vuln, cfg.packages);
  log(`   image: ${big.report.packages.length} packages (${Object.entries(big.byFormat).map(([f, n]) => `${n} ${f}`).join(', ')}); ` +
    `${big.fromLayers} from the corpus layers, ${big.fillers} dpkg named after tracker/secdb/DSA/DLA source packages at 0.1-1; ` +
    `distribution ${big.report.distribution?.id} ${big.report.distribution?.versionId} ${big.report.distribution?.versionCodename ?? ''}`);
  const match: MatchResult = await matchTimes(pool, big.report, cfg.matchRuns, 2);
  log(`   vulnerabilityMatches: median ${match.medianMs.toFixed(1)} ms, p95 ${match.p95Ms.toFixed(1)} ms over ${match.runs} runs; ` +
    `${match.matches} matches (${match.vulnerabilities} vulnerabilities, ${match.packagesAffected} packages): ` +
    Object.entries(match.byFeed).map(([f, n]) => `${f} ${n}`).join(', '));

  // ---- 3. re-match after a feed update
  log(`\n== 3. Re-match of ${cfg.manifests} indexed manifests after a feed update`);
  const manifests = manifestVariants(big.report, big.fromLayers, cfg.manifests);
  const { storeSeconds, baselineSeconds } = await storeIndexReports(pool, manifests);
  log(`   stored ${manifests.length} index reports (${manifests.reduce((a, m) => a + m.report.packages.length, 0)} packages) in ${storeSeconds.toFixed(1)} s, ` +
    `their baseline findings in ${baselineSeconds.toFixed(1)} s (concurrently; untimed setup)`);
  const config = loadConfig({
    WHARF_DATABASE_URL: db.url, WHARF_STORAGE_FILESYSTEM_ROOT: join(workDir, 'storage'), WHARF_DATA_DIR: workDir,
    WHARF_SCANNER_PORT: '0', WHARF_SERVER_HOST: '127.0.0.1', WHARF_SCANNER_POLL_SECONDS: '3600', WHARF_LOG_LEVEL: 'silent',
  });
  node = await startScannerNode(config, { log: createLogger({ level: env.WHARF_BENCH_LOG_LEVEL ?? 'silent', bindings: { node: 'scanner-bench' } }) });
  const rematch: RematchResult = await rematchAfterUpdate(pool, node, cfg.vuln, manifests);
  log(`   update: osv:npm gains the lodash advisory (GHSA-p6mc-m468-83gw), imported in ${rematch.importSeconds.toFixed(2)} s; ` +
    `added ${rematch.feedAdded.map((a) => `${a.format}/${a.name}`).join(', ')}`);
  log(`   ${rematch.affected} affected manifests found in ${(rematch.findSeconds * 1000).toFixed(0)} ms, re-matched in ${rematch.rematchSeconds.toFixed(1)} s: ` +
    `${rematch.totalSeconds.toFixed(1)} s total, ${rematch.manifestsPerSecond.toFixed(1)} manifests/s ` +
    `(per manifest median ${rematch.perManifestMedianMs.toFixed(1)} ms, p95 ${rematch.perManifestP95Ms.toFixed(1)} ms); ` +
    `${rematch.manifestsWithNewFindings} with new findings (${rematch.newFindings} new; expected ${rematch.expectedNew}, ` +
    `the manifests with lodash < 4.17.20${rematch.unexpectedNew.length ? `; UNEXPECTED: ${rematch.unexpectedNew.join(', ')}` : ''})`);

  // ---- summary
  log(`\nResults (${quick ? 'BENCH_QUICK' : 'full run'}; targets are reported, not asserted)\n`);
  log(table(
    ['layer', 'tar MB', 'runs', 'Wharf MB/s', 'peer MB/s', 'Wharf ms', 'peer ms', 'ratio', 'target', 'met?'],
    indexRows.map((r) => [
      r.layer, fmt(r.tarBytes / 1e6, 1), String(r.runs), fmt(r.wharfMBps, 1), fmt(r.peerMBps, 1),
      fmt(r.wharfMedianSeconds * 1000, 1), fmt(r.peerMedianSeconds * 1000, 1), pct(r.ratio), `≥ ${pct(INDEX_TARGET)}`, r.met ? 'yes' : 'NO',
    ]),
    new Set([1, 2, 3, 4, 5, 6, 7]),
  ));
  log('   Wharf = readLayer + every scanner (median wall time, in process); peer = sh -c \'gzip -dc < FILE | tar -t > /dev/null\' (spawn included)');
  log('');
  log(table(
    ['measure', 'value'],
    [
      [`match ${match.packages}-package image, median`, `${fmt(match.medianMs, 1)} ms`],
      [`match ${match.packages}-package image, p95`, `${fmt(match.p95Ms, 1)} ms`],
      ['matches found', `${match.matches} (${match.vulnerabilities} vulnerabilities, ${match.packagesAffected} packages)`],
      ['feed records in the database', String(records)],
      [`re-match after update: manifests affected / stored`, `${rematch.affected} / ${rematch.manifests}`],
      ['re-match after update: total', `${fmt(rematch.totalSeconds, 2)} s`],
      ['re-match after update: throughput', `${fmt(rematch.manifestsPerSecond, 1)} manifests/s`],
      ['re-match per manifest, median / p95', `${fmt(rematch.perManifestMedianMs, 1)} / ${fmt(rematch.perManifestP95Ms, 1)} ms`],
      ['new findings after update', `${rematch.newFindings} in ${rematch.manifestsWithNewFindings} manifests`],
    ],
    new Set(),
  ));

  const dir = join(repoRoot, '.bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `scanner-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, JSON.stringify({
    startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), config: cfg,
    host: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memBytes: totalmem(), kernel: release(), node: process.version, loadavgAtEnd: loadavg() },
    index: { target: INDEX_TARGET, peer: "sh -c 'gzip -dc < FILE | tar -t > /dev/null'", layers: indexRows },
    match: { ...match, image: { packages: big.report.packages.length, fromLayers: big.fromLayers, fillers: big.fillers, byFormat: big.byFormat, distribution: big.report.distribution } },
    feeds: { seconds: imported.seconds, records, imported: imported.summaries.map((s) => ({ feed: s.feed, source: s.source, status: s.status, vulnerabilities: s.vulnerabilities })) },
    rematch: { ...rematch, storeSeconds, baselineSeconds },
  }, null, 2) + '\n');
  log(`\nJSON: ${path}`);
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(`bench failed: ${(e as Error).stack ?? e}`);
} finally {
  await cleanup();
}
process.exit(code);
