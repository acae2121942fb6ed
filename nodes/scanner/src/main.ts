import { loadConfig } from '../../../shared/config/index.js';
import { onSignals } from '../../../shared/lifecycle/shutdown.js';
import { startScannerNode } from './node.js';

// Composition root: the only place that reads the environment.
const config = loadConfig(process.env);
const node = await startScannerNode(config);
onSignals(node.closers, node.log, config.server.shutdownTimeoutSeconds * 1000);
