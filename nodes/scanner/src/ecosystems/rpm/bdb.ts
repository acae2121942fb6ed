/**
 * The Berkeley DB hash file rpm < 4.16 keeps at var/lib/rpm/Packages (layout from libdb's db_page.h, as read by
 * knqyf263/go-rpmdb's bdb package). We walk every page instead of the hash buckets: hash pages (P_HASH,
 * P_HASH_UNSORTED) hold key/value pairs whose values are either inline (H_KEYDATA) or, for anything larger than a
 * quarter page — which is every real rpm header — an H_OFFPAGE reference to a chain of P_OVERFLOW pages.
 * Everything is bounded: page numbers must lie inside the file, chains may not revisit a page, and a value may not
 * be longer than the caller's cap.
 */
import { RpmDbError } from './errors.js';
import { MAX_DATA_BYTES, MAX_INDEX_ENTRIES } from './header.js';

const HASH_MAGIC = 0x061561;
const P_HASH_UNSORTED = 2; // RHEL/CentOS 5 era
const P_OVERFLOW = 7;
const P_HASHMETA = 8;
const P_HASH = 13;
const H_KEYDATA = 1;
const H_OFFPAGE = 3;
const PAGE_HEADER = 26;
const VALID_PAGE_SIZES = new Set([512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]);

/** The largest header blob rpm itself would accept: preamble + index + data. */
export const MAX_BLOB_BYTES = 8 + MAX_INDEX_ENTRIES * 16 + MAX_DATA_BYTES;

const fail = (msg: string): never => {
  throw new RpmDbError('bdb', msg);
};

/** True when the bytes start like a Berkeley DB hash database (either byte order). */
export function isBdbHash(buf: Uint8Array): boolean {
  if (buf.length < 512) return false;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return b.readUInt32LE(12) === HASH_MAGIC || b.readUInt32BE(12) === HASH_MAGIC;
}

/** Every value (rpm header blob) in a Berkeley DB hash `Packages` file, in page order. */
export function readBdbBlobs(file: Uint8Array, maxBlobBytes = MAX_BLOB_BYTES): Buffer[] {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < 512) fail(`file of ${buf.length} bytes is too short for a metadata page`);
  let le: boolean;
  if (buf.readUInt32LE(12) === HASH_MAGIC) le = true;
  else if (buf.readUInt32BE(12) === HASH_MAGIC) le = false;
  else return fail('not a Berkeley DB hash file (bad magic)');
  const u32 = (at: number): number => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));

  const pageSize = u32(20);
  if (!VALID_PAGE_SIZES.has(pageSize)) fail(`unexpected page size ${pageSize}`);
  if (buf[24] !== 0) fail('encrypted databases are not supported');
  if (buf[25] !== P_HASHMETA) fail(`metadata page has type ${buf[25]}, not hash metadata`);
  const lastPage = u32(32);
  const pages = Math.floor(buf.length / pageSize);
  if (lastPage >= pages) fail(`metadata names last page ${lastPage}, file holds ${pages} pages (truncated?)`);

  const page = (n: number): Buffer => buf.subarray(n * pageSize, (n + 1) * pageSize);

  const overflow = (first: number, total: number): Buffer => {
    if (total > maxBlobBytes) fail(`value of ${total} bytes over the ${maxBlobBytes}-byte cap`);
    const parts: Buffer[] = [];
    let got = 0;
    const seen = new Set<number>();
    for (let n = first; n !== 0; ) {
      if (n > lastPage) fail(`overflow chain points at page ${n}, past the last page ${lastPage}`);
      if (seen.has(n)) fail(`overflow chain loops at page ${n}`);
      seen.add(n);
      const p = page(n);
      if (p[25] !== P_OVERFLOW) fail(`page ${n} in an overflow chain has type ${p[25]}`);
      // On overflow pages hf_offset (bytes 22-23) is the number of data bytes on the page.
      const used = le ? p.readUInt16LE(22) : p.readUInt16BE(22);
      if (PAGE_HEADER + used > pageSize) fail(`overflow page ${n} claims ${used} bytes`);
      if (got + used > total) fail(`overflow chain from page ${first} is longer than its declared ${total} bytes`);
      parts.push(p.subarray(PAGE_HEADER, PAGE_HEADER + used));
      got += used;
      n = le ? p.readUInt32LE(16) : p.readUInt32BE(16);
    }
    if (got !== total) fail(`overflow chain from page ${first} holds ${got} bytes, declared ${total}`);
    return Buffer.concat(parts, got);
  };

  const out: Buffer[] = [];
  for (let n = 1; n <= lastPage; n++) {
    const p = page(n);
    const type = p[25];
    if (type !== P_HASH && type !== P_HASH_UNSORTED) continue;
    const entries = le ? p.readUInt16LE(20) : p.readUInt16BE(20);
    if (entries % 2 !== 0) fail(`hash page ${n} has an odd number of items (${entries})`);
    if (PAGE_HEADER + entries * 2 > pageSize) fail(`hash page ${n} claims ${entries} items`);
    const inp = (i: number): number => (le ? p.readUInt16LE(PAGE_HEADER + i * 2) : p.readUInt16BE(PAGE_HEADER + i * 2));
    // Items are packed from the end of the page down: item i ends where item i-1 starts.
    const itemEnd = (i: number): number => (i === 0 ? pageSize : inp(i - 1));
    for (let i = 0; i < entries; i += 2) {
      const k = inp(i);
      const v = inp(i + 1);
      const kEnd = itemEnd(i);
      const vEnd = itemEnd(i + 1);
      if (k < PAGE_HEADER || k >= kEnd || kEnd > pageSize || v < PAGE_HEADER || v >= vEnd || vEnd > pageSize) {
        fail(`hash page ${n} item ${i} has offsets outside the page`);
      }
      if (p[v] === H_OFFPAGE) {
        if (v + 12 > vEnd) fail(`hash page ${n} item ${i + 1} is too short for an off-page reference`);
        const pgno = le ? p.readUInt32LE(v + 4) : p.readUInt32BE(v + 4);
        const tlen = le ? p.readUInt32LE(v + 8) : p.readUInt32BE(v + 8);
        out.push(overflow(pgno, tlen));
      } else if (p[v] === H_KEYDATA) {
        // rpm keeps a bookkeeping record under key 0 (the next package instance number); it is no header.
        const key = p.subarray(k + 1, kEnd);
        if (p[k] === H_KEYDATA && key.length === 4 && key.readUInt32LE(0) === 0 && key.readUInt32BE(0) === 0) continue;
        const value = p.subarray(v + 1, vEnd);
        if (value.length < 8) continue;
        out.push(Buffer.from(value));
      }
      // H_DUPLICATE / H_OFFDUP are never used by rpm's Packages database.
    }
  }
  return out;
}
