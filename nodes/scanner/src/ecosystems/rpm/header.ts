/**
 * rpm header blobs as the package databases store them (no lead, no 8-byte header magic, though a leading magic is
 * tolerated): `il` and `dl` (big-endian u32), `il` 16-byte index entries {tag, type, offset, count}, then `dl` bytes
 * of data store. We only need a handful of string/int tags, so we do not rebuild rpm's regions; we only make sure
 * every read stays inside the data store and that no count or length from the blob drives an allocation.
 */
import { RpmDbError } from './errors.js';

export const TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  ARCH: 1022,
  SOURCERPM: 1044,
  MODULARITYLABEL: 5096,
} as const;

const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;

/** rpm's own limits (header_internal.h hdrchkTags / hdrchkData): fewer than 64Ki tags, under 16 MiB of data. */
export const MAX_INDEX_ENTRIES = 0xffff;
export const MAX_DATA_BYTES = 16 * 1024 * 1024;

const HEADER_MAGIC = Buffer.from([0x8e, 0xad, 0xe8, 0x01]);

export interface RpmHeader {
  name: string;
  version: string;
  release: string;
  /** Absent when the package has no EPOCH tag (rpm then treats it as 0). */
  epoch?: number;
  arch?: string;
  sourceRpm?: string;
  modularityLabel?: string;
}

const fail = (msg: string): never => {
  throw new RpmDbError('header', msg);
};

/** Parses the tags we use out of one header blob; RpmDbError('header') when the blob lies about its own layout. */
export function parseHeader(blob: Uint8Array): RpmHeader {
  let buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  // A header read from an .rpm file starts with magic + 4 reserved bytes; databases store it without.
  if (buf.length >= 16 && buf.subarray(0, 4).equals(HEADER_MAGIC)) buf = buf.subarray(8);
  if (buf.length < 8) fail(`blob of ${buf.length} bytes is shorter than its 8-byte preamble`);
  const il = buf.readUInt32BE(0);
  const dl = buf.readUInt32BE(4);
  if (il < 1 || il > MAX_INDEX_ENTRIES) fail(`index entry count ${il} out of range`);
  if (dl > MAX_DATA_BYTES) fail(`data length ${dl} over ${MAX_DATA_BYTES}`);
  const dataStart = 8 + il * 16;
  const dataEnd = dataStart + dl;
  if (dataEnd > buf.length) fail(`index (${il} entries) and data (${dl} bytes) need ${dataEnd} bytes, blob has ${buf.length}`);
  const data = buf.subarray(dataStart, dataEnd);

  // Later entries win: rpm appends "dribble" entries after the immutable region to override tags.
  const found = new Map<number, { type: number; offset: number; count: number }>();
  const wanted = new Set<number>(Object.values(TAG));
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const tag = buf.readUInt32BE(at);
    if (!wanted.has(tag)) continue;
    found.set(tag, { type: buf.readUInt32BE(at + 4), offset: buf.readInt32BE(at + 8), count: buf.readUInt32BE(at + 12) });
  }

  const str = (tag: number): string | undefined => {
    const e = found.get(tag);
    if (!e) return undefined;
    if (e.type !== TYPE_STRING && e.type !== TYPE_I18NSTRING && e.type !== TYPE_STRING_ARRAY) {
      fail(`tag ${tag} has type ${e.type}, not a string`);
    }
    if (e.count < 1) fail(`tag ${tag} has no elements`);
    if (e.offset < 0 || e.offset >= dl) fail(`tag ${tag} offset ${e.offset} outside data store of ${dl} bytes`);
    const nul = data.indexOf(0, e.offset);
    if (nul < 0) fail(`tag ${tag} string at ${e.offset} is not NUL-terminated inside the data store`);
    // Only the first element of an array / i18n table: the untranslated string.
    return data.toString('utf8', e.offset, nul);
  };
  const int32 = (tag: number): number | undefined => {
    const e = found.get(tag);
    if (!e) return undefined;
    if (e.type !== TYPE_INT32) fail(`tag ${tag} has type ${e.type}, not int32`);
    if (e.count < 1) fail(`tag ${tag} has no elements`);
    if (e.offset < 0 || e.offset + 4 > dl) fail(`tag ${tag} offset ${e.offset} outside data store of ${dl} bytes`);
    return data.readUInt32BE(e.offset);
  };

  const name = str(TAG.NAME);
  const version = str(TAG.VERSION);
  const release = str(TAG.RELEASE);
  if (name === undefined || name === '') return fail('no NAME tag');
  if (version === undefined) return fail(`${name}: no VERSION tag`);
  if (release === undefined) return fail(`${name}: no RELEASE tag`);
  const h: RpmHeader = { name, version, release };
  const epoch = int32(TAG.EPOCH);
  if (epoch !== undefined) h.epoch = epoch;
  const arch = str(TAG.ARCH);
  if (arch) h.arch = arch;
  const srpm = str(TAG.SOURCERPM);
  // "(none)" is what rpm writes for packages without a source rpm (gpg-pubkey, some imports).
  if (srpm && srpm !== '(none)') h.sourceRpm = srpm;
  const mod = str(TAG.MODULARITYLABEL);
  if (mod) h.modularityLabel = mod;
  return h;
}

/**
 * "name-version-release.src.rpm" → its parts; version and release never contain '-', so split from the right.
 * Undefined when the file name is not shaped like that.
 */
export function splitSourceRpm(srpm: string): { name: string; version: string; release: string } | undefined {
  const base = srpm.replace(/\.(src|nosrc)\.rpm$/, '');
  if (base === srpm) return undefined;
  const r = base.lastIndexOf('-');
  if (r <= 0) return undefined;
  const v = base.lastIndexOf('-', r - 1);
  if (v <= 0) return undefined;
  return { name: base.slice(0, v), version: base.slice(v + 1, r), release: base.slice(r + 1) };
}
