// Result model, the aligned text tables, and the JSON record.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Target {
  /** Human-readable, e.g. "≥ 1.2×". */
  text: string;
  /** False for absolute limits (e.g. peak RSS), which are judged on the subject alone. */
  needsBaseline: boolean;
  met(subject: number, baseline: number): boolean;
}

export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  target?: Target;
}

/** One timed run of one scenario against one registry. */
export interface RunSample {
  registry: string;
  rep: number;
  metrics: Record<string, number>;
  cpuSeconds: number;
  peakRssBytes: number;
  /** How peak RSS was obtained and how many polls were taken (see proc-stats.ts). */
  peakRssSource?: string;
  /** CPU seconds of the bench process itself in the window, to spot a client-side bottleneck. */
  clientCpuSeconds?: number;
  /** CPU seconds of helper processes outside the registry tree (Wharf's PostgreSQL backends). */
  helperCpuSeconds?: number;
  /** 1-minute load average when the run started (other work on the host skews results). */
  loadAvg1?: number;
  error?: string;
  extra?: unknown;
}

export interface ScenarioResult {
  id: number;
  key: string;
  title: string;
  notes: string[];
  metrics: MetricDef[];
  samples: RunSample[];
}

export interface Row {
  scenario: string;
  metric: string;
  unit: string;
  subject: number | null;
  baseline: number | null;
  ratio: number | null;
  target: string;
  met: boolean | null;
}

export interface ResourceRow {
  scenario: string;
  registry: string;
  runs: number;
  cpuSecondsMedian: number | null;
  cpuSecondsTotal: number | null;
  helperCpuSecondsMedian: number | null;
  peakRssMiB: number | null;
}

export function median(xs: number[]): number | null {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export const ratioAtLeast = (k: number): Target => ({ text: `≥ ${k}×`, needsBaseline: true, met: (s, b) => s >= k * b });
export const ratioAtMost = (k: number): Target => ({ text: `≤ ${k}×`, needsBaseline: true, met: (s, b) => s <= k * b });
export const lowerThanBaseline: Target = { text: '< baseline', needsBaseline: true, met: (s, b) => s < b };
export const below = (limit: number, unit: string): Target => ({ text: `< ${limit} ${unit}`, needsBaseline: false, met: (s) => s < limit });

function ok(samples: RunSample[], registry: string): RunSample[] {
  return samples.filter((s) => s.registry === registry && !s.error);
}

/** Median over repetitions of every metric, per registry; the ratio is subject/baseline. */
export function summarise(results: ScenarioResult[], subject: string, baseline: string): Row[] {
  const rows: Row[] = [];
  for (const sc of results) {
    for (const m of sc.metrics) {
      const s = median(ok(sc.samples, subject).map((x) => x.metrics[m.key] ?? NaN));
      const b = median(ok(sc.samples, baseline).map((x) => x.metrics[m.key] ?? NaN));
      const ratio = s !== null && b !== null && b !== 0 ? s / b : null;
      rows.push({
        scenario: `${sc.id}. ${sc.title}`,
        metric: m.label,
        unit: m.unit,
        subject: s,
        baseline: b,
        ratio,
        target: m.target?.text ?? 'info',
        met: m.target && s !== null && (b !== null || !m.target.needsBaseline) ? m.target.met(s, b ?? NaN) : null,
      });
    }
  }
  return rows;
}

export function resources(results: ScenarioResult[], registries: string[]): ResourceRow[] {
  const rows: ResourceRow[] = [];
  for (const sc of results) {
    for (const r of registries) {
      const runs = ok(sc.samples, r);
      rows.push({
        scenario: `${sc.id}. ${sc.title}`,
        registry: r,
        runs: runs.length,
        cpuSecondsMedian: median(runs.map((x) => x.cpuSeconds)),
        cpuSecondsTotal: runs.length ? runs.reduce((a, x) => a + x.cpuSeconds, 0) : null,
        helperCpuSecondsMedian: median(runs.flatMap((x) => (x.helperCpuSeconds === undefined ? [] : [x.helperCpuSeconds]))),
        peakRssMiB: runs.length ? Math.max(...runs.map((x) => x.peakRssBytes)) / 1024 / 1024 : null,
      });
    }
  }
  return rows;
}

/** Three significant-ish digits without exponent noise. */
export function fmt(v: number | null | undefined, digits?: number): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (digits === undefined && Number.isInteger(v)) return String(v);
  const d = digits ?? (Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : Math.abs(v) >= 1 ? 2 : 3);
  return v.toFixed(d);
}

/** Left-aligns text columns, right-aligns columns listed in `numeric`. */
export function table(headers: string[], rows: string[][], numeric: Set<number>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function metricsTable(rows: Row[], subject: string, baseline: string): string {
  return table(
    ['scenario', 'metric', subject, baseline, 'ratio', 'target', 'met?'],
    rows.map((r) => [
      r.scenario,
      `${r.metric} (${r.unit})`,
      fmt(r.subject),
      fmt(r.baseline),
      r.ratio === null ? '—' : `${fmt(r.ratio, 2)}×`,
      r.target,
      r.met === null ? (r.target === 'info' ? '' : '?') : r.met ? 'yes' : 'NO',
    ]),
    new Set([2, 3, 4]),
  );
}

export function resourcesTable(rows: ResourceRow[]): string {
  return table(
    ['scenario', 'registry', 'runs', 'CPU s/run (median)', 'CPU s (all runs)', 'DB CPU s/run', 'peak RSS MiB'],
    rows.map((r) => [
      r.scenario,
      r.registry,
      String(r.runs),
      fmt(r.cpuSecondsMedian),
      fmt(r.cpuSecondsTotal),
      fmt(r.helperCpuSecondsMedian),
      fmt(r.peakRssMiB),
    ]),
    new Set([2, 3, 4, 5, 6]),
  );
}

export function writeJson(dir: string, record: unknown): string {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const path = join(dir, `results-${stamp}.json`);
  writeFileSync(path, JSON.stringify(record, null, 2) + '\n');
  return path;
}
