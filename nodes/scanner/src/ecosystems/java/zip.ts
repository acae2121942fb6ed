/**
 * A read-only zip reader over bytes in memory, enough for jar/war/ear: the central directory (zip64 included),
 * stored and deflated entries. Every size in the archive is a claim: offsets are checked against the buffer and
 * inflation is capped by the caller's limit *and* the declared size, so a zip bomb or a lying header costs at most
 * the cap, and surfaces as a ZipError.
 */
import { inflateRawSync } from 'node:zlib';

export type ZipErrorKind = 'format' | 'too-large' | 'unsupported';

export class ZipError extends Error {
  override readonly name = 'ZipError';
  constructor(
    readonly kind: ZipErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`zip: ${message}`, options);
  }
}

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  compressedSize: number;
  size: number;
  /** Offset of the local file header, already corrected for bytes prepended to the archive. */
  localOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CDH_SIG = 0x02014b50;
const LFH_SIG = 0x04034b50;
/** More entries than any real jar has; a directory claiming more is refused before we loop over it. */
export const MAX_ENTRIES = 200_000;

const fail = (msg: string, kind: ZipErrorKind = 'format'): never => {
  throw new ZipError(kind, msg);
};

export function isZip(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x50 && buf[1] === 0x4b && (buf[2] === 3 || buf[2] === 5) && (buf[3] === 4 || buf[3] === 6);
}

const u64 = (b: Buffer, at: number): number => {
  const v = b.readBigUInt64LE(at);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
};

/** The archive's entries, from the central directory. */
export function listZip(buf: Buffer): ZipEntry[] {
  // The end record is in the last 22 + 65535 (comment) bytes; search backwards for its signature.
  const min = Math.max(0, buf.length - 22 - 0xffff);
  let eocd = -1;
  for (let i = buf.length - 22; i >= min; i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('no end of central directory record');
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  let cdEnd = eocd; // where the directory should end: the end record, or the zip64 records before it
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || buf.readUInt32LE(loc) !== ZIP64_LOCATOR_SIG) fail('zip64 sizes without a zip64 locator');
    const z = u64(buf, loc + 8);
    if (z + 56 > loc || buf.readUInt32LE(z) !== ZIP64_EOCD_SIG) fail('zip64 end record missing or out of the file');
    count = u64(buf, z + 32);
    cdSize = u64(buf, z + 40);
    cdOffset = u64(buf, z + 48);
    cdEnd = z;
  }
  if (count > MAX_ENTRIES) fail(`central directory claims ${count} entries`, 'too-large');
  // Self-extracting / "fully executable" jars have a script in front; their offsets are relative to the zip.
  const shift = cdEnd - (cdOffset + cdSize);
  if (shift < 0) fail('central directory does not fit before its end record');
  const entries: ZipEntry[] = [];
  let at = cdOffset + shift;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cdEnd || buf.readUInt32LE(at) !== CDH_SIG) fail(`central directory entry ${i} is damaged`);
    const flags = buf.readUInt16LE(at + 8);
    const method = buf.readUInt16LE(at + 10);
    let compressedSize = buf.readUInt32LE(at + 20);
    let size = buf.readUInt32LE(at + 24);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    let localOffset = buf.readUInt32LE(at + 42);
    const next = at + 46 + nameLen + extraLen + commentLen;
    if (next > cdEnd) fail(`central directory entry ${i} runs past the directory`);
    const name = buf.toString(flags & 0x800 ? 'utf8' : 'latin1', at + 46, at + 46 + nameLen);
    // Zip64 extra field: the 0xffffffff fields, in order size, compressed size, offset.
    for (let e = at + 46 + nameLen; e + 4 <= at + 46 + nameLen + extraLen; ) {
      const id = buf.readUInt16LE(e);
      const len = buf.readUInt16LE(e + 2);
      if (e + 4 + len > at + 46 + nameLen + extraLen) break;
      if (id === 0x0001) {
        let f = e + 4;
        const take = (): number => {
          if (f + 8 > e + 4 + len) return fail(`entry ${name}: short zip64 extra field`);
          const v = u64(buf, f);
          f += 8;
          return v;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localOffset === 0xffffffff) localOffset = take();
      }
      e += 4 + len;
    }
    entries.push({ name, method, flags, compressedSize, size, localOffset: localOffset + shift });
    at = next;
  }
  return entries;
}

/**
 * The entry's bytes, inflated. ZipError('too-large') when it declares or inflates past `maxBytes`;
 * ZipError('unsupported') for encrypted entries and methods other than stored/deflate.
 */
export function readEntry(buf: Buffer, e: ZipEntry, maxBytes: number): Buffer {
  if (e.flags & 0x1) fail(`${e.name} is encrypted`, 'unsupported');
  if (e.size > maxBytes) fail(`${e.name} declares ${e.size} bytes, over the ${maxBytes}-byte cap`, 'too-large');
  const h = e.localOffset;
  if (h + 30 > buf.length || buf.readUInt32LE(h) !== LFH_SIG) fail(`${e.name}: no local header at ${h}`);
  // The local header's own name/extra lengths decide where data starts (they may differ from the directory's).
  const start = h + 30 + buf.readUInt16LE(h + 26) + buf.readUInt16LE(h + 28);
  const end = start + e.compressedSize;
  if (end > buf.length) fail(`${e.name}: data runs past the end of the archive`);
  const raw = buf.subarray(start, end);
  if (e.method === 0) {
    if (e.compressedSize !== e.size) fail(`${e.name}: stored entry with different sizes`);
    return raw;
  }
  if (e.method !== 8) fail(`${e.name}: compression method ${e.method}`, 'unsupported');
  let out: Buffer;
  try {
    // Capped at the declared size: an entry that inflates to more than it claims is lying (or a bomb).
    out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
  } catch (err) {
    const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw new ZipError(tooBig ? 'too-large' : 'format', `${e.name}: ${tooBig ? `inflates past its declared ${e.size} bytes` : 'bad deflate data'}`, { cause: err });
  }
  if (out.length !== e.size) fail(`${e.name}: inflated to ${out.length} bytes, declared ${e.size}`);
  return out;
}
