import { loadConfig } from '../../../shared/config/index.js';
import { onSignals } from '../../../shared/lifecycle/shutdown.js';
import { startScannerNode } from './node.js';

// Composition root: the only place that reads the environment.
const config = loadConfig(process.env);
const node = await startScannerNode(config);
const shutdown = onSignals(node.closers, node.log, config.server.shutdownTimeoutSeconds * 1000);
// Spawned beside a registry node (npm start) with an IPC channel: leave with it, however it ended.
if (process.send) {
  process.channel?.unref();
  process.once('disconnect', () => void shutdown().then(() => process.exit(0)));
}
