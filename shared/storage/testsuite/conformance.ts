import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Writable, type Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import {
  InvalidKeyError,
  InvalidOffsetError,
  NotFoundError,
  StorageError,
  TooLargeError,
  type BlobStore,
  type BlobWriter,
  type WriterState,
} from '../driver.js';
import { prngBytes, prngSha256, sha256OfStream } from './prng.js';

/** What a driver's test file hands the suite; one fresh, empty store per test. */
export interface DriverHarness {
  store: BlobStore;
  /** A second, independent instance over the same backing storage: "another process" resuming a writer. */
  reopen(): Promise<BlobStore>;
  /**
   * Optional introspection: everything the backend holds for this store, hidden temp files, suspended
   * writer state and in-progress multipart uploads included. Lets the suite prove cancel/commit leave no trash.
   */
  leftovers?(): Promise<string[]>;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

async function listAll(store: BlobStore, prefix: string, startAfter?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of store.list(prefix, startAfter === undefined ? {} : { startAfter })) out.push(k);
  return out;
}

/** Writes `sizes` chunks of the seed's stream starting at `offset`; returns the new offset. */
async function writePrng(w: BlobWriter, seed: number, offset: number, sizes: number[]): Promise<number> {
  let at = offset;
  for (const n of sizes) {
    await w.write(prngBytes(seed, at, n));
    at += n;
    assert.equal(w.size, at);
  }
  return at;
}

/** The state as it comes back from a Postgres jsonb column. */
function viaJson(state: WriterState): WriterState {
  return JSON.parse(JSON.stringify(state)) as WriterState;
}

