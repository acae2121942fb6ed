/**
 * Mixed push/pull load through the front, as clients of every region (node:http from the region's client address,
 * 127.0.<n>.1, so the front places each request by source address). Pushes are monolithic blob uploads
 * (`POST /v2/<repo>/blobs/uploads/?digest=`) of random bytes; pulls fetch a random blob whose push was
 * acknowledged (by any region's client) and check its bytes. Every request's outcome is kept with timestamps, and
 * every acknowledged push with the digest and a hash of the bytes sent, so a drill can read them all back later.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request } from '../local/http-request.js';
import { sleep } from '../local/processes.js';

export interface LoadClient {
  region: string;
  /** Source address the front maps to the region, e.g. 127.0.2.1. */
  address: string;
}

export interface Outcome {
  op: 'push' | 'pull';
  /** The client's region. */
  region: string;
  /** Epoch ms at start and end. */
  start: number;
  end: number;
  ok: boolean;
  status: number;
  /** X-Wharf-Served-Region of the answer. */
  served?: string;
  digest?: string;
  error?: string;
}

export interface AckedPush {
  digest: string;
  /** sha256 of the bytes sent, computed apart from the digest the client announced. */
  bytesHash: string;
  size: number;
  repo: string;
  region: string;
  /** Epoch ms the 201 arrived. */
  at: number;
}

export interface LoadOptions {
  front: string;
  clients: LoadClient[];
  /** Repository pushed to and pulled from, e.g. prod/drill-<id> (namespace prod: synchronous replication). */
  repo: string;
  /** Concurrent workers per region; default 2. */
  workersPerRegion?: number;
  /** Share of requests that are pushes once something was pushed; default 0.35. */
  pushShare?: number;
  /** Blob sizes, bytes; default 2 KiB to 96 KiB. */
  minSize?: number;
  maxSize?: number;
  /** Pause between one worker's requests, ms; default 25. */
  pauseMs?: number;
  /** Per-request timeout, ms; default 20 s. */
  timeoutMs?: number;
}

export const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export class Load {
  readonly outcomes: Outcome[] = [];
  readonly acked: AckedPush[] = [];
  private running = false;
  private workers: Promise<void>[] = [];
  startedAt = 0;
  stoppedAt = 0;

  constructor(private readonly opts: LoadOptions) {}

  start(): void {
    this.running = true;
    this.startedAt = Date.now();
    const n = this.opts.workersPerRegion ?? 2;
    for (const c of this.opts.clients) for (let i = 0; i < n; i++) this.workers.push(this.worker(c));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.stoppedAt = Date.now();
  }

  private async worker(client: LoadClient): Promise<void> {
    const pushShare = this.opts.pushShare ?? 0.35;
    while (this.running) {
      const push = this.acked.length < 3 || Math.random() < pushShare;
      this.outcomes.push(push ? await this.push(client) : await this.pull(client, this.acked[Math.floor(Math.random() * this.acked.length)]!));
      await sleep(this.opts.pauseMs ?? 25);
    }
  }

  private async push(client: LoadClient): Promise<Outcome> {
    const min = this.opts.minSize ?? 2048;
    const max = this.opts.maxSize ?? 96 * 1024;
    const data = randomBytes(min + Math.floor(Math.random() * (max - min + 1)));
    const digest = sha256(data);
    const bytesHash = createHash('sha256').update(data).digest('base64');
    const start = Date.now();
    try {
      const r = await request(`${this.opts.front}/v2/${this.opts.repo}/blobs/uploads/?digest=${digest}`, {
        method: 'POST', body: data, headers: { 'Content-Type': 'application/octet-stream' }, localAddress: client.address, timeoutMs: this.opts.timeoutMs ?? 20_000,
      });
      const end = Date.now();
      const ok = r.status === 201;
      if (ok) this.acked.push({ digest, bytesHash, size: data.length, repo: this.opts.repo, region: client.region, at: end });
      return { op: 'push', region: client.region, start, end, ok, status: r.status, served: r.header('x-wharf-served-region'), digest, ...(ok ? {} : { error: r.text().slice(0, 300) }) };
    } catch (err) {
      return { op: 'push', region: client.region, start, end: Date.now(), ok: false, status: 0, digest, error: (err as Error).message };
    }
  }

  private async pull(client: LoadClient, blob: AckedPush): Promise<Outcome> {
    const start = Date.now();
    const r = await readBlob(this.opts.front, client.address, blob, this.opts.timeoutMs ?? 20_000);
    return { op: 'pull', region: client.region, start, end: Date.now(), ...r, digest: blob.digest };
  }
}

/** GET the blob through the front from `address`; ok when 200 and the bytes hash to what was pushed. */
export async function readBlob(front: string, address: string, blob: AckedPush, timeoutMs = 20_000): Promise<{ ok: boolean; status: number; served?: string; error?: string }> {
  try {
    const r = await request(`${front}/v2/${blob.repo}/blobs/${blob.digest}`, { localAddress: address, timeoutMs });
    const served = r.header('x-wharf-served-region');
    if (r.status !== 200) return { ok: false, status: r.status, ...(served ? { served } : {}), error: r.text().slice(0, 300) };
    const hash = createHash('sha256').update(r.body).digest('base64');
    if (hash !== blob.bytesHash) return { ok: false, status: r.status, ...(served ? { served } : {}), error: `wrong bytes (${r.body.length} of ${blob.size})` };
    return { ok: true, status: 200, ...(served ? { served } : {}) };
  } catch (err) {
    return { ok: false, status: 0, error: (err as Error).message };
  }
}

/** Runs `fn` over `items` with at most `n` at once. */
export async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}
