// Part 1: the indexer's per-layer work (readLayer + every scanner's scan, no database) against
// `gzip -dc < FILE | tar -t > /dev/null` on the same gzip'ed layer bytes, alternating run by run.
import { spawn } from 'node:child_process';
import { median } from '../report.js';
import { indexLayerFile, type BenchLayer } from './corpus.js';

export interface IndexRow {
  layer: string;
  origin: string;
  compressedBytes: number;
  tarBytes: number;
  runs: number;
  packages: number;
  entries: number;
  keptBytes: number;
  /** Wharf's split in the untimed warm-up pass: readLayer, then each scanner's scan (ms). */
  warmReadMs: number;
  warmScanMs: Record<string, number>;
  wharfSeconds: number[];
  peerSeconds: number[];
  wharfMedianSeconds: number;
  peerMedianSeconds: number;
  /** Tar MB/s (10^6 bytes of uncompressed layer per second). */
  wharfMBps: number;
  peerMBps: number;
  /** Wharf throughput / peer throughput. */
  ratio: number;
  met: boolean;
}

export const INDEX_TARGET = 0.8;
const PEER = 'gzip -dc < "$1" | tar -t > /dev/null';

function peerOnce(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('sh', ['-c', PEER, 'sh', path], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`peer exited ${code}: ${err.slice(0, 300)}`))));
  });
}

async function wharfOnce(path: string, digest: string) {
  const t0 = performance.now();
  const r = await indexLayerFile(path, digest);
  return { seconds: (performance.now() - t0) / 1000, packages: r.packages, entries: r.entries, keptBytes: r.keptBytes, readMs: r.readMs, scanMs: r.scanMs };
}

export async function indexThroughput(layers: BenchLayer[], runsFor: (l: BenchLayer) => number, log: (s: string) => void): Promise<IndexRow[]> {
  const rows: IndexRow[] = [];
  for (const l of layers) {
    const runs = runsFor(l);
    // One untimed pass each: page cache warm for both, JIT warm for Wharf.
    await peerOnce(l.path);
    const warm = await wharfOnce(l.path, `sha256:${l.name}`);
    const wharf: number[] = [];
    const peer: number[] = [];
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? ['wharf', 'peer'] : ['peer', 'wharf'];
      for (const who of order) {
        if (who === 'wharf') wharf.push((await wharfOnce(l.path, `sha256:${l.name}`)).seconds);
        else peer.push(await peerOnce(l.path));
      }
    }
    const w = median(wharf)!;
    const p = median(peer)!;
    const mb = l.tarBytes / 1e6;
    const row: IndexRow = {
      layer: l.name, origin: l.origin, compressedBytes: l.compressedBytes, tarBytes: l.tarBytes, runs,
      packages: warm.packages, entries: warm.entries, keptBytes: warm.keptBytes, warmReadMs: warm.readMs, warmScanMs: warm.scanMs,
      wharfSeconds: wharf, peerSeconds: peer, wharfMedianSeconds: w, peerMedianSeconds: p,
      wharfMBps: mb / w, peerMBps: mb / p, ratio: p / w, met: p / w >= INDEX_TARGET,
    };
    rows.push(row);
    log(
      `   ${l.name.padEnd(24)} ${(l.tarBytes / 1e6).toFixed(1).padStart(7)} MB tar (${(l.compressedBytes / 1e6).toFixed(1)} MB gz), ` +
        `${warm.entries} entries, ${warm.packages} packages: Wharf ${row.wharfMBps.toFixed(1)} MB/s (${(w * 1000).toFixed(1)} ms), ` +
        `peer ${row.peerMBps.toFixed(1)} MB/s (${(p * 1000).toFixed(1)} ms), ratio ${(row.ratio * 100).toFixed(0)} % over ${runs} runs`,
    );
    const slow = Object.entries(warm.scanMs).filter(([, ms]) => ms >= 1).sort((a, b) => b[1] - a[1]);
    log(`   ${''.padEnd(24)} warm-up split: readLayer ${warm.readMs.toFixed(1)} ms (kept ${(warm.keptBytes / 1e6).toFixed(1)} MB)` +
      (slow.length ? `, scans ${slow.map(([n, ms]) => `${n} ${ms.toFixed(1)}`).join(', ')} ms` : ', scans < 1 ms each'));
  }
  return rows;
}