async function assertContent(store: BlobStore, key: string, seed: number, size: number): Promise<void> {
  assert.equal((await store.stat(key)).size, size);
  const got = await sha256OfStream(await store.read(key));
  assert.equal(got.size, size);
  assert.equal(got.sha256, prngSha256(seed, 0, size), `content of ${key}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function poolMap<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function runDriverConformance(name: string, makeDriver: () => Promise<DriverHarness>): void {
  describe(`storage conformance: ${name}`, () => {
    let h: DriverHarness;
    let store: BlobStore;
    const reopened: BlobStore[] = [];
    const reopen = async (): Promise<BlobStore> => {
      const s = await h.reopen();
      reopened.push(s);
      return s;
    };

    beforeEach(async () => {
      h = await makeDriver();
      store = h.store;
    });
    afterEach(async () => {
      for (const s of reopened.splice(0)) await s.close?.();
      await h.cleanup();
    });

    it('writeSmall / readSmall / stat round-trip, replace and empty objects', async () => {
      const before = Date.now();
      await store.writeSmall('small/a', enc('hello'));
      assert.deepEqual(Buffer.from(await store.readSmall('small/a')), Buffer.from('hello'));
      const info = await store.stat('small/a');
      assert.equal(info.key, 'small/a');
      assert.equal(info.size, 5);
      assert.ok(info.modifiedAt instanceof Date);
      assert.ok(Math.abs(info.modifiedAt.getTime() - before) < 120_000, 'modifiedAt is about now');

      await store.writeSmall('small/a', enc('replaced!'));
      assert.equal(Buffer.from(await store.readSmall('small/a')).toString(), 'replaced!');

      // The caller may reuse its buffer at once.
      const buf = enc('mutable');
      await store.writeSmall('small/m', buf);
      buf.fill(0);
      assert.equal(Buffer.from(await store.readSmall('small/m')).toString(), 'mutable');

      await store.writeSmall('small/empty', new Uint8Array(0));
      assert.equal((await store.stat('small/empty')).size, 0);
      assert.equal((await store.readSmall('small/empty')).byteLength, 0);
      assert.equal((await bytesOf(await store.read('small/empty'))).length, 0);
    });

    it('readSmall refuses objects above maxBytes', async () => {
      await store.writeSmall('big/eleven', enc('01234567890'));
      await assert.rejects(store.readSmall('big/eleven', { maxBytes: 10 }), TooLargeError);
      assert.equal((await store.readSmall('big/eleven', { maxBytes: 11 })).byteLength, 11);
      await store.writeSmall('big/default', new Uint8Array(4 * MiB + 1));
      await assert.rejects(store.readSmall('big/default'), TooLargeError, 'default limit is 4 MiB');
    });

    it('read: whole, offset, offset+length, clipped length, offset == size, offset > size', async () => {
      const data = prngBytes(1, 0, 1000);
      await store.writeSmall('r/x', data);
      assert.deepEqual(await bytesOf(await store.read('r/x')), data);
      assert.deepEqual(await bytesOf(await store.read('r/x', { offset: 10 })), data.subarray(10));
      assert.deepEqual(await bytesOf(await store.read('r/x', { offset: 10, length: 20 })), data.subarray(10, 30));
      assert.deepEqual(await bytesOf(await store.read('r/x', { offset: 990, length: 50 })), data.subarray(990));
      assert.deepEqual(await bytesOf(await store.read('r/x', { offset: 0, length: 0 })), Buffer.alloc(0));
      assert.equal((await bytesOf(await store.read('r/x', { offset: 1000 }))).length, 0);
      assert.equal((await bytesOf(await store.read('r/x', { offset: 1000, length: 5 }))).length, 0);
      await assert.rejects(store.read('r/x', { offset: 1001 }), InvalidOffsetError);
      await assert.rejects(store.read('r/x', { offset: 5000, length: 1 }), InvalidOffsetError);
      await assert.rejects(store.read('r/x', { offset: -1 }), InvalidOffsetError);
      await store.writeSmall('r/empty', new Uint8Array(0));
      assert.equal((await bytesOf(await store.read('r/empty', { offset: 0, length: 10 }))).length, 0);
      await assert.rejects(store.read('r/empty', { offset: 1 }), InvalidOffsetError);
    });

    it('copyTo: whole object, ranges across buffer boundaries, slow destination, missing key, torn-down destination', { timeout: 60_000 }, async () => {
      const size = 5 * MiB + 12345;
      const w = await store.openWriter('c/x');
      await writePrng(w, 7, 0, [size]);
      await w.commit();
      const collect = () => {
        const chunks: Buffer[] = [];
        // Like a socket, this destination reads the chunk only when it completes the write, a little later; a
        // driver that refills a buffer before the write's callback corrupts what arrives.
        const dest = new Writable({
          highWaterMark: 1,
          write(chunk: Buffer, _e, cb) {
            setTimeout(() => {
              chunks.push(Buffer.from(chunk));
              cb();
            }, 2);
          },
        });
        // The caller ends the destination after copyTo, as an HTTP handler ends its response.
        const bytes = async () => {
          dest.end();
          await once(dest, 'finish');
          return Buffer.concat(chunks);
        };
        return { dest, bytes };
      };
      const whole = collect();
      assert.equal(await store.copyTo('c/x', whole.dest), size);
      assert.equal(createHash('sha256').update(await whole.bytes()).digest('hex'), prngSha256(7, 0, size));
      for (const [offset, length] of [[2 * MiB - 3, 2 * MiB + 10], [size - 5, 100], [0, 1], [size, 10]] as const) {
        const part = collect();
        const expected = Math.max(0, Math.min(length, size - offset));
        assert.equal(await store.copyTo('c/x', part.dest, { offset, length }), expected);
        assert.deepEqual(await part.bytes(), prngBytes(7, offset, expected));
      }
      await assert.rejects(store.copyTo('c/missing', collect().dest), NotFoundError);
      await assert.rejects(store.copyTo('c/x', collect().dest, { offset: size + 1 }), InvalidOffsetError);
      let writes = 0;
      const dying = new Writable({
        write(_c, _e, cb) {
          if (++writes === 2) this.destroy(new Error('client went away'));
          else cb();
        },
      });
      dying.on('error', () => {});
      await assert.rejects(store.copyTo('c/x', dying));
    });

    it('NotFoundError from every operation on a missing key', async () => {
      await store.writeSmall('nf/other', enc('x'));
      await assert.rejects(store.stat('nf/missing'), NotFoundError);
      await assert.rejects(store.read('nf/missing'), NotFoundError);
      await assert.rejects(store.read('nf/missing', { offset: 3, length: 2 }), NotFoundError);
      await assert.rejects(store.readSmall('nf/missing'), NotFoundError);
      await assert.rejects(store.move('nf/missing', 'nf/to'), NotFoundError);
      await assert.rejects(store.stat('nf/to'), NotFoundError);
      // A "directory" is not an object.
      await store.writeSmall('nf/dir/child', enc('x'));
      await assert.rejects(store.stat('nf/dir'), NotFoundError);
      await assert.rejects(store.read('nf/dir'), NotFoundError);
      await store.delete('nf/missing');
      assert.deepEqual(await listAll(store, 'nf/nothing'), []);
      await assert.rejects(
        store.openWriter('nf/w', { resume: { driver: 'no-such-driver', size: 0 } }),
        StorageError,
        'a foreign resume state is refused',
      );
    });

    it('streams a multi-part sized object (40 MiB) and reads ranges across part boundaries', { timeout: 120_000 }, async () => {
      const size = 40 * MiB + 7;
      const sizes: number[] = [];
      const pattern = [MiB, 64 * 1024, 3, MiB + 17, 256 * 1024 - 1, 2 * MiB + 5];
      for (let total = 0, i = 0; total < size; i++) {
        const n = Math.min(pattern[i % pattern.length] as number, size - total);
        sizes.push(n);
        total += n;
      }
      const w = await store.openWriter('stream/big');
      assert.equal(w.size, 0);
      await writePrng(w, 2, 0, sizes);
      await w.commit();
      await assertContent(store, 'stream/big', 2, size);
      for (const offset of [0, 5 * MiB - 3, 8 * MiB - 1, 16 * MiB - 10, size - 10]) {
        const got = await bytesOf(await store.read('stream/big', { offset, length: 20 }));
        assert.deepEqual(got, prngBytes(2, offset, Math.min(20, size - offset)), `range at ${offset}`);
      }
      const tail = await sha256OfStream(await store.read('stream/big', { offset: 16 * MiB + 1 }));
      assert.equal(tail.sha256, prngSha256(2, 16 * MiB + 1, size - 16 * MiB - 1));
      // A large move exercises the backend's big-object copy path where there is one.
      await store.move('stream/big', 'stream/moved');
      await assert.rejects(store.stat('stream/big'), NotFoundError);
      await assertContent(store, 'stream/moved', 2, size);
    });

    it('a writer is invisible until commit, then replaces the existing object', async () => {
      await store.writeSmall('inv/key', enc('old'));
      const w = await store.openWriter('inv/key');
      await writePrng(w, 3, 0, [1000, 5000]);
      assert.equal(Buffer.from(await store.readSmall('inv/key')).toString(), 'old');
      const w2 = await store.openWriter('inv/new');
      await writePrng(w2, 3, 0, [10]);
      await assert.rejects(store.stat('inv/new'), NotFoundError);
      assert.deepEqual(await listAll(store, ''), ['inv/key']);
      assert.deepEqual(await listAll(store, 'inv'), ['inv/key']);
      await w.commit();
      await w2.commit();
      await assertContent(store, 'inv/key', 3, 6000);
      await assertContent(store, 'inv/new', 3, 10);
      await assert.rejects(w.write(enc('late')), 'a committed writer is unusable');
      if (h.leftovers) assert.deepEqual((await h.leftovers()).sort(), ['inv/key', 'inv/new']);
    });

    it('an empty writer commits an empty object', async () => {
      const w = await store.openWriter('empty/w');
      await w.commit();
      assert.equal((await store.stat('empty/w')).size, 0);
    });

    it('suspend + resume in another process, across part boundaries; stale states stay resumable', { timeout: 120_000 }, async () => {
      const key = 'resume/blob';
      // Session boundaries straddle a 5 MiB part size (the S3 minimum) and multiples of it.
      const sessions: number[][] = [
        [1],
        [7, 100],
        [5 * MiB - 108],
        [1],
        [5 * MiB + 1, 2],
        [],
        [3 * MiB, 3 * MiB, 65536],
        [3],
      ];
      const stores = [store, await reopen(), await reopen()];
      let state: WriterState | undefined;
      let offset = 0;
      for (const [i, sizes] of sessions.entries()) {
        const s = stores[i % stores.length] as BlobStore;
        if (i === 4 && state) {
          // A process that resumed, wrote past a part boundary and suspended, but whose new state was never
          // recorded (crash before the DB update): the older state must still resume correctly.
          const ghost = await s.openWriter(key, { resume: viaJson(state) });
          await writePrng(ghost, 99, offset, [6 * MiB + 3]);
          await ghost.suspend();
        }
        const w = state ? await s.openWriter(key, { resume: viaJson(state) }) : await s.openWriter(key);
        assert.equal(w.size, offset);
        offset = await writePrng(w, 4, offset, sizes);
        if (i === sessions.length - 1) {
          await w.commit();
        } else {
          state = await w.suspend();
          assert.equal(state.size, offset);
          assert.deepEqual(viaJson(state), state, 'state is plain JSON');
          await assert.rejects(store.stat(key), NotFoundError);
          assert.deepEqual(await listAll(store, ''), []);
        }
      }
      await assertContent(stores[1] as BlobStore, key, 4, offset);
      await assertContent(store, key, 4, offset);
      if (h.leftovers) assert.deepEqual(await h.leftovers(), [key], 'commit leaves no temp state');
    });

    it('work by a writer whose state was never recorded is discarded on commit and on cancel', { timeout: 60_000 }, async () => {
      for (const finish of ['commit', 'cancel'] as const) {
        const key = `ghost/${finish}`;
        const w = await store.openWriter(key);
        await writePrng(w, 6, 0, [100]);
        const recorded = viaJson(await w.suspend());
        // Resumed elsewhere, wrote past a part boundary, suspended — and crashed before storing its state.
        const ghost = await (await reopen()).openWriter(key, { resume: recorded });
        await writePrng(ghost, 66, 100, [6 * MiB + 1]);
        await ghost.suspend();
        const real = await store.openWriter(key, { resume: viaJson(recorded) });
        await writePrng(real, 6, 100, [6 * MiB]);
        await real[finish]();
      }
      await assertContent(store, 'ghost/commit', 6, 6 * MiB + 100);
      await assert.rejects(store.stat('ghost/cancel'), NotFoundError);
      if (h.leftovers) assert.deepEqual(await h.leftovers(), ['ghost/commit']);
    });

    it('cancel discards everything, suspended parts included', { timeout: 60_000 }, async () => {
      const w0 = await store.openWriter('cancel/a');
      await w0.cancel();
      const w1 = await store.openWriter('cancel/b');
      await writePrng(w1, 5, 0, [100]);
      const s1 = await w1.suspend();
      const other = await reopen();
      const w2 = await other.openWriter('cancel/b', { resume: viaJson(s1) });
      await writePrng(w2, 5, 100, [6 * MiB]);
      const s2 = await w2.suspend();
      const w3 = await store.openWriter('cancel/b', { resume: viaJson(s2) });
      await writePrng(w3, 5, w3.size, [1000]);
      await w3.cancel();
      await assert.rejects(store.stat('cancel/b'), NotFoundError);
      await assert.rejects(store.stat('cancel/a'), NotFoundError);
      assert.deepEqual(await listAll(store, ''), []);
      if (h.leftovers) assert.deepEqual(await h.leftovers(), []);
    });

    it('sweepScratch removes the scratch of writers whose state was lost, never committed objects', { timeout: 60_000 }, async () => {
      await store.writeSmall('sweep/small', enc('kept'));
      const big = await store.openWriter('sweep/big');
      await writePrng(big, 30, 0, [6 * MiB + 5]);
      await big.commit();
      const committed = ['sweep/big', 'sweep/small'];
      assert.equal((await store.sweepScratch(new Date(Date.now() + 1000))).removed, 0, 'nothing to sweep yet');

      // Writers of a process that crashed before their states were recorded: past a part boundary (a
      // multipart upload, its marker and a tail on S3), below one (a tail only), and a resumed one whose
      // newer state was lost too (what it wrote lands next to what the recorded state holds).
      const other = await reopen();
      const lost: WriterState[] = [];
      const a = await other.openWriter('sweep/lost-a');
      await writePrng(a, 31, 0, [6 * MiB + 100]);
      lost.push(viaJson(await a.suspend()));
      const b = await other.openWriter('sweep/lost-b');
      await writePrng(b, 32, 0, [100]);
      lost.push(viaJson(await b.suspend()));
      const c = await other.openWriter('sweep/lost-c');
      await writePrng(c, 33, 0, [200]);
      const recorded = viaJson(await c.suspend());
      const ghost = await store.openWriter('sweep/lost-c', { resume: recorded });
      await writePrng(ghost, 33, 200, [6 * MiB]);
      await ghost.suspend();
      lost.push(recorded);

      const before = h.leftovers ? (await h.leftovers()).sort() : undefined;
      if (before) assert.ok(before.length > committed.length, `the lost writers left scratch: ${before.join(', ')}`);
      const { removed } = await store.sweepScratch(new Date(Date.now() + 1000));
      assert.ok(removed > 0, 'removed counts what went');
      if (before) {
        assert.equal(removed, before.length - committed.length, 'removed counts every temp file, scratch object and upload');
        assert.deepEqual((await h.leftovers!()).sort(), committed, 'only committed objects are left');
      }
      assert.deepEqual(await listAll(store, ''), committed);
      await assertContent(store, 'sweep/big', 30, 6 * MiB + 5);
      assert.equal(Buffer.from(await store.readSmall('sweep/small')).toString(), 'kept');
      for (const state of lost) {
        await assert.rejects(store.openWriter(String(state['key']), { resume: viaJson(state) }), StorageError, 'a swept state is gone');
      }
      assert.equal((await store.sweepScratch(new Date(Date.now() + 1000))).removed, 0, 'a second sweep finds nothing');
    });

    it('sweepScratch spares scratch newer than the cutoff: live writers resume and commit', { timeout: 60_000 }, async () => {
      // Old: a writer whose state was lost.
      const old = await (await reopen()).openWriter('spare/old');
      await writePrng(old, 40, 0, [6 * MiB + 1]);
      const oldState = viaJson(await old.suspend());
      const oldScratch = h.leftovers ? (await h.leftovers()).sort() : undefined;
      // Storage timestamps may be whole seconds (S3), so keep well clear of the cutoff on both sides.
      await sleep(1500);
      const cutoff = new Date();
      await sleep(1500);

      // Young: a suspended writer (whose state is in the database) and one still writing.
      const live = await store.openWriter('spare/live');
      await writePrng(live, 41, 0, [6 * MiB + 7]);
      const liveState = viaJson(await live.suspend());
      const open = await store.openWriter('spare/open');
      await writePrng(open, 42, 0, [300]);

      const before = h.leftovers ? (await h.leftovers()).sort() : undefined;
      const { removed } = await store.sweepScratch(cutoff);
      assert.ok(removed > 0, 'the old writer was swept');
      if (before && oldScratch) {
        assert.equal(removed, oldScratch.length);
        assert.deepEqual((await h.leftovers!()).sort(), before.filter((k) => !oldScratch.includes(k)), 'only the old scratch went');
      }
      await assert.rejects(store.openWriter('spare/old', { resume: oldState }), StorageError);
      assert.equal((await store.sweepScratch(new Date(cutoff.getTime() - 60_000))).removed, 0, 'an earlier cutoff sweeps nothing');

      const resumed = await (await reopen()).openWriter('spare/live', { resume: liveState });
      assert.equal(resumed.size, 6 * MiB + 7);
      await writePrng(resumed, 41, 6 * MiB + 7, [1000]);
      await resumed.commit();
      await writePrng(open, 42, 300, [6 * MiB]);
      await open.commit();
      await assertContent(store, 'spare/live', 41, 6 * MiB + 1007);
      await assertContent(store, 'spare/open', 42, 6 * MiB + 300);
      if (h.leftovers) assert.deepEqual((await h.leftovers()).sort(), ['spare/live', 'spare/open']);
    });

    it('move renames, replaces an existing target and creates missing parents', async () => {
      await store.writeSmall('mv/src', enc('payload'));
      await store.move('mv/src', 'mv/deep/new/dir/dst');
      await assert.rejects(store.stat('mv/src'), NotFoundError);
      assert.equal(Buffer.from(await store.readSmall('mv/deep/new/dir/dst')).toString(), 'payload');
      await store.writeSmall('mv/target', enc('old'));
      await store.writeSmall('mv/other', enc('new'));
      await store.move('mv/other', 'mv/target');
      assert.equal(Buffer.from(await store.readSmall('mv/target')).toString(), 'new');
      assert.deepEqual(await listAll(store, 'mv'), ['mv/deep/new/dir/dst', 'mv/target']);
      await store.move('mv/target', 'mv/target');
      assert.equal(Buffer.from(await store.readSmall('mv/target')).toString(), 'new', 'moving onto itself keeps it');
    });

    it('delete: a key, a prefix recursively (as a directory), a missing key', async () => {
      const keys = ['d/a/b/c', 'd/a/b/d/e', 'd/a/b/d/f/g', 'd/a/bc/f', 'd/a/b-x', 'd/x'];
      for (const k of keys) await store.writeSmall(k, enc(k));
      await store.delete('d/a/b');
      assert.deepEqual(await listAll(store, 'd'), ['d/a/b-x', 'd/a/bc/f', 'd/x']);
      await store.delete('d/x');
      await assert.rejects(store.stat('d/x'), NotFoundError);
      await store.delete('d/x');
      await store.delete('d/a/b');
      await store.delete('d/a/bc/f/nothing/below');
      assert.deepEqual(await listAll(store, 'd'), ['d/a/b-x', 'd/a/bc/f']);
      await store.delete('d');
      assert.deepEqual(await listAll(store, ''), []);
      // Deleting leaves room to reuse names as either object or directory.
      await store.writeSmall('d/a/b', enc('now a file'));
      assert.deepEqual(await listAll(store, ''), ['d/a/b']);
    });

    it('list: lexical order, prefix as a directory, startAfter', async () => {
      const keys = ['z', 'a0', 'a/bc/d', 'a/b/d', 'a/b/c.d/e', 'a/b/c', 'a/b-x', 'a.b', 'a-c', '_z', 'A', '0'];
      for (const k of keys) await store.writeSmall(k, enc(k));
      const sorted = [...keys].sort();
      assert.deepEqual(await listAll(store, ''), sorted);
      assert.deepEqual(await listAll(store, 'a'), ['a/b-x', 'a/b/c', 'a/b/c.d/e', 'a/b/d', 'a/bc/d']);
      assert.deepEqual(await listAll(store, 'a/b'), ['a/b/c', 'a/b/c.d/e', 'a/b/d']);
      assert.deepEqual(await listAll(store, 'a/b/c'), [], 'an object is not a directory');
      assert.deepEqual(await listAll(store, 'a/bc'), ['a/bc/d']);
      assert.deepEqual(await listAll(store, 'nope'), []);
      assert.deepEqual(await listAll(store, 'a', 'a/b/c'), ['a/b/c.d/e', 'a/b/d', 'a/bc/d']);
      assert.deepEqual(await listAll(store, 'a', 'a/b'), ['a/b-x', 'a/b/c', 'a/b/c.d/e', 'a/b/d', 'a/bc/d']);
      assert.deepEqual(await listAll(store, 'a', 'a/b/zzz'), ['a/bc/d']);
      assert.deepEqual(await listAll(store, 'a', 'a/bb'), ['a/bc/d']);
      assert.deepEqual(await listAll(store, 'a', 'a/bc/d'), []);
      assert.deepEqual(await listAll(store, 'a', 'A'), ['a/b-x', 'a/b/c', 'a/b/c.d/e', 'a/b/d', 'a/bc/d']);
      assert.deepEqual(await listAll(store, '', 'a0'), ['z']);
      // Breaking out early must not leak or hang.
      for await (const k of store.list('')) {
        assert.equal(k, '0');
        break;
      }
    });

    it('list paginates over more than 1000 keys', { timeout: 60_000 }, async () => {
      const keys = Array.from({ length: 1100 }, (_, i) => `many/k${String(i).padStart(4, '0')}`);
      await poolMap(keys, 32, (k) => store.writeSmall(k, enc('1')));
      await store.writeSmall('many-after', enc('x'));
      await store.writeSmall('man/before', enc('x'));
      assert.deepEqual(await listAll(store, 'many'), keys);
      assert.deepEqual(await listAll(store, 'many', 'many/k0549'), keys.slice(550));
      assert.deepEqual(await listAll(store, 'many', 'many/k1098'), ['many/k1099']);
      assert.equal((await listAll(store, '')).length, 1102);
    });

    it('invalid keys are rejected with InvalidKeyError', async () => {
      const bad = ['../x', '/abs', 'a//b', '', 'a/', 'a/./b', 'a/../b', '.', 'a b', 'ä', 'a\\b', `${'x'.repeat(1025)}`];
      for (const k of bad) {
        const m = `key ${JSON.stringify(k.slice(0, 20))}`;
        await assert.rejects(async () => store.stat(k), InvalidKeyError, m);
        await assert.rejects(async () => store.read(k), InvalidKeyError, m);
        await assert.rejects(async () => store.readSmall(k), InvalidKeyError, m);
        await assert.rejects(async () => store.writeSmall(k, enc('x')), InvalidKeyError, m);
        await assert.rejects(async () => store.openWriter(k), InvalidKeyError, m);
        await assert.rejects(async () => store.move(k, 'ok'), InvalidKeyError, m);
        await assert.rejects(async () => store.move('ok', k), InvalidKeyError, m);
        await assert.rejects(async () => store.delete(k), InvalidKeyError, m);
        await assert.rejects(async () => store.presignGet(k, { expiresInSec: 60 }), InvalidKeyError, m);
        if (k !== '') await assert.rejects(async () => listAll(store, k), InvalidKeyError, m);
      }
      const long = `${'x'.repeat(200)}/${'y'.repeat(200)}`;
      await store.writeSmall(long, enc('long but valid'));
      assert.deepEqual(await listAll(store, ''), [long], 'the refused calls wrote nothing');
    });

    it('concurrent writers to different keys', { timeout: 60_000 }, async () => {
      const n = 6;
      const size = 6 * MiB + 123;
      const writers = await Promise.all(Array.from({ length: n }, (_, i) => store.openWriter(`conc/w${i}`)));
      await Promise.all(
        writers.map(async (w, i) => {
          for (let at = 0; at < size; ) {
            const len = Math.min(size - at, 256 * 1024 + i);
            await w.write(prngBytes(10 + i, at, len));
            at += len;
          }
          await w.commit();
        }),
      );
      for (let i = 0; i < n; i++) await assertContent(store, `conc/w${i}`, 10 + i, size);
    });

    it('presignGet returns null or a URL that plain fetch() can GET', async () => {
      const data = prngBytes(20, 0, 3000);
      await store.writeSmall('pre/obj', data);
      const url = await store.presignGet('pre/obj', { expiresInSec: 300 });
      if (url === null) return;
      assert.match(url, /^https?:\/\//);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), data);
    });

    it('an AbortSignal aborts a read stream and refuses to start a read', async () => {
      await store.writeSmall('abort/x', prngBytes(21, 0, 4 * MiB));
      const ac = new AbortController();
      const stream = await store.read('abort/x', { signal: ac.signal });
      const it = stream[Symbol.asyncIterator]();
      const first = await it.next();
      assert.equal(first.done, false);
      ac.abort();
      await assert.rejects(
        (async () => {
          for (;;) if ((await it.next()).done) break;
        })(),
        (err: Error) => err.name === 'AbortError',
      );
      assert.ok(stream.destroyed);
      await assert.rejects(store.read('abort/x', { signal: AbortSignal.abort() }), (err: Error) => err.name === 'AbortError');
      await assert.rejects(store.stat('abort/x', { signal: AbortSignal.abort() }), (err: Error) => err.name === 'AbortError');
    });
  });
}
