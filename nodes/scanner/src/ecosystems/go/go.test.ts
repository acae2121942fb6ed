import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { goVersionToSemver, readBuildInfo } from './buildinfo.js';
import { parseElf } from './elf.js';
import { GoPackageScanner, packagesFromBuildInfo, wants } from './package-scanner.js';
import { memoryView } from '../../indexer/test-helpers.js';

const START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const END = Buffer.from('f932433186182072008242104116d8f2', 'hex');
const frame = (lines: string[]): string => `${START.toString('latin1')}${lines.join('\n')}\n${END.toString('latin1')}`;

const MODINFO = frame([
  'path\texample.com/app/cmd/app',
  'mod\texample.com/app\tv1.4.0\th1:abc=',
  'dep\tgolang.org/x/net\tv0.7.0\th1:net=',
  'dep\tgithub.com/old/yaml\tv1.0.0\th1:old=',
  '=>\tgithub.com/fork/yaml\tv1.0.1\th1:fork=',
  'dep\texample.com/app/internal\tv0.0.0-00010101000000-000000000000',
  '=>\t./internal\t(devel)\t',
  'build\t-compiler=gc',
  'build\tGOOS=linux',
]);

const varint = (n: number): Buffer => {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return Buffer.from(out);
};
const header = (ptrSize: number, flags: number): Buffer => {
  const h = Buffer.alloc(32);
  h.write('\xff Go buildinf:', 0, 'latin1');
  h[14] = ptrSize;
  h[15] = flags;
  return h;
};
/** Go ≥ 1.18: the strings follow the header. */
const inline = (version: string, mod: string): Buffer =>
  Buffer.concat([header(8, 2), varint(Buffer.byteLength(version)), Buffer.from(version), varint(Buffer.byteLength(mod, 'latin1')), Buffer.from(mod, 'latin1')]);

const BASE = 0x10000n; // the one PT_LOAD maps the whole file at this address
const SECTION_AT = 128;

/** Go < 1.18 (64-bit little-endian): the header points at two string headers, which point at the bytes. */
function pointers(version: string, mod: string): Buffer {
  const v = Buffer.from(version);
  const m = Buffer.from(mod, 'latin1');
  const at = (off: number): bigint => BASE + BigInt(SECTION_AT + off);
  const h = header(8, 0);
  h.writeBigUInt64LE(at(32), 16);
  h.writeBigUInt64LE(at(48), 24);
  const sh = Buffer.alloc(32);
  sh.writeBigUInt64LE(at(64), 0);
  sh.writeBigUInt64LE(BigInt(v.length), 8);
  sh.writeBigUInt64LE(at(64 + v.length), 16);
  sh.writeBigUInt64LE(BigInt(m.length), 24);
  return Buffer.concat([h, sh, v, m]);
}

/** A minimal 64-bit little-endian ELF: one PT_LOAD over the whole file, and .go.buildinfo + .shstrtab sections. */
function elf(buildinfo: Buffer, opts: { sections?: boolean } = {}): Buffer {
  const strtab = Buffer.from('\0.go.buildinfo\0.shstrtab\0');
  const strAt = SECTION_AT + buildinfo.length;
  const shAt = Math.ceil((strAt + strtab.length) / 8) * 8;
  const total = shAt + 3 * 64;
  const b = Buffer.alloc(total);
  b.write('\x7fELF', 0, 'latin1');
  b[4] = 2; // 64-bit
  b[5] = 1; // little-endian
  b[6] = 1;
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(62, 18); // x86-64
  b.writeBigUInt64LE(64n, 0x20); // phoff
  b.writeBigUInt64LE(opts.sections === false ? 0n : BigInt(shAt), 0x28);
  b.writeUInt16LE(64, 0x34);
  b.writeUInt16LE(56, 0x36);
  b.writeUInt16LE(1, 0x38);
  b.writeUInt16LE(64, 0x3a);
  b.writeUInt16LE(opts.sections === false ? 0 : 3, 0x3c);
  b.writeUInt16LE(2, 0x3e);
  b.writeUInt32LE(1, 64); // PT_LOAD
  b.writeBigUInt64LE(0n, 64 + 8);
  b.writeBigUInt64LE(BASE, 64 + 0x10);
  b.writeBigUInt64LE(BigInt(total), 64 + 0x20);
  b.writeBigUInt64LE(BigInt(total), 64 + 0x28);
  buildinfo.copy(b, SECTION_AT);
  strtab.copy(b, strAt);
  const sec = (i: number, name: number, off: number, size: number): void => {
    const s = shAt + i * 64;
    b.writeUInt32LE(name, s);
    b.writeUInt32LE(1, s + 4);
    b.writeBigUInt64LE(BigInt(off), s + 0x18);
    b.writeBigUInt64LE(BigInt(size), s + 0x20);
  };
  sec(1, 1, SECTION_AT, buildinfo.length);
  sec(2, 15, strAt, strtab.length);
  return b;
}

