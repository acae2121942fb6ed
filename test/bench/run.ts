// `npm run bench`: the same push/pull/manifest workload against Wharf and CNCF
// Distribution, alternating between them run by run, reported side by side.
//
//   BENCH_QUICK=1              small sizes / short durations (smoke test)
//   BENCH_SUBJECT=distribution a second Distribution instead of Wharf (validates the harness;
//                              BENCH_ONLY=distribution is an alias)
//   BENCH_SCENARIOS=1,3        subset of scenarios
//   BENCH_REPS, BENCH_BLOB_BYTES, BENCH_CHUNKED_BYTES, BENCH_CHUNK_BYTES, BENCH_PULLS,
//   BENCH_BIG_BYTES, BENCH_BIG_REPS, BENCH_WRK_THREADS, BENCH_WRK_CONNECTIONS,
//   BENCH_WRK_SECONDS, BENCH_WRK_WARMUP_SECONDS, BENCH_MONOLITHIC=auto|single-post|post-put,
//   BENCH_KEEP=1 (keep temp dir + registry logs), BENCH_TMPDIR
import { mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir, cpus, totalmem, release, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from './config.js';
import { GiB, MiB } from './data.js';
import { closeIdleSockets } from './http.js';
import { cpuByPid, cpuDelta, cpuSeconds, rssBytes, startResourceMonitor } from './proc-stats.js';
import { distribution, wharf, type RegistryUnderTest, type RunningRegistry } from './registries.js';
import { metricsTable, resources, resourcesTable, summarise, writeJson, fmt, type RunSample, type ScenarioResult } from './report.js';
import { buildScenarios, type Scenario } from './scenarios.js';
import { supportsSinglePost, type MonolithicMode } from './workloads.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const cfg = loadConfig();
const startedAt = new Date();

const workDir = mkdtempSync(join(cfg.tmpRoot ?? tmpdir(), 'wharf-bench-'));
const running: RunningRegistry[] = [];
let cleanedUp = false;

async function cleanup(): Promise<void> {
  if (cleanedUp) return;
  cleanedUp = true;
  closeIdleSockets();
  for (const r of running) await r.stop().catch((e: Error) => console.error(`stopping ${r.name}: ${e.message}`));
  if (cfg.keepTemp) console.log(`kept ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping registries…`);
    void cleanup().finally(() => process.exit(130));
  });
}

const log = (s: string): void => console.log(s);
const loadText = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

/** Flush dirty pages so one registry's writes are not written back during the other's run. */
function syncDisks(): void {
  spawnSync('sync');
}

async function decideMode(regs: RunningRegistry[]): Promise<{ mode: MonolithicMode; note: string }> {
  if (cfg.monolithic !== 'auto') return { mode: cfg.monolithic, note: `monolithic mode ${cfg.monolithic} (forced by BENCH_MONOLITHIC)` };
  const unsupported: string[] = [];
  for (const r of regs) if (!(await supportsSinglePost(r.url, 'bench/probe'))) unsupported.push(r.name);
  if (unsupported.length === 0) return { mode: 'single-post', note: 'single POST ?digest= with the whole body (both registries)' };
  return {
    mode: 'post-put',
    note: `${unsupported.join(', ')} did not complete a single-POST upload, so BOTH registries get POST + one PUT ?digest= with the whole body`,
  };
}

async function runScenario(sc: Scenario, subject: RunningRegistry, baseline: RunningRegistry): Promise<ScenarioResult> {
  log(`\n== ${sc.id}. ${sc.title}`);
  for (const n of sc.notes) log(`   ${n}`);
  const samples: RunSample[] = [];
  const failed = new Set<string>();
  for (const reg of [subject, baseline]) {
    try {
      await sc.prepare?.(reg);
    } catch (e) {
      failed.add(reg.name);
      samples.push({ registry: reg.name, rep: -1, metrics: {}, cpuSeconds: NaN, peakRssBytes: NaN, error: `prepare: ${(e as Error).message}` });
      log(`   ${reg.name}: prepare FAILED: ${(e as Error).message}`);
    }
  }
  for (let rep = 0; rep < sc.reps; rep++) {
    // Alternate who goes first, so neither registry systematically inherits the
    // other's after-effects (page cache, writeback, thermal state).
    const order = rep % 2 === 0 ? [subject, baseline] : [baseline, subject];
    for (const reg of order) {
      if (failed.has(reg.name)) continue; // after a failure, later reps would only fail the same way
      const sample: RunSample = { registry: reg.name, rep, metrics: {}, cpuSeconds: NaN, peakRssBytes: NaN, loadAvg1: loadavg()[0] };
      try {
        await sc.beforeRun?.(reg, rep);
        syncDisks();
        const helpers0 = reg.helperPids ? cpuByPid(await reg.helperPids()) : null;
        const mon = startResourceMonitor(reg.pid);
        const client0 = process.cpuUsage();
        let out;
        try {
          out = await sc.run(reg, rep);
        } finally {
          const usage = mon.stop();
          const client = process.cpuUsage(client0);
          sample.cpuSeconds = usage.cpuSeconds;
          sample.peakRssBytes = usage.peakRssBytes;
          sample.peakRssSource = `${usage.peakSource}, ${usage.samples} polls`;
          sample.clientCpuSeconds = (client.user + client.system) / 1e6;
        }
        if (helpers0 && reg.helperPids) sample.helperCpuSeconds = cpuDelta(helpers0, cpuByPid(await reg.helperPids()));
        sample.metrics = { ...out.metrics, cpuSeconds: sample.cpuSeconds, peakRssMiB: sample.peakRssBytes / MiB };
        if (out.bytes) sample.metrics.cpuPerGiB = sample.cpuSeconds / (out.bytes / GiB);
        if (out.error) sample.error = out.error;
        if (out.extra !== undefined) sample.extra = out.extra;
      } catch (e) {
        sample.error = (e as Error).message;
      }
      if (sample.error) failed.add(reg.name);
      samples.push(sample);
      const shown = sc.metrics.map((m) => `${m.label} ${fmt(sample.metrics[m.key])} ${m.unit}`).join(', ');
      log(
        `   rep ${rep + 1}/${sc.reps} ${reg.name.padEnd(Math.max(subject.name.length, baseline.name.length))}  ` +
          (sample.error
            ? `FAILED: ${sample.error.slice(0, 400)}`
            : `${shown}; CPU ${fmt(sample.cpuSeconds)} s` +
              (sample.helperCpuSeconds !== undefined ? ` (+${fmt(sample.helperCpuSeconds)} s DB)` : '') +
              `, peak RSS ${fmt(sample.peakRssBytes / MiB)} MiB`),
      );
    }
  }
  return { id: sc.id, key: sc.key, title: sc.title, notes: sc.notes, metrics: sc.metrics, samples };
}

