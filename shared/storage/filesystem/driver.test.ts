import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withBase } from '../base.js';
import { runDriverConformance } from '../testsuite/conformance.js';
import { createFilesystemDriver } from './driver.js';

runDriverConformance('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-fs-'));
  const open = async () => withBase(await createFilesystemDriver({ root }));
  return {
    store: await open(),
    reopen: open,
    // Every file under the root, ~tmp included, so leaked temp files fail the suite.
    leftovers: async () =>
      (await readdir(root, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
        .sort(),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
