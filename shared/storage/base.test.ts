import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { withBase } from './base.js';
import { DriverError, InvalidKeyError, NotFoundError, type BlobWriter, type WriterState } from './driver.js';
import { InMemoryDriver } from './inmemory/driver.js';
import { isValidKey, isValidPrefix } from './keys.js';

describe('key validation', () => {
  it('accepts relative keys of [A-Za-z0-9._-] segments', () => {
    for (const k of ['a', 'a/b', 'blobs/sha256/ab/abcdef/data', '.hidden', 'a..b', '...', 'A-Z_0.9', 'x'.repeat(1024)]) {
      assert.ok(isValidKey(k), k);
    }
  });

  it('rejects everything else', () => {
    const bad = ['', '/', '/a', 'a/', 'a//b', '.', '..', './a', 'a/.', '../x', 'a/../b', 'a b', 'a\\b', 'a:b', 'é', 'a\0b', 'x'.repeat(1025)];
    for (const k of bad) assert.equal(isValidKey(k), false, JSON.stringify(k));
  });

  it('prefixes follow the key rules; the root only where allowed', () => {
    assert.ok(isValidPrefix('', true));
    assert.equal(isValidPrefix('', false), false);
    assert.ok(isValidPrefix('a/b', false));
    assert.equal(isValidPrefix('a/b/', true), false);
    assert.equal(isValidPrefix('/a', true), false);
  });
});

/** An in-memory driver whose chosen methods misbehave, to observe what the wrapper does around them. */
class Probe extends InMemoryDriver {
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  failWith: unknown;

  override async stat(key: string) {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 5));
      if (this.failWith !== undefined) throw this.failWith;
      return await super.stat(key);
    } finally {
      this.inFlight--;
    }
  }
}

describe('withBase', () => {
  it('rejects invalid keys before reaching the driver', async () => {
    const probe = new Probe();
    const store = withBase(probe);
    await assert.rejects(store.stat('../etc/passwd'), (err: unknown) => {
      assert.ok(err instanceof InvalidKeyError);
      assert.equal(err.driver, 'inmemory');
      assert.equal(err.key, '../etc/passwd');
      return true;
    });
    assert.equal(probe.calls, 0);
    await assert.rejects(store.delete(''), InvalidKeyError);
    assert.throws(() => store.list('a/'), InvalidKeyError);
    assert.throws(() => store.list('a', { startAfter: '/x' }), InvalidKeyError);
    assert.doesNotThrow(() => store.list(''));
  });

  it('keeps typed errors and aborts, wraps anything else in DriverError with its cause', async () => {
    const probe = new Probe();
    const store = withBase(probe);
    await assert.rejects(store.stat('missing'), NotFoundError);
    const boom = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    probe.failWith = boom;
    await assert.rejects(store.stat('k'), (err: unknown) => {
      assert.ok(err instanceof DriverError);
      assert.equal(err.cause, boom);
      assert.equal(err.key, 'k');
      assert.match(err.message, /inmemory: .*socket hang up \(k\)/);
      return true;
    });
    probe.failWith = 'a string';
    await assert.rejects(store.stat('k'), DriverError);
    probe.failWith = new DOMException('aborted', 'AbortError');
    await assert.rejects(store.stat('k'), (err: Error) => err.name === 'AbortError');
  });

  it('normalises errors raised while a read streams', async () => {
    const driver = new InMemoryDriver();
    driver.read = async () =>
      new Readable({
        read() {
          this.destroy(new Error('connection reset mid-body'));
        },
      });
    const stream = await withBase(driver).read('k');
    await assert.rejects(
      (async () => {
        for await (const _ of stream) void _;
      })(),
      DriverError,
    );
  });

  it('caps concurrent calls', async () => {
    const probe = new Probe();
    const store = withBase(probe, { maxConcurrency: 3 });
    await probe.writeSmall('k', new Uint8Array(1));
    await Promise.all(Array.from({ length: 12 }, () => store.stat('k')));
    assert.equal(probe.maxInFlight, 3);
  });

  it('logs timings through a pino-style logger', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const store = withBase(new InMemoryDriver(), { logger: { debug: (obj) => void lines.push(obj) } });
    await store.writeSmall('k', new Uint8Array(3));
    await assert.rejects(store.stat('nope'));
    assert.equal(lines.length, 2);
    assert.equal(lines[0]?.['op'], 'writeSmall');
    assert.equal(typeof lines[0]?.['ms'], 'number');
    assert.equal(lines[1]?.['err'], 'NotFoundError');
  });

  it('serialises writer calls and allows only suspend or cancel after a failed write', async () => {
    const driver = new InMemoryDriver();
    let active = 0;
    let overlapped = false;
    let failNext = false;
    const calls: string[] = [];
    driver.openWriter = async (): Promise<BlobWriter> => ({
      size: 0,
      async write() {
        active++;
        if (active > 1) overlapped = true;
        await new Promise((r) => setTimeout(r, 2));
        active--;
        calls.push('write');
        if (failNext) throw new Error('disk full');
      },
      async suspend(): Promise<WriterState> {
        calls.push('suspend');
        return { driver: 'x', size: 0 };
      },
      async commit() {
        calls.push('commit');
      },
      async cancel() {
        calls.push('cancel');
      },
    });
    const store = withBase(driver);
    const w = await store.openWriter('k');
    await Promise.all([w.write(new Uint8Array(1)), w.write(new Uint8Array(1)), w.write(new Uint8Array(1))]);
    assert.equal(overlapped, false);
    failNext = true;
    await assert.rejects(w.write(new Uint8Array(1)), DriverError);
    await assert.rejects(w.write(new Uint8Array(1)), DriverError);
    await assert.rejects(w.commit(), DriverError);
    await w.cancel();
    await assert.rejects(w.write(new Uint8Array(1)), /already cancelled/);
    assert.deepEqual(calls, ['write', 'write', 'write', 'write', 'cancel']);
    const w2 = await store.openWriter('k');
    await assert.rejects(w2.write(new Uint8Array(1)), DriverError);
    await w2.suspend();
    await assert.rejects(w2.cancel(), /already suspended/);
  });
});

describe('withBase sweepScratch', () => {
  it('refuses an invalid cutoff before reaching the driver and normalises driver failures', async () => {
    const driver = new InMemoryDriver();
    let calls = 0;
    driver.sweepScratch = async () => {
      calls++;
      throw new Error('listing failed');
    };
    const store = withBase(driver);
    await assert.rejects(store.sweepScratch(new Date(Number.NaN)), TypeError);
    await assert.rejects(store.sweepScratch('2024-01-01' as unknown as Date), TypeError);
    assert.equal(calls, 0);
    await assert.rejects(store.sweepScratch(new Date()), DriverError);
    await assert.rejects(store.sweepScratch(new Date(), { signal: AbortSignal.abort() }), (err: Error) => err.name === 'AbortError');
    assert.equal(calls, 1);
  });
});