async function main(): Promise<number> {
  const baselineDef: RegistryUnderTest = distribution('distribution', workDir);
  const subjectDef: RegistryUnderTest = cfg.subject === 'wharf' ? wharf('wharf', repoRoot, workDir) : distribution('distribution-b', workDir);

  log(`Wharf benchmark${cfg.quick ? ' (BENCH_QUICK)' : ''} — ${subjectDef.name} vs ${baselineDef.name}, ${cfg.reps} rep(s), median reported`);
  log(`host: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${fmt(totalmem() / GiB, 1)} GiB RAM, Linux ${release()}, node ${process.version}`);
  log(`temp dir: ${workDir}; load average ${loadText()} (anything else running on the host adds noise)`);

  // Both run for the whole bench; only one is driven at a time.
  for (const def of [subjectDef, baselineDef]) {
    const reg = await def.start();
    running.push(reg);
    log(`started ${reg.name}: ${reg.url} pid ${reg.pid} — ${reg.description}`);
  }
  const [subject, baseline] = running as [RunningRegistry, RunningRegistry];
  const cpuAtStart = new Map(running.map((r) => [r.name, cpuSeconds(r.pid)]));
  const idleRss = new Map(running.map((r) => [r.name, rssBytes(r.pid)]));

  const { mode, note } = await decideMode(running);
  log(`monolithic upload: ${note}`);

  const results: ScenarioResult[] = [];
  for (const sc of buildScenarios({ cfg, mode, modeNote: note, workDir })) results.push(await runScenario(sc, subject, baseline));

  const cpuWhole = new Map(running.map((r) => [r.name, cpuSeconds(r.pid) - (cpuAtStart.get(r.name) ?? 0)]));
  const rows = summarise(results, subject.name, baseline.name);
  const res = resources(results, [subject.name, baseline.name]);

  log(`\nResults (median of ${cfg.reps} rep(s); ratio = ${subject.name}/${baseline.name}; targets are reported, not asserted)\n`);
  log(metricsTable(rows, subject.name, baseline.name));
  log('\nRegistry process resources per scenario (utime+stime delta; peak RSS = max of 50 ms VmRSS polls and VmHWM;');
  log('"DB CPU" = PostgreSQL backends serving the registry\'s database, not included in the registry CPU figures)\n');
  log(resourcesTable(res));
  log('');
  for (const r of running) {
    log(`${r.name}: RSS after startup ${fmt(idleRss.get(r.name)! / MiB)} MiB, CPU over whole bench ${fmt(cpuWhole.get(r.name))} s`);
  }
  log(`monolithic upload: ${note}`);
  log(`manifest load generator: wrk (${cfg.wrkThreads} threads, ${cfg.wrkConnections} connections) on the same host`);
  log(`load average at end: ${loadText()}`);

  const failures = results.flatMap((r) => r.samples.filter((s) => s.error).map((s) => `${r.key}/${s.registry}: ${s.error}`));
  const path = writeJson(join(repoRoot, '.bench'), {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    config: { ...cfg, scenarios: [...cfg.scenarios] },
    host: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memBytes: totalmem(), kernel: release(), node: process.version, loadavgAtEnd: loadavg() },
    registries: running.map((r) => ({
      name: r.name,
      role: r === subject ? 'subject' : 'baseline',
      description: r.description,
      idleRssBytes: idleRss.get(r.name),
      cpuSecondsWholeBench: cpuWhole.get(r.name),
    })),
    monolithicMode: mode,
    monolithicNote: note,
    rows,
    resources: res,
    scenarios: results,
    failures,
  });
  log(`\nJSON: ${path}`);
  if (failures.length > 0) {
    log(`\n${failures.length} run(s) failed:`);
    for (const f of failures) log(`  ${f.slice(0, 600)}`);
    if (!cfg.keepTemp) log('  (re-run with BENCH_KEEP=1 to keep the registry logs)');
    return 1;
  }
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
