/**
 * Turning a drill's recorded outcomes into numbers (failures, recovery times) and the human summary.
 */
import type { Outcome } from './load.js';

export const iso = (ms: number | null | undefined): string | null => (ms ? new Date(ms).toISOString() : null);
export const secs = (ms: number): number => Math.round(ms / 10) / 100;

export interface LoadStats {
  requests: number;
  pushes: number;
  pulls: number;
  failed_pushes: number;
  failed_pulls: number;
  /** Requests answered by a region other than the client's own (failover), per client region. */
  served_elsewhere: Record<string, number>;
}

export function loadStats(outcomes: Outcome[]): LoadStats {
  const pushes = outcomes.filter((o) => o.op === 'push');
  const pulls = outcomes.filter((o) => o.op === 'pull');
  const served_elsewhere: Record<string, number> = {};
  for (const o of outcomes) if (o.ok && o.served && o.served !== o.region) served_elsewhere[o.region] = (served_elsewhere[o.region] ?? 0) + 1;
  return {
    requests: outcomes.length,
    pushes: pushes.length,
    pulls: pulls.length,
    failed_pushes: pushes.filter((o) => !o.ok).length,
    failed_pulls: pulls.filter((o) => !o.ok).length,
    served_elsewhere,
  };
}

/**
 * Seconds from `from` (the fault) to the first success of `op` that ended after the last failure that ended at or
 * after `from`: 0 when nothing failed after the fault, null when it never succeeded again.
 */
export function recoverySeconds(outcomes: Outcome[], op: Outcome['op'], from: number): number | null {
  const after = outcomes.filter((o) => o.op === op && o.end >= from);
  const lastFailure = Math.max(0, ...after.filter((o) => !o.ok).map((o) => o.end));
  if (lastFailure === 0) return 0;
  const next = after.filter((o) => o.ok && o.end > lastFailure).map((o) => o.end);
  return next.length === 0 ? null : secs(Math.min(...next) - from);
}

/** The first failures, for the report (what went wrong, not just how often). */
export function failureSample(outcomes: Outcome[], n = 10): { op: string; region: string; at: string | null; status: number; served?: string; error?: string }[] {
  return outcomes.filter((o) => !o.ok).slice(0, n).map((o) => ({
    op: o.op, region: o.region, at: iso(o.end), status: o.status, ...(o.served ? { served: o.served } : {}), ...(o.error ? { error: o.error.slice(0, 200) } : {}),
  }));
}

/** `key: value` lines for the summary, aligned. */
export function summary(title: string, rows: [string, unknown][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  const fmt = (v: unknown): string => (v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  return [title, ...rows.map(([k, v]) => `  ${k.padEnd(w)}  ${fmt(v)}`)].join('\n');
}
