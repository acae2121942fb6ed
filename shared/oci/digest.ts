import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export type Digest = string & { readonly __brand: 'Digest' };
export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
// Grammar from the OCI image spec: algorithm ":" encoded. Only registered algorithms are accepted.
const DIGEST_RE = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

export class DigestFormatError extends Error {
  override readonly name = 'DigestFormatError';
}

export function parseDigest(s: string): { algorithm: DigestAlgorithm; hex: string; digest: Digest } {
  const m = DIGEST_RE.exec(s);
  if (!m) throw new DigestFormatError(`invalid digest "${truncate(s)}"`);
  const algorithm = m[1] as string;
  const hex = m[2] as string;
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new DigestFormatError(`unsupported digest algorithm "${truncate(algorithm)}"`);
  }
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new DigestFormatError(`invalid ${algorithm} digest encoding "${truncate(hex)}"`);
  }
  return { algorithm, hex, digest: s as Digest };
}

export function isDigest(s: string): s is Digest {
  try {
    parseDigest(s);
    return true;
  } catch {
    return false;
  }
}

export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}` as Digest;
}

/** Incremental hasher whose state can be exported, so the digest of a chunked upload never needs the bytes again. */
export class StreamingHasher {
  private readonly hash: Hash;
  private bytes = 0;
  constructor(readonly algorithm: DigestAlgorithm = 'sha256') {
    this.hash = createHash(algorithm);
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }
  get size(): number {
    return this.bytes;
  }
  /** Digest so far, without finalising (Hash.copy keeps the running state). */
  peek(): Digest {
    return `${this.algorithm}:${this.hash.copy().digest('hex')}` as Digest;
  }
}

/** A pass-through stream that hashes what flows through it. */
export class HashingTransform extends Transform {
  readonly hasher: StreamingHasher;
  constructor(algorithm: DigestAlgorithm = 'sha256') {
    super();
    this.hasher = new StreamingHasher(algorithm);
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hasher.update(chunk);
    cb(null, chunk);
  }
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