const view = memoryView;

const EXPECTED = {
  goVersion: 'go1.21.3',
  path: 'example.com/app/cmd/app',
  main: { path: 'example.com/app', version: 'v1.4.0', sum: 'h1:abc=' },
  deps: [
    { path: 'golang.org/x/net', version: 'v0.7.0', sum: 'h1:net=' },
    { path: 'github.com/fork/yaml', version: 'v1.0.1', sum: 'h1:fork=' },
    { path: 'example.com/app/internal', version: 'v0.0.0-00010101000000-000000000000' },
  ],
};

describe('go build info', () => {
  it('reads the inline (Go ≥ 1.18) format from .go.buildinfo, honouring replacements', () => {
    assert.deepEqual(readBuildInfo(elf(inline('go1.21.3', MODINFO))), EXPECTED);
  });

  it('reads the pointer (Go < 1.18) format through the loaded segments', () => {
    assert.deepEqual(readBuildInfo(elf(pointers('go1.21.3', MODINFO))), EXPECTED);
  });

  it('falls back to scanning the start of the file when there is no section table', () => {
    const bin = elf(inline('go1.21.3', MODINFO), { sections: false });
    assert.equal(parseElf(bin)?.section('.go.buildinfo'), undefined);
    assert.deepEqual(readBuildInfo(bin), EXPECTED);
    assert.deepEqual(readBuildInfo(elf(pointers('go1.21.3', MODINFO), { sections: false })), EXPECTED);
  });

  it('gives only the toolchain for binaries built outside module mode', () => {
    assert.deepEqual(readBuildInfo(elf(inline('go1.16.15', ''))), { goVersion: 'go1.16.15', deps: [] });
  });

  it('turns toolchain versions into semantic versions', () => {
    assert.equal(goVersionToSemver('go1.21'), 'v1.21.0');
    assert.equal(goVersionToSemver('go1.19.8'), 'v1.19.8');
    assert.equal(goVersionToSemver('go1.22rc2'), 'v1.22.0-rc.2');
    assert.equal(goVersionToSemver('go1.20.5 X:boringcrypto'), 'v1.20.5');
    assert.equal(goVersionToSemver('devel go1.23-abcdef'), undefined);
  });

  it('lists main module, deps and stdlib as go packages', () => {
    const pkgs = packagesFromBuildInfo(EXPECTED, 'app/server');
    assert.deepEqual(pkgs.map((p) => `${p.name}@${p.version}`), [
      'example.com/app@v1.4.0', 'golang.org/x/net@v0.7.0', 'github.com/fork/yaml@v1.0.1',
      'example.com/app/internal@v0.0.0-00010101000000-000000000000', 'stdlib@v1.21.3',
    ]);
    assert.ok(pkgs.every((p) => p.format === 'go' && p.location === 'app/server'));
    assert.equal(pkgs[1]?.purl, 'pkg:golang/golang.org/x/net@v0.7.0');
  });

  it('survives hostile input: garbage, lying lengths and pointers, random damage', () => {
    assert.equal(readBuildInfo(Buffer.alloc(0)), undefined);
    assert.equal(readBuildInfo(Buffer.from('\x7fELF\x02\x01garbage', 'latin1')), undefined);
    assert.equal(readBuildInfo(Buffer.alloc(4096, 0xff)), undefined);
    const lyingVarint = Buffer.concat([header(8, 2), varint(2 ** 31), Buffer.from('go1.21')]);
    assert.equal(readBuildInfo(elf(lyingVarint)), undefined);
    const wildPointer = pointers('go1.21.3', MODINFO);
    wildPointer.writeBigUInt64LE(0xffffffffffff0000n, 16);
    assert.equal(readBuildInfo(elf(wildPointer)), undefined);
    const hugeLen = pointers('go1.21.3', MODINFO);
    hugeLen.writeBigUInt64LE(2n ** 62n, 32 + 8);
    assert.equal(readBuildInfo(elf(hugeLen)), undefined);
    const shTable = elf(inline('go1.21.3', MODINFO));
    shTable.writeBigUInt64LE(2n ** 63n, 0x28); // section table far outside the file
    shTable.writeUInt16LE(0xffff, 0x38); // and 65535 program headers
    assert.doesNotThrow(() => readBuildInfo(shTable));
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (const base of [elf(inline('go1.21.3', MODINFO)), elf(pointers('go1.21.3', MODINFO))]) {
      for (let i = 0; i < 300; i++) {
        const b = Buffer.from(base);
        for (let j = 0; j < 4; j++) b[rnd(b.length)] = rnd(256);
        assert.doesNotThrow(() => readBuildInfo(b));
      }
    }
  });
});

