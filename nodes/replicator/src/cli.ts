import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Config } from '../../../shared/config/index.js';
import type { Logger } from '../../../shared/logging/logger.js';
import { openReplicatorDeps } from './node.js';
import { reconcile } from './reconcile.js';
import { RemoveRegionRefusedError, removeRegion } from './remove-region.js';
import { verifyRegion } from './verify.js';

export const USAGE = `usage: npm run replication -- <command> [options]

commands:
  reconcile       re-queue blobs a region's policy requires but it lacks (lost events); every region, or --region
  verify          check the placements of --region (default: node.region) against its store: object present with
                  the right size; --deep re-hashes the bytes; --repair deletes bad placements (reconcile re-copies)
  remove-region   drain --region: copy each of its blobs to every other region that must hold it, then delete its
                  placements (and with --delete-bytes its objects); refused while a policy lists it, unless --force

options:
  --region <r>    the region to act on
  --json          print one JSON document instead of text
  --limit <n>     reconcile: at most n blobs per region (default 10000)
  --deep, --repair, --force, --delete-bytes   see above`;

export interface CliIo {
  config: Config;
  log: Logger;
  /** Where results go (stdout); logs go to `log`. */
  out: (text: string) => void;
}

/** Runs one command; resolves with the process exit code (0 ok, 1 problems found or left, 2 usage or refusal). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        region: { type: 'string' },
        json: { type: 'boolean', default: false },
        limit: { type: 'string' },
        deep: { type: 'boolean', default: false },
        repair: { type: 'boolean', default: false },
        force: { type: 'boolean', default: false },
        'delete-bytes': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    io.out(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values: o, positionals } = parsed;
  const command = positionals[0];
  if (o.help || !command || positionals.length > 1) {
    io.out(USAGE);
    return o.help ? 0 : 2;
  }
  const regions = io.config.cluster.regions.map((r) => r.name);
  if (o.region !== undefined && !regions.includes(o.region) && command !== 'remove-region') {
    io.out(`unknown region "${o.region}" (cluster: ${regions.join(', ')})`);
    return 2;
  }
  const limit = o.limit === undefined ? 10_000 : Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    io.out('--limit must be a positive integer');
    return 2;
  }
  if (!['reconcile', 'verify', 'remove-region'].includes(command)) {
    io.out(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  if (command === 'remove-region' && !o.region) {
    io.out('remove-region needs --region');
    return 2;
  }

  const { deps, closers } = await openReplicatorDeps(io.config, {
    log: io.log, bus: command === 'reconcile' ? 'required' : command === 'verify' ? 'none' : 'optional',
  });
  const print = (json: unknown, text: string) => io.out(o.json ? JSON.stringify(json, null, 2) : text);
  const concurrency = io.config.replicator.concurrency;
  try {
    switch (command) {
      case 'reconcile': {
        const reports = await reconcile(deps, { regions: o.region ? [o.region] : regions, limit, runId: randomBytes(6).toString('hex') });
        print({ command, regions: reports }, reports.map((r) =>
          `${r.region}: ${r.missing} missing, ${r.requeued} re-queued${r.failed ? `, ${r.failed} publish failures` : ''}${r.truncated ? ' (limit reached: run again)' : ''}`,
        ).join('\n'));
        return reports.some((r) => r.failed > 0) ? 1 : 0;
      }
      case 'verify': {
        const region = o.region ?? io.config.node.region;
        const r = await verifyRegion(deps, { region, deep: o.deep, repair: o.repair, concurrency });
        print({ command, ...r }, [
          `${region}: ${r.checked} placements checked${o.deep ? ' (deep)' : ''}, ${r.bad.length} bad${o.repair ? `, ${r.repaired} removed` : ''}`,
          ...r.bad.map((b) => `  ${b.problem.padEnd(10)} ${b.digest}  ${b.detail}${b.lost ? '  [LOST: no other region holds it]' : ''}`),
        ].join('\n'));
        return r.bad.length > 0 && !o.repair ? 1 : 0;
      }
      default: {
        let r;
        try {
          r = await removeRegion(deps, { region: o.region!, force: o.force, deleteBytes: o['delete-bytes'], concurrency });
        } catch (err) {
          if (!(err instanceof RemoveRegionRefusedError)) throw err;
          print({ command, region: o.region, refused: err.message }, `refused: ${err.message}`);
          return 2;
        }
        print({ command, ...r }, [
          `${r.region}: ${r.blobs} blobs, ${r.copied} copied elsewhere, ${r.removed} placements removed, ${r.bytesDeleted} objects deleted, ${r.gone} gone, ${r.failed.length} kept`,
          ...r.failed.map((f) => `  kept ${f.digest}: ${f.error}`),
        ].join('\n'));
        return r.failed.length > 0 ? 1 : 0;
      }
    }
  } finally {
    for (const c of closers) await c.close().catch((err: unknown) => io.log.warn({ err, component: c.name }, 'close failed'));
  }
}
