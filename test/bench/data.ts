// Deterministic blob generator for the benchmark.
//
// Blobs can be 5 GiB, so nothing here ever materialises a whole blob: a blob is
// described by {size, seed} and produced chunk by chunk, both for hashing (to know
// the digest before pushing) and for the request body. The same spec always yields
// the same bytes, so both registries receive byte-identical workloads.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

export interface BlobSpec {
  readonly size: number;
  readonly seed: number;
}

// 1 MiB chunks: big enough that per-chunk overhead (allocation, syscalls) is noise,
// small enough that the bench process's own footprint stays tiny.
export const CHUNK_SIZE = 1024 * 1024;

// mulberry32: tiny, fast, good enough to make incompressible-looking bytes.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const baseCache = new Map<number, Buffer>();

// One pseudo-random 1 MiB block per seed; every chunk of the blob is this block with
// its chunk index stamped into the first 8 bytes, so no two chunks are identical
// (a registry cannot benefit from block-level dedup) while generation stays a memcpy.
function baseBlock(seed: number): Buffer {
  let base = baseCache.get(seed);
  if (!base) {
    base = Buffer.allocUnsafe(CHUNK_SIZE);
    const next = mulberry32(seed * 2654435761);
    for (let i = 0; i < CHUNK_SIZE; i += 4) base.writeUInt32LE(next(), i);
    baseCache.set(seed, base);
  }
  return base;
}

function makeChunk(spec: BlobSpec, index: number): Buffer {
  const n = Math.min(CHUNK_SIZE, spec.size - index * CHUNK_SIZE);
  // A fresh buffer per chunk: the stream consumer may still hold earlier ones.
  const buf = Buffer.allocUnsafe(n);
  baseBlock(spec.seed).copy(buf, 0, 0, n);
  const stamp = Buffer.allocUnsafe(8);
  stamp.writeBigUInt64LE(BigInt(index));
  stamp.copy(buf, 0, 0, Math.min(8, n));
  return buf;
}

/** Bytes [start, end) of the blob, yielded in chunks aligned to CHUNK_SIZE. */
export function* blobChunks(spec: BlobSpec, start = 0, end = spec.size): Generator<Buffer> {
  if (start % CHUNK_SIZE !== 0) throw new Error(`range start ${start} must be a multiple of ${CHUNK_SIZE}`);
  for (let off = start; off < end; off += CHUNK_SIZE) {
    const chunk = makeChunk(spec, off / CHUNK_SIZE);
    yield off + chunk.length > end ? chunk.subarray(0, end - off) : chunk;
  }
}

/** A byte stream of bytes [start, end) of the blob, for use as an HTTP request body. */
export function blobStream(spec: BlobSpec, start = 0, end = spec.size): Readable {
  const it = blobChunks(spec, start, end);
  return new Readable({
    highWaterMark: 4 * CHUNK_SIZE,
    read() {
      const r = it.next();
      this.push(r.done ? null : r.value);
    },
  });
}

const digestCache = new Map<string, string>();

/** sha256 digest of the blob, computed by streaming the generator (cached per spec). */
export function blobDigest(spec: BlobSpec): string {
  const key = `${spec.size}:${spec.seed}`;
  let d = digestCache.get(key);
  if (!d) {
    const h = createHash('sha256');
    for (const c of blobChunks(spec)) h.update(c);
    d = `sha256:${h.digest('hex')}`;
    digestCache.set(key, d);
  }
  return d;
}

export function sha256(buf: Buffer | string): string {
  return `sha256:${createHash('sha256').update(buf).digest('hex')}`;
}

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/** Parses "512MiB", "5GiB", "1g", "65536" and the like into bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$/i.exec(text);
  if (!m) throw new Error(`cannot parse size ${JSON.stringify(text)}`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: MiB, g: GiB, t: 1024 * GiB };
  return Math.round(Number(m[1]) * (mult[(m[2] ?? '').toLowerCase()] ?? 1));
}
