import { createMemoryBus, eventNames, eventSource } from './index.js';
import { recordingLogger, runBusConformance, type LogRecord } from './testsuite/bus-conformance.js';

runBusConformance('memory', async () => {
  const logs: LogRecord[] = [];
  const names = eventNames('wharf');
  const source = eventSource({ node: 'test', region: 'local', instance: 'memory' });
  const bus = createMemoryBus({ names, logger: recordingLogger(logs), source });
  return {
    bus,
    names,
    source,
    logs,
    publishRaw: async (subject, data, msgId) => bus.publishRaw(subject, data, msgId),
    cleanup: () => bus.close(),
  };
});
