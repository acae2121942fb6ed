import { StreamingHasher, type DigestAlgorithm } from '../../../../shared/oci/digest.js';

/**
 * Running digests of chunked uploads handled by this process. Node cannot serialise a hash state, so a chunk that
 * lands on another node (or after a restart) invalidates the entry and completion re-reads the bytes instead.
 * Bounded: the oldest entries are dropped first, which only costs that re-read.
 */
export class UploadHashers {
  private readonly entries = new Map<string, StreamingHasher>();
  constructor(private readonly max = 1024) {}

  /** The hasher for the upload if it has seen exactly `offset` bytes; otherwise undefined (and forgotten). */
  at(uploadId: string, offset: number): StreamingHasher | undefined {
    const h = this.entries.get(uploadId);
    if (h && h.size === offset) return h;
    this.entries.delete(uploadId);
    if (offset === 0) return this.start(uploadId, 'sha256');
    return undefined;
  }

  start(uploadId: string, algorithm: DigestAlgorithm): StreamingHasher {
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    const h = new StreamingHasher(algorithm);
    this.entries.set(uploadId, h);
    return h;
  }

  forget(uploadId: string): void {
    this.entries.delete(uploadId);
  }
}
