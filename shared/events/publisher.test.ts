import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { digestOf } from '../oci/index.js';
import {
  EventBusClosedError,
  EventBusUnavailableError,
  outcome,
  publishSafely,
  retryDelayMs,
  type EventBus,
  type EventInput,
  type EventLogger,
} from './index.js';
import { recordingLogger, type LogRecord } from './testsuite/bus-conformance.js';

const input: EventInput = { type: 'wharf.blob.deleted.v1', data: { region: 'eu', digest: digestOf('x') } };

function flakyBus(failures: Error[]): EventBus & { calls: number } {
  return {
    calls: 0,
    async publish() {
      this.calls++;
      const err = failures.shift();
      if (err) throw err;
    },
    subscribe: () => Promise.reject(new Error('unused')),
    health: async () => ({ ok: true }),
    close: async () => {},
  };
}

describe('publishSafely', () => {
  it('returns true on success', async () => {
    const bus = flakyBus([]);
    assert.equal(await publishSafely(bus, input, recordingLogger([])), true);
    assert.equal(bus.calls, 1);
  });

  it('retries transient failures a bounded number of times', async () => {
    const logs: LogRecord[] = [];
    const bus = flakyBus([new EventBusUnavailableError('down'), new Error('timeout')]);
    assert.equal(await publishSafely(bus, input, recordingLogger(logs), { retryDelayMs: 1 }), true);
    assert.equal(bus.calls, 3);
    assert.equal(logs.filter((l) => l.level === 'warn').length, 2);
  });

  it('never throws: gives up after the last attempt and logs the event id', async () => {
    const logs: LogRecord[] = [];
    const bus = flakyBus(Array.from({ length: 10 }, () => new Error('down')));
    assert.equal(await publishSafely(bus, input, recordingLogger(logs), { attempts: 4, retryDelayMs: 1 }), false);
    assert.equal(bus.calls, 4);
    const last = logs.at(-1);
    assert.equal(last?.level, 'error');
    assert.equal((last?.obj as { eventId: string }).eventId, `blob-del:eu:${digestOf('x')}`);
  });

  it('does not retry a closed bus or an invalid event', async () => {
    const closed = flakyBus([new EventBusClosedError('closed'), new Error('x')]);
    assert.equal(await publishSafely(closed, input, recordingLogger([]), { retryDelayMs: 1 }), false);
    assert.equal(closed.calls, 1);
  });
});

describe('outcomes and retry schedule', () => {
  it('builds outcomes', () => {
    assert.deepEqual(outcome.ack(), { type: 'ack' });
    assert.deepEqual(outcome.nak(-5), { type: 'nak', delayMs: 0 });
    assert.deepEqual(outcome.nak(10.4), { type: 'nak', delayMs: 10 });
    assert.deepEqual(outcome.term('gone'), { type: 'term', reason: 'gone' });
  });

  it('grows the retry delay with the delivery count, capped', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 50].map(retryDelayMs), [1_000, 1_000, 5_000, 15_000, 60_000, 300_000, 300_000]);
  });

  it('accepts a pino logger as EventLogger', () => {
    const log: EventLogger = pino({ level: 'silent' });
    log.info({ a: 1 }, 'typed');
  });
});
