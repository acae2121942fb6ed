/**
 * Where JetStream tests connect: WHARF_TEST_NATS_URL, else the shared dev server on 127.0.0.1:4222, else (when
 * that is not running) a private single nats-server started for this test process, so the suite needs no setup.
 * Tests isolate themselves with a unique subject prefix and delete their stream when done.
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { startNatsCluster, type NatsCluster } from './nats-cluster.js';

export interface TestNats {
  url: string;
  /** Stops the private server if this call started one; no-op for a shared server. */
  release(): Promise<void>;
}

const DEFAULT_URL = 'nats://127.0.0.1:4222';

export async function testNats(): Promise<TestNats> {
  const url = process.env.WHARF_TEST_NATS_URL ?? DEFAULT_URL;
  if (await reachable(url)) return { url, release: async () => {} };
  if (process.env.WHARF_TEST_NATS_URL) throw new Error(`WHARF_TEST_NATS_URL=${url} is not reachable`);
  const own: NatsCluster = await startNatsCluster({ size: 1, name: 'wharf-test-single' });
  return { url: own.urls[0] as string, release: () => own.stop() };
}

/** A subject prefix no other test run uses: "wharftest" + 8 hex (stream WHARFTEST<HEX>). */
export function uniqueEventPrefix(): string {
  return `wharftest${randomBytes(4).toString('hex')}`;
}

function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = tcpConnect({ host: u.hostname, port: Number(u.port || 4222) });
    s.setTimeout(1_000, () => { s.destroy(); resolve(false); });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}
