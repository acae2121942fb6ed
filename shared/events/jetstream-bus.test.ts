import { connect } from 'nats';
import { testNats, uniqueEventPrefix } from '../../test/support/nats-test-server.js';
import { connectJetStreamBus, eventNames, eventSource } from './index.js';
import { recordingLogger, runBusConformance, type LogRecord } from './testsuite/bus-conformance.js';

runBusConformance('jetstream', async () => {
  const server = await testNats();
  const logs: LogRecord[] = [];
  const names = eventNames(uniqueEventPrefix());
  const source = eventSource({ node: 'test', region: 'local', instance: 'jetstream' });
  const bus = await connectJetStreamBus({ servers: server.url, names, logger: recordingLogger(logs), source });
  const nc = await connect({ servers: server.url });
  const js = nc.jetstream();
  // The bus creates the stream in the background; raw publishes need it to exist.
  for (let i = 0; !(await bus.health()).ok; i++) {
    if (i > 100) throw new Error(`bus not healthy: ${(await bus.health()).detail}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    bus,
    names,
    source,
    logs,
    publishRaw: async (subject, data, msgId) => {
      await js.publish(subject, data, msgId ? { msgID: msgId } : {});
    },
    cleanup: async () => {
      await bus.close();
      const jsm = await nc.jetstreamManager();
      await jsm.streams.delete(names.stream).catch(() => false);
      await nc.close();
      await server.release();
    },
  };
});
