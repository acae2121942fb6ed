/**
 * Go's embedded build info (what `go version -m` prints; runtime/debug.BuildInfo), read the way the standard
 * library's debug/buildinfo does. A 32-byte header — "\xff Go buildinf:", pointer size, flags — sits 16-byte
 * aligned at the start of the .go.buildinfo section. Go ≥ 1.18 (flag 0x2) follows it with two varint-prefixed
 * strings, the toolchain version and the module info; older toolchains store two pointers to Go string headers
 * instead, which we follow through the ELF's loaded segments. Any inconsistency means "no build info" (undefined).
 */
import { parseElf, type Elf } from './elf.js';

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const HEADER_SIZE = 32;
const ALIGN = 16;
const FLAG_BIG_ENDIAN = 0x1;
const FLAG_INLINE = 0x2;
/** When there is no .go.buildinfo section (stripped section table, odd linkers), search this much of the file. */
export const FALLBACK_SCAN_BYTES = 1024 * 1024;
/** Module info of the biggest real binaries is tens of KiB; a string header claiming more is a lie. */
const MAX_STRING = 4 * 1024 * 1024;

export interface GoModule {
  path: string;
  version: string;
  sum?: string;
}

export interface GoBuildInfo {
  /** The toolchain, as the binary says it ("go1.21.3", possibly with " X:exp" suffixes). */
  goVersion: string;
  /** The main package's import path ("path" line). */
  path?: string;
  /** The main module ("mod" line), replacement applied. */
  main?: GoModule;
  /** Every "dep" line, replacements applied. */
  deps: GoModule[];
}

export function readBuildInfo(bin: Buffer): GoBuildInfo | undefined {
  const elf = parseElf(bin);
  const section = elf?.section('.go.buildinfo');
  if (section) {
    const found = fromRegion(section, elf);
    if (found) return found;
  }
  return fromRegion(bin.subarray(0, FALLBACK_SCAN_BYTES), elf);
}

/** Tries every 16-byte-aligned magic in `region` (a string constant could carry the magic too). */
function fromRegion(region: Buffer, elf: Elf | undefined): GoBuildInfo | undefined {
  for (let at = region.indexOf(MAGIC); at >= 0; at = region.indexOf(MAGIC, at + 1)) {
    if (at % ALIGN !== 0 || at + HEADER_SIZE > region.length) continue;
    const strings = headerStrings(region.subarray(at), elf);
    if (!strings) continue;
    const info = parseModInfo(strings.version, strings.mod);
    if (info) return info;
  }
  return undefined;
}

function headerStrings(h: Buffer, elf: Elf | undefined): { version: string; mod: string } | undefined {
  const ptrSize = h[14];
  const flags = h[15] ?? 0;
  if (flags & FLAG_INLINE) {
    let at = HEADER_SIZE;
    const next = (): string | undefined => {
      const v = uvarint(h, at);
      if (!v || v.value > MAX_STRING || v.next + v.value > h.length) return undefined;
      at = v.next + v.value;
      return h.toString('utf8', v.next, at);
    };
    const version = next();
    const mod = version === undefined ? undefined : next();
    return version !== undefined && mod !== undefined ? { version, mod } : undefined;
  }
  // Pre-1.18: two pointers to Go string headers {data pointer, length}; needs the ELF's address map.
  if (!elf || (ptrSize !== 4 && ptrSize !== 8)) return undefined;
  const be = (flags & FLAG_BIG_ENDIAN) !== 0;
  const ptr = (b: Buffer | undefined, o: number): bigint | undefined => {
    if (!b || o + ptrSize > b.length) return undefined;
    if (ptrSize === 8) return be ? b.readBigUInt64BE(o) : b.readBigUInt64LE(o);
    return BigInt(be ? b.readUInt32BE(o) : b.readUInt32LE(o));
  };
  const str = (addr: bigint | undefined): string | undefined => {
    if (addr === undefined) return undefined;
    const hdr = elf.readAt(addr, 2 * ptrSize);
    const data = ptr(hdr, 0);
    const len = ptr(hdr, ptrSize);
    if (data === undefined || len === undefined || len > BigInt(MAX_STRING)) return undefined;
    const bytes = elf.readAt(data, Number(len));
    return bytes && bytes.length === Number(len) ? bytes.toString('utf8') : undefined;
  };
  const version = str(ptr(h, 16));
  const mod = str(ptr(h, 16 + ptrSize));
  return version !== undefined && mod !== undefined ? { version, mod } : undefined;
}

function uvarint(b: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0, mul = 1; i < 5 && at + i < b.length; i++, mul *= 128) {
    const c = b[at + i]!;
    value += (c & 0x7f) * mul;
    if (c < 0x80) return { value, next: at + i + 1 };
  }
  return undefined;
}

/**
 * The module info text, framed by two 16-byte sentinels, is tab-separated lines: path, mod, dep, "=>" (replaces
 * the line before it) and build. A binary built outside module mode has no framing and only a toolchain version.
 */
export function parseModInfo(goVersion: string, raw: string): GoBuildInfo | undefined {
  if (!goVersion.startsWith('go') && !goVersion.startsWith('devel')) return undefined;
  const info: GoBuildInfo = { goVersion, deps: [] };
  // debug/buildinfo's own test for the framing: the 17th byte from the end is the last line's newline.
  if (raw.length < 33 || raw[raw.length - 17] !== '\n') return info;
  let last: GoModule | undefined;
  for (const line of raw.slice(16, raw.length - 16).split('\n')) {
    const [kind, path = '', version = '', sum] = line.split('\t');
    const mod = (): GoModule => (sum ? { path, version, sum } : { path, version });
    switch (kind) {
      case 'path':
        info.path = path;
        break;
      case 'mod':
        info.main = last = mod();
        break;
      case 'dep':
        last = mod();
        info.deps.push(last);
        break;
      case '=>':
        // A module replaced by a local directory ("=> ./x (devel)") has no real version: keep what go.mod
        // required, the closest name and version an advisory could talk about.
        if (last && version && !isLocalPath(path)) {
          last.path = path;
          last.version = version;
          if (sum) last.sum = sum;
          else delete last.sum;
        }
        last = undefined;
        break;
      default:
        last = undefined;
    }
  }
  return info;
}

/** go.mod's rule for a replacement that is a directory rather than a module path. */
const isLocalPath = (p: string): boolean => /^(\.{1,2}\/|\/|[A-Za-z]:[\\/])/.test(p) || p === '.' || p === '..';

/**
 * The toolchain as a semantic version, like module versions: go1.21 → v1.21.0, go1.21.3 → v1.21.3,
 * go1.21rc2 → v1.21.0-rc.2; experiment suffixes (" X:boringcrypto") dropped. Undefined for devel toolchains.
 */
export function goVersionToSemver(v: string): string | undefined {
  const m = /^go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta|alpha)(\d+))?(?=$|\s)/.exec(v);
  if (!m) return undefined;
  const base = `v${m[1]}.${m[2]}.${m[3] ?? '0'}`;
  return m[4] ? `${base}-${m[4]}.${m[5]}` : base;
}
