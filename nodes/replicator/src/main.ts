import { loadConfig } from '../../../shared/config/index.js';
import { onSignals } from '../../../shared/lifecycle/shutdown.js';
import { createLogger } from '../../../shared/logging/logger.js';
import { runCli } from './cli.js';
import { startReplicatorNode } from './node.js';

// Composition root: the only place that reads the environment. Without arguments it runs the replicator of
// node.region; with a command (`npm run replication -- reconcile`) it runs that command once and exits.
const config = loadConfig(process.env);
const args = process.argv.slice(2);
if (args.length > 0) {
  // Results go to stdout, logs to stderr, so `--json` output can be piped.
  const log = createLogger({ level: config.log.level, bindings: { node: 'replication-cli', region: config.node.region }, destination: process.stderr });
  process.exitCode = await runCli(args, { config, log, out: (text) => process.stdout.write(`${text}\n`) });
} else {
  const node = await startReplicatorNode(config);
  onSignals(node.closers, node.deps.log, config.server.shutdownTimeoutSeconds * 1000);
}
