import { loadConfig } from '../../../shared/config/index.js';
import { onSignals } from '../../../shared/lifecycle/shutdown.js';
import { startRegistryNode } from './node.js';

// Composition root: the only place that reads the environment.
const config = loadConfig(process.env);
const node = await startRegistryNode(config, { embeddedScanner: { env: process.env } });
onSignals(node.closers, node.deps.log, config.server.shutdownTimeoutSeconds * 1000);
