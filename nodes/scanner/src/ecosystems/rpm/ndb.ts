/**
 * rpm's "ndb" backend (SUSE's default: var/lib/rpm/Packages.db; rpm's lib/backend/ndb/rpmpkg.c, as read by
 * knqyf263/go-rpmdb's ndb package). Little-endian throughout:
 *   - a 32-byte header {magic "RpmP", version 0, generation, slotNPages, 4 reserved} that also fills the first two
 *     16-byte slots of the slot area;
 *   - slotNPages 4 KiB pages of 16-byte slots {magic "Slot", pkgIndex (0 = free), blkOffset, blkCount};
 *   - blobs at blkOffset * 16: {magic "BlbS", pkgIndex, checksum, blobLen} followed by the header blob.
 * Every offset and length is checked against the file before use.
 */
import { RpmDbError } from './errors.js';
import { MAX_BLOB_BYTES } from './bdb.js';

const HEADER_MAGIC = 0x506d7052; // 'R' 'p' 'm' 'P'
const SLOT_MAGIC = 0x746f6c53; // 'S' 'l' 'o' 't'
const BLOB_MAGIC = 0x53626c42; // 'B' 'l' 'b' 'S'
const SLOT_SIZE = 16;
const SLOTS_PER_PAGE = 4096 / SLOT_SIZE;
const BLOCK_SIZE = 16;
/** rpm never needs more (2048 pages = 524 286 packages); go-rpmdb uses the same sanity bound. */
const MAX_SLOT_PAGES = 2048;

const fail = (msg: string): never => {
  throw new RpmDbError('ndb', msg);
};

export function isNdb(buf: Uint8Array): boolean {
  return buf.length >= 32 && Buffer.from(buf.buffer, buf.byteOffset, 4).readUInt32LE(0) === HEADER_MAGIC;
}

/** Every package header blob in an ndb Packages.db, in slot order. */
export function readNdbBlobs(file: Uint8Array, maxBlobBytes = MAX_BLOB_BYTES): Buffer[] {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < 32) fail(`file of ${buf.length} bytes is shorter than the ndb header`);
  if (buf.readUInt32LE(0) !== HEADER_MAGIC) fail('not an ndb database (bad magic)');
  const version = buf.readUInt32LE(4);
  if (version !== 0) fail(`unsupported ndb version ${version}`);
  const slotPages = buf.readUInt32LE(12);
  if (slotPages < 1 || slotPages > MAX_SLOT_PAGES) fail(`slot page count ${slotPages} out of range`);
  if (slotPages * 4096 > buf.length) fail(`${slotPages} slot pages do not fit in ${buf.length} bytes (truncated?)`);

  const out: Buffer[] = [];
  // The first two slots are the file header.
  for (let s = 2; s < slotPages * SLOTS_PER_PAGE; s++) {
    const at = s * SLOT_SIZE;
    if (buf.readUInt32LE(at) !== SLOT_MAGIC) fail(`slot ${s} has a bad magic`);
    const pkgIndex = buf.readUInt32LE(at + 4);
    if (pkgIndex === 0) continue; // free slot
    const blkOffset = buf.readUInt32LE(at + 8);
    const blkCount = buf.readUInt32LE(at + 12);
    const start = blkOffset * BLOCK_SIZE;
    const end = start + blkCount * BLOCK_SIZE;
    if (start < slotPages * 4096 || end > buf.length || blkCount < 1) {
      fail(`slot ${s} (package ${pkgIndex}) points at bytes ${start}-${end}, outside the blob area`);
    }
    if (buf.readUInt32LE(start) !== BLOB_MAGIC) fail(`blob for package ${pkgIndex} has a bad magic`);
    if (buf.readUInt32LE(start + 4) !== pkgIndex) fail(`blob at ${start} belongs to package ${buf.readUInt32LE(start + 4)}, slot says ${pkgIndex}`);
    const len = buf.readUInt32LE(start + 12);
    if (len > maxBlobBytes) fail(`blob for package ${pkgIndex} claims ${len} bytes, over the ${maxBlobBytes}-byte cap`);
    if (start + 16 + len > end) fail(`blob for package ${pkgIndex} claims ${len} bytes, more than its ${blkCount} blocks`);
    out.push(buf.subarray(start + 16, start + 16 + len));
  }
  return out;
}
