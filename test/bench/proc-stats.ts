// CPU time and memory of a registry process, read straight from /proc.
//
// We measure the process *tree* rooted at the registry pid, so a registry that
// forks helpers (or a launcher that execs a child) is still fully accounted for.
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // process went away between listing and reading
  }
}

/** pid plus all live descendants. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const children = readOrNull(`/proc/${p}/task/${tid}/children`);
      if (children) for (const c of children.trim().split(/\s+/)) if (c) stack.push(Number(c));
    }
  }
  return out;
}

/**
 * CPU seconds (user+system) consumed so far by the tree. Each live process
 * contributes utime+stime plus cutime+cstime (its already-reaped children), which
 * counts every exited descendant exactly once.
 */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    const stat = readOrNull(`/proc/${p}/stat`);
    if (!stat) continue;
    // comm (field 2) may contain spaces and parens; fields after the last ')' are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); utime..cstime are fields 14..17.
    ticks += Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]);
  }
  return ticks / CLK_TCK;
}

function statusField(pid: number, field: string): number | null {
  const status = readOrNull(`/proc/${pid}/status`);
  if (!status) return null;
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return m ? Number(m[1]) * 1024 : null;
}

/** Current resident set size of the whole tree, bytes. */
export function rssBytes(pid: number): number {
  let sum = 0;
  for (const p of processTree(pid)) sum += statusField(p, 'VmRSS') ?? 0;
  return sum;
}

/**
 * Resets the kernel's peak-RSS counter (VmHWM) of the tree ("5" > clear_refs, Linux ≥ 4.0),
 * so VmHWM afterwards is the peak *within* the measured window, catching spikes that
 * fall between two polls. Returns false if not permitted.
 */
function resetHighWaterMark(pid: number): boolean {
  let ok = true;
  for (const p of processTree(pid)) {
    try {
      writeFileSync(`/proc/${p}/clear_refs`, '5');
    } catch {
      ok = false;
    }
  }
  return ok;
}

export interface ResourceUsage {
  /** utime+stime delta over the window, seconds. */
  cpuSeconds: number;
  /** Peak RSS in the window, bytes: max of the 50 ms polls and (if resettable) VmHWM. */
  peakRssBytes: number;
  /** How the peak was obtained, for the JSON record. */
  peakSource: 'poll' | 'poll+hwm';
  samples: number;
}

/**
 * Measures a window of activity of one registry process: CPU delta and peak RSS,
 * polling VmRSS every `intervalMs`. Call stop() when the workload is done.
 */
export function startResourceMonitor(pid: number, intervalMs = 50): { stop(): ResourceUsage } {
  const cpu0 = cpuSeconds(pid);
  const hwmReset = resetHighWaterMark(pid);
  let peak = rssBytes(pid);
  let samples = 1;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid));
    samples++;
  }, intervalMs);
  return {
    stop(): ResourceUsage {
      clearInterval(timer);
      const cpu1 = cpuSeconds(pid);
      peak = Math.max(peak, rssBytes(pid));
      let source: ResourceUsage['peakSource'] = 'poll';
      if (hwmReset) {
        // The sum of per-process peaks over-approximates a tree's peak; for the usual
        // single-process registry it is exact.
        let hwm = 0;
        for (const p of processTree(pid)) hwm += statusField(p, 'VmHWM') ?? 0;
        if (hwm > peak) peak = hwm;
        source = 'poll+hwm';
      }
      return { cpuSeconds: cpu1 - cpu0, peakRssBytes: peak, peakSource: source, samples };
    },
  };
}

/** CPU seconds so far of each pid (and its tree); pids that are gone are omitted. */
export function cpuByPid(pids: number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const p of pids) {
    if (readOrNull(`/proc/${p}/stat`) !== null) m.set(p, cpuSeconds(p));
  }
  return m;
}

/**
 * CPU used between two cpuByPid() snapshots. A pid only in `after` started inside
 * the window, so all of its CPU counts; a pid gone by `after` is lost (pooled DB
 * connections rarely churn during a run).
 */
export function cpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, t] of after) sum += t - (before.get(pid) ?? 0);
  return sum;
}
