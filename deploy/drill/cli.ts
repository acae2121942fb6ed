/**
 * wharf drill <name> [options] — failure drills against the local geo cluster (npm run geo:up; started for the
 * drill and stopped after it when none runs). Also `npm run drill -- <name> [options]`.
 *
 *   region-outage    --region <r> [--sync] [--duration s]   kill -9 a whole region under load, restore it
 *   nats-node-loss   [--node n] [--duration s]               kill -9 one NATS server under load, restart it
 *   replicator-crash [--region r] [--from r]                 kill -9 a replicator copying a 64 MiB blob
 *
 * Common: --json (the report as JSON on stdout), --state-dir dir (default .geo). Progress goes to stderr.
 * Exit 0 when the drill's guarantees held, 1 when they did not, 2 on bad usage.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { withCluster } from './cluster.js';
import { describeRegionOutage, regionOutage } from './region-outage.js';
import { describeNatsNodeLoss, natsNodeLoss } from './nats-node-loss.js';
import { describeReplicatorCrash, replicatorCrash } from './replicator-crash.js';

const USAGE = `usage: wharf drill <region-outage|nats-node-loss|replicator-crash> [options]
  region-outage    --region <r> [--sync] [--duration s]
  nats-node-loss   [--node 1|2|3] [--duration s]
  replicator-crash [--region r] [--from r] [--size-mib n]
  common           [--json] [--state-dir dir]`;

export async function main(argv: string[]): Promise<number> {
  const args = argv[0] === 'drill' ? argv.slice(1) : argv;
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        region: { type: 'string' }, from: { type: 'string' }, node: { type: 'string' }, duration: { type: 'string' },
        'size-mib': { type: 'string' }, sync: { type: 'boolean' }, json: { type: 'boolean' }, 'state-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const name = positionals[0];
  if (v.help || !name) {
    process.stderr.write(`${USAGE}\n`);
    return v.help ? 0 : 2;
  }
  const num = (s: string | undefined, what: string): number | undefined => {
    if (s === undefined) return undefined;
    const n = Number(s);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${what} must be a positive number`);
    return n;
  };
  const log = (l: string): void => void process.stderr.write(`drill: ${l}\n`);
  const out = (report: object, human: string): void => void process.stdout.write(v.json ? `${JSON.stringify(report, null, 2)}\n` : `${human}\n`);
  const cluster = { ...(v['state-dir'] ? { stateDir: resolve(v['state-dir']) } : {}), log };
  try {
    switch (name) {
      case 'region-outage': {
        if (!v.region) throw new Error('region-outage needs --region <name>');
        const durationS = num(v.duration, 'duration');
        const r = await withCluster(cluster, (state) => regionOutage(state, { region: v.region!, sync: v.sync ?? false, ...(durationS ? { durationS } : {}), log }));
        out(r, describeRegionOutage(r));
        return r.acknowledged_pushes_lost === 0 && r.catch_up_s !== null && (!r.sync || r.failed_pulls === 0) ? 0 : 1;
      }
      case 'nats-node-loss': {
        const node = num(v.node, 'node');
        const durationS = num(v.duration, 'duration');
        const r = await withCluster(cluster, (state) => natsNodeLoss(state, { ...(node ? { node } : {}), ...(durationS ? { durationS } : {}), log }));
        out(r, describeNatsNodeLoss(r));
        return r.acknowledged_pushes_lost === 0 && r.replicated_after_loss_s !== null ? 0 : 1;
      }
      case 'replicator-crash': {
        const sizeMiB = num(v['size-mib'], 'size-mib');
        const r = await withCluster(cluster, (state) => replicatorCrash(state, {
          ...(v.region ? { region: v.region } : {}), ...(v.from ? { from: v.from } : {}), ...(sizeMiB ? { sizeMiB } : {}), log,
        }));
        out(r, describeReplicatorCrash(r));
        return r.all_placed_and_verified && r.blobs_readable ? 0 : 1;
      }
      default:
        process.stderr.write(`unknown drill "${name}"\n${USAGE}\n`);
        return 2;
    }
  } catch (err) {
    process.stderr.write(`drill ${name}: ${(err as Error).stack ?? err}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  // The cluster's processes are detached (a cluster started here is stopped before): exit explicitly.
  process.exit(await main(process.argv.slice(2)));
}
