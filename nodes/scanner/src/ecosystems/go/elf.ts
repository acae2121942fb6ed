/**
 * Just enough ELF to find Go's build info: a named section's bytes, and the file bytes behind a virtual address
 * (pre-1.18 build info holds pointers). Everything read from the file is checked against the buffer; a malformed
 * ELF gives `undefined`, never an exception, because "not a usable ELF" just means "not a Go binary" here.
 */

export interface Elf {
  /** The section's bytes, or undefined when absent or out of the file. */
  section(name: string): Buffer | undefined;
  /** Up to `len` bytes of the loaded image at virtual address `addr`, from the PT_LOAD segment that maps it. */
  readAt(addr: bigint, len: number): Buffer | undefined;
  readonly bigEndian: boolean;
  readonly is64: boolean;
}

const PT_LOAD = 1;

export function isElf(buf: Uint8Array): boolean {
  return buf.length >= 52 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

export function parseElf(buf: Buffer): Elf | undefined {
  if (!isElf(buf)) return undefined;
  const cls = buf[4];
  const data = buf[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) return undefined;
  const is64 = cls === 2;
  const be = data === 2;
  if (buf.length < (is64 ? 64 : 52)) return undefined;
  const u16 = (o: number): number => (be ? buf.readUInt16BE(o) : buf.readUInt16LE(o));
  const u32 = (o: number): number => (be ? buf.readUInt32BE(o) : buf.readUInt32LE(o));
  const u64 = (o: number): bigint => (be ? buf.readBigUInt64BE(o) : buf.readBigUInt64LE(o));
  // Addresses stay bigint (64-bit images load high); offsets and sizes must be real file positions.
  const word = (o: number): bigint => (is64 ? u64(o) : BigInt(u32(o)));
  const offset = (o: number): number => {
    const v = word(o);
    return v <= BigInt(buf.length) ? Number(v) : -1;
  };

  const phoff = offset(is64 ? 0x20 : 0x1c);
  const shoff = offset(is64 ? 0x28 : 0x20);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  const shnum = u16(is64 ? 0x3c : 0x30);
  const shstrndx = u16(is64 ? 0x3e : 0x32);

  interface Seg { vaddr: bigint; off: number; filesz: number }
  const segs: Seg[] = [];
  if (phoff > 0 && phentsize >= (is64 ? 0x38 : 0x20) && phoff + phnum * phentsize <= buf.length) {
    for (let i = 0; i < phnum; i++) {
      const p = phoff + i * phentsize;
      if (u32(p) !== PT_LOAD) continue;
      const off = offset(p + (is64 ? 0x08 : 0x04));
      const vaddr = word(p + (is64 ? 0x10 : 0x08));
      const filesz = offset(p + (is64 ? 0x20 : 0x10));
      if (off < 0 || filesz < 0) continue;
      segs.push({ vaddr, off, filesz: Math.min(filesz, buf.length - off) });
    }
  }

  interface Sec { name: number; off: number; size: number; nobits: boolean }
  const secs: Sec[] = [];
  if (shoff > 0 && shentsize >= (is64 ? 0x40 : 0x28) && shoff + shnum * shentsize <= buf.length) {
    for (let i = 0; i < shnum; i++) {
      const s = shoff + i * shentsize;
      secs.push({
        name: u32(s),
        nobits: u32(s + 4) === 8, // SHT_NOBITS (.bss): no bytes in the file
        off: offset(s + (is64 ? 0x18 : 0x10)),
        size: offset(s + (is64 ? 0x20 : 0x14)),
      });
    }
  }
  const bytesOf = (s: Sec | undefined): Buffer | undefined =>
    s && !s.nobits && s.off >= 0 && s.size >= 0 && s.off + s.size <= buf.length ? buf.subarray(s.off, s.off + s.size) : undefined;
  const strtab = bytesOf(secs[shstrndx]);

  return {
    bigEndian: be,
    is64,
    section(name) {
      if (!strtab) return undefined;
      for (const s of secs) {
        if (s.name >= strtab.length) continue;
        const end = strtab.indexOf(0, s.name);
        if (end < 0) continue;
        if (strtab.toString('latin1', s.name, end) === name) return bytesOf(s);
      }
      return undefined;
    },
    readAt(addr, len) {
      for (const s of segs) {
        if (addr < s.vaddr || addr >= s.vaddr + BigInt(s.filesz)) continue;
        const start = s.off + Number(addr - s.vaddr);
        return buf.subarray(start, Math.min(start + len, s.off + s.filesz));
      }
      return undefined;
    },
  };
}