/** Real Go binaries on this machine; their module info is checked against the tab-separated lines in their bytes. */
const linesIn = (bin: Buffer, kind: string): Set<string> =>
  new Set([...bin.toString('latin1').matchAll(new RegExp(`\\n${kind}\\t([^\\t\\n]+)\\t([^\\t\\n]+)`, 'g'))].map((m) => `${m[1]}@${m[2]}`));
const hasGo = ((): boolean => {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('go build info of real binaries', () => {
  const NATS = '/usr/sbin/nats-server';
  it('nats-server (Go 1.19, built outside module mode)', () => {
    const bin = readFileSync(NATS);
    const info = readBuildInfo(bin);
    assert.ok(info);
    const toolchain = /go1\.\d+(\.\d+)?/.exec(bin.toString('latin1'))?.[0];
    assert.equal(info.goVersion, toolchain);
    assert.equal(info.path, 'github.com/nats-io/nats-server');
    assert.ok(bin.includes(`path\t${info.path}\n`));
    assert.equal(info.main, undefined);
    assert.deepEqual(info.deps, [], 'no dep lines in this binary');
    assert.equal(linesIn(bin, 'dep').size, 0);
    assert.deepEqual(packagesFromBuildInfo(info, 'usr/sbin/nats-server').map((p) => `${p.name}@${p.version}`), [
      `stdlib@${goVersionToSemver(toolchain!)}`,
    ]);
  });

  const TF = '/usr/local/bin/terraform';
  it('terraform (hundreds of deps, local replacements)', () => {
    const bin = readFileSync(TF);
    const info = readBuildInfo(bin);
    assert.ok(info);
    assert.equal(info.main?.path, 'github.com/hashicorp/terraform');
    assert.ok(info.deps.length > 100);
    // Its only replacements are local directories, so the deps are exactly the dep lines.
    assert.deepEqual(new Set(info.deps.map((d) => `${d.path}@${d.version}`)), linesIn(bin, 'dep'));
    if (hasGo) {
      const out = execFileSync('go', ['version', '-m', TF], { encoding: 'utf8' });
      const deps = new Set([...out.matchAll(/^\tdep\t(\S+)\t(\S+)/gm)].map((m) => `${m[1]}@${m[2]}`));
      assert.deepEqual(new Set(info.deps.map((d) => `${d.path}@${d.version}`)), deps);
    }
  });

});

describe('go package scanner', () => {
  it('wants executables where images keep them, not sources or data', () => {
    for (const p of ['usr/local/bin/app', 'bin/x', 'usr/bin/kubectl', 'app/server', 'manager', 'ko-app/hello', 'opt/tool/bin/tool', 'opt/tool/server', 'go/bin/dlv']) {
      assert.ok(wants(p), p);
    }
    for (const p of ['usr/local/go/src/net/http/server.go', 'etc/passwd', 'usr/share/doc/x/README', 'app/config.yaml', 'usr/lib/x86_64-linux-gnu/libc.so.6', 'usr/local/lib/python3.12/x', 'opt/conda/pkgs/a/b', 'usr/local/bin/libfoo.so']) {
      assert.ok(!wants(p), p);
    }
    assert.ok(!wants('usr/bin/huge', 300 * 1024 * 1024));
    assert.ok(new GoPackageScanner(1000).wants('usr/bin/x', 900));
    assert.ok(!new GoPackageScanner(1000).wants('usr/bin/x', 2000));
  });

  it('reports Go binaries in the view and skips everything else', async () => {
    const bin = elf(inline('go1.21.3', MODINFO));
    const pkgs = await new GoPackageScanner().scan(view({
      'usr/local/bin/app': bin,
      'usr/bin/script': Buffer.from('#!/bin/sh\necho hello, this is a shell script of some length\n'),
      'usr/bin/c-program': elf(Buffer.alloc(64)),
      'bin/truncated': bin,
      'etc/os-release': Buffer.from('ID=alpine\n'.repeat(10)),
    }, ['bin/truncated']));
    assert.deepEqual(pkgs.map((p) => `${p.location} ${p.name}@${p.version}`), [
      'usr/local/bin/app example.com/app@v1.4.0',
      'usr/local/bin/app golang.org/x/net@v0.7.0',
      'usr/local/bin/app github.com/fork/yaml@v1.0.1',
      'usr/local/bin/app example.com/app/internal@v0.0.0-00010101000000-000000000000',
      'usr/local/bin/app stdlib@v1.21.3',
    ]);
    assert.deepEqual(await new GoPackageScanner().scan(view({})), []);
  });
});
