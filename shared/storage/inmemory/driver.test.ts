import { withBase } from '../base.js';
import { runDriverConformance } from '../testsuite/conformance.js';
import { InMemoryBackend, InMemoryDriver } from './driver.js';

runDriverConformance('inmemory', async () => {
  const backend = new InMemoryBackend();
  return {
    store: withBase(new InMemoryDriver(backend)),
    reopen: async () => withBase(new InMemoryDriver(backend)),
    leftovers: async () => [...backend.objects.keys(), ...[...backend.pending.keys()].map((id) => `pending:${id}`)],
    cleanup: async () => undefined,
  };
});
