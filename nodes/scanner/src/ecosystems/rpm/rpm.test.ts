import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import initSqlJs from 'sql.js';
import { FileTooLargeError } from '../../indexer/types.js';
import { readBdbBlobs } from './bdb.js';
import { RpmDbError } from './errors.js';
import { parseHeader, splitSourceRpm, TAG } from './header.js';
import { readNdbBlobs } from './ndb.js';
import { packagesFromRpmDb, RpmPackageScanner } from './package-scanner.js';
import { readSqliteBlobs } from './sqlite.js';
import { VULN_DATA } from '../../../../../test/support/vuln-data.js';
import { memoryView } from '../../indexer/test-helpers.js';

const data = (f: string): Buffer =>
  readFileSync(join(VULN_DATA, 'pkgdb/rpm', f));
const BDB = data('rhel8-libuuid.Packages');
const NDB = data('sle15-bci.Packages.db');

/** A v4-style header blob (no region tag: the parser does not need one) from [tag, value] pairs. */
function header(tags: [number, string | number][]): Buffer {
  const index: Buffer[] = [];
  const store: Buffer[] = [];
  let off = 0;
  for (const [tag, v] of tags) {
    if (typeof v === 'number') {
      const pad = (4 - (off % 4)) % 4;
      if (pad) store.push(Buffer.alloc(pad));
      off += pad;
    }
    const bytes = typeof v === 'number' ? Buffer.alloc(4) : Buffer.from(`${v}\0`);
    if (typeof v === 'number') bytes.writeUInt32BE(v);
    const e = Buffer.alloc(16);
    e.writeUInt32BE(tag, 0);
    e.writeUInt32BE(typeof v === 'number' ? 4 : 6, 4);
    e.writeUInt32BE(off, 8);
    e.writeUInt32BE(1, 12);
    index.push(e);
    store.push(bytes);
    off += bytes.length;
  }
  const pre = Buffer.alloc(8);
  pre.writeUInt32BE(tags.length, 0);
  pre.writeUInt32BE(off, 4);
  return Buffer.concat([pre, ...index, ...store]);
}

async function sqliteDb(blobs: Buffer[], table = 'Packages'): Promise<Buffer> {
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  db.run(`CREATE TABLE ${table} (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)`);
  for (const b of blobs) db.run(`INSERT INTO ${table} (blob) VALUES (?)`, [b]);
  const out = Buffer.from(db.export());
  db.close();
  return out;
}

const view = memoryView;

const rejects = async (f: () => unknown, kind?: string): Promise<void> => {
  await assert.rejects(async () => f(), (err: unknown) => {
    assert.ok(err instanceof RpmDbError, `expected RpmDbError, got ${String(err)}`);
    if (kind) assert.equal(err.kind, kind);
    return true;
  });
};

describe('rpm header', () => {
  it('reads name, epoch, version, release, arch, source rpm and modularity label', () => {
    const h = parseHeader(header([
      [TAG.NAME, 'nodejs'], [TAG.EPOCH, 1], [TAG.VERSION, '18.14.2'], [TAG.RELEASE, '2.module+el8.7.0+18113+1e5a7c8a'],
      [TAG.ARCH, 'x86_64'], [TAG.SOURCERPM, 'nodejs-18.14.2-2.module+el8.7.0+18113+1e5a7c8a.src.rpm'],
      [TAG.MODULARITYLABEL, 'nodejs:18:8070020230306170042:bd1311ed'],
    ]));
    assert.deepEqual(h, {
      name: 'nodejs', epoch: 1, version: '18.14.2', release: '2.module+el8.7.0+18113+1e5a7c8a', arch: 'x86_64',
      sourceRpm: 'nodejs-18.14.2-2.module+el8.7.0+18113+1e5a7c8a.src.rpm', modularityLabel: 'nodejs:18:8070020230306170042:bd1311ed',
    });
  });

  it('splits source rpm file names from the right', () => {
    assert.deepEqual(splitSourceRpm('util-linux-2.32.1-42.el8_8.src.rpm'), { name: 'util-linux', version: '2.32.1', release: '42.el8_8' });
    assert.equal(splitSourceRpm('(none)'), undefined);
    assert.equal(splitSourceRpm('noversion.src.rpm'), undefined);
  });

  it('refuses headers that lie about their layout with a typed error', async () => {
    const good = header([[TAG.NAME, 'a'], [TAG.VERSION, '1'], [TAG.RELEASE, '1']]);
    const lie = (mut: (b: Buffer) => void): Buffer => {
      const b = Buffer.from(good);
      mut(b);
      return b;
    };
    await rejects(() => parseHeader(Buffer.alloc(3)), 'header');
    await rejects(() => parseHeader(lie((b) => b.writeUInt32BE(0, 0))), 'header'); // no entries
    await rejects(() => parseHeader(lie((b) => b.writeUInt32BE(0xffffffff, 0))), 'header'); // 4 G entries
    await rejects(() => parseHeader(lie((b) => b.writeUInt32BE(4, 0))), 'header'); // one entry more than exists
    await rejects(() => parseHeader(lie((b) => b.writeUInt32BE(0x7fffffff, 4))), 'header'); // giant data store
    await rejects(() => parseHeader(lie((b) => b.writeUInt32BE(b.readUInt32BE(4) + 1, 4))), 'header'); // one byte more
    await rejects(() => parseHeader(lie((b) => b.writeInt32BE(1_000_000, 8 + 8))), 'header'); // NAME offset far out
    await rejects(() => parseHeader(lie((b) => b.writeInt32BE(-5, 8 + 8))), 'header'); // negative offset
    await rejects(() => parseHeader(lie((b) => b.writeUInt32BE(4, 8 + 4))), 'header'); // NAME typed as int32
    await rejects(() => parseHeader(lie((b) => (b[b.length - 1] = 0x41))), 'header'); // RELEASE not NUL-terminated
    await rejects(() => parseHeader(header([[TAG.NAME, 'a'], [TAG.VERSION, '1']])), 'header'); // no RELEASE
    await rejects(() => parseHeader(header([[TAG.NAME, 'a'], [TAG.VERSION, '1'], [TAG.RELEASE, '1'], [TAG.EPOCH, 0]]).subarray(0, 60)), 'header');
  });
});

describe('rpm Berkeley DB (rhel8-libuuid.Packages)', () => {
  it('finds the one package rpm -qa lists', async () => {
    // rpm -qa --qf '%{NAME} %{EPOCHNUM}:%{VERSION}-%{RELEASE} %{ARCH} %{SOURCERPM}' on this file:
    // libuuid 0:2.32.1-42.el8_8 x86_64 util-linux-2.32.1-42.el8_8.src.rpm
    const pkgs = await packagesFromRpmDb(BDB, 'var/lib/rpm/Packages');
    assert.deepEqual(pkgs, [{
      name: 'libuuid', version: '2.32.1-42.el8_8', format: 'rpm', location: 'var/lib/rpm/Packages', arch: 'x86_64',
      source: { name: 'util-linux', version: '2.32.1-42.el8_8' },
    }]);
  });

  it('reads the header across a chain of overflow pages', () => {
    const [blob] = readBdbBlobs(BDB);
    assert.ok(blob && blob.length > 4096, 'the libuuid header spans several 4 KiB pages');
  });

  it('refuses truncated, garbage and self-referencing files with RpmDbError', async () => {
    await rejects(() => readBdbBlobs(BDB.subarray(0, 100)), 'bdb');
    await rejects(() => readBdbBlobs(BDB.subarray(0, BDB.length - 4096)), 'bdb'); // last page missing
    await rejects(() => packagesFromRpmDb(Buffer.alloc(8192, 0x5a), 'x'));
    const badPageSize = Buffer.from(BDB);
    badPageSize.writeUInt32LE(4097, 20);
    await rejects(() => readBdbBlobs(badPageSize), 'bdb');
    // Point every overflow page's "next" back at itself: a loop, not an endless read.
    const loop = Buffer.from(BDB);
    const ps = loop.readUInt32LE(20);
    for (let n = 1; n * ps < loop.length; n++) if (loop[n * ps + 25] === 7) loop.writeUInt32LE(n, n * ps + 16);
    await rejects(() => readBdbBlobs(loop), 'bdb');
    // An off-page reference that declares a 4 GiB value.
    const huge = Buffer.from(BDB);
    for (let n = 1; n * ps < huge.length; n++) {
      const p = n * ps;
      if (huge[p + 25] !== 13) continue;
      const v = huge.readUInt16LE(p + 26 + 2);
      huge.writeUInt32LE(0xffffffff, p + v + 8);
    }
    await rejects(() => readBdbBlobs(huge), 'bdb');
  });

  it('never throws anything but RpmDbError on randomly damaged copies', async () => {
    let seed = 42;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    for (let i = 0; i < 200; i++) {
      const b = Buffer.from(BDB);
      for (let j = 0; j < 8; j++) b[rnd(b.length)] = rnd(256);
      try {
        await packagesFromRpmDb(b, 'x');
      } catch (err) {
        assert.ok(err instanceof RpmDbError, String(err));
      }
    }
  });
});

describe('rpm ndb (sle15-bci.Packages.db)', () => {
  it('parses every entry into a plausible SUSE package', async () => {
    const blobs = readNdbBlobs(NDB);
    const pkgs = await packagesFromRpmDb(NDB, 'var/lib/rpm/Packages.db');
    assert.equal(blobs.length, 35);
    assert.equal(pkgs.length, 35, 'no gpg-pubkey in this image, so every blob is a package');
    const by = new Map(pkgs.map((p) => [p.name, p]));
    assert.equal(by.get('glibc')?.version, '2.31-9.3.2');
    assert.equal(by.get('bash')?.version, '4.4-19.6.1');
    assert.equal(by.get('coreutils')?.version, '8.32-3.2.1');
    assert.equal(by.get('rpm-ndb')?.version, '4.14.3-40.1');
    assert.deepEqual(by.get('libreadline7')?.source, { name: 'bash', version: '4.4-19.6.1' });
    assert.deepEqual(by.get('libstdc++6')?.source, { name: 'gcc11', version: '11.2.1+git610-1.3.9' });
    for (const p of pkgs) {
      assert.match(p.version, /^[^-:]+-[^-:]+$/, p.name);
      assert.ok(p.arch === 'x86_64' || p.arch === 'noarch', p.name);
      assert.ok(p.source?.name, p.name);
    }
  });

  it('refuses damaged files with RpmDbError', async () => {
    await rejects(() => readNdbBlobs(NDB.subarray(0, 20)), 'ndb');
    await rejects(() => readNdbBlobs(NDB.subarray(0, 2000)), 'ndb'); // slot pages cut off
    await rejects(() => readNdbBlobs(NDB.subarray(0, NDB.length - 10000)), 'ndb'); // blobs cut off
    const many = Buffer.from(NDB);
    many.writeUInt32LE(0xffffffff, 12);
    await rejects(() => readNdbBlobs(many), 'ndb');
    // A slot whose blob length claims far more than its blocks.
    const long = Buffer.from(NDB);
    const slot = 2 * 16;
    const start = long.readUInt32LE(slot + 8) * 16;
    long.writeUInt32LE(0x7fffffff, start + 12);
    await rejects(() => readNdbBlobs(long), 'ndb');
    const wild = Buffer.from(NDB);
    wild.writeUInt32LE(0xfffffff0, slot + 8);
    await rejects(() => readNdbBlobs(wild), 'ndb');
  });
});

describe('rpm sqlite (rpmdb.sqlite)', () => {
  it('reads the headers from the Packages table', async () => {
    // No rpm binary here to --rebuilddb, so the database is built with sql.js from the BDB file's header blob.
    const [libuuid] = readBdbBlobs(BDB);
    const pubkey = header([[TAG.NAME, 'gpg-pubkey'], [TAG.VERSION, 'fd431d51'], [TAG.RELEASE, '4ae0493b']]);
    const modular = header([
      [TAG.NAME, 'perl-DBI'], [TAG.VERSION, '1.641'], [TAG.RELEASE, '4.module+el8.9.0+1+deadbeef'], [TAG.EPOCH, 2],
      [TAG.ARCH, 'x86_64'], [TAG.SOURCERPM, 'perl-DBI-1.641-4.module+el8.9.0+1+deadbeef.src.rpm'],
      [TAG.MODULARITYLABEL, 'perl-DBI:1.641:8090020230517:abcdef01'],
    ]);
    const db = await sqliteDb([libuuid!, pubkey, modular]);
    assert.equal((await readSqliteBlobs(db)).length, 3);
    const pkgs = await packagesFromRpmDb(db, 'var/lib/rpm/rpmdb.sqlite');
    assert.deepEqual(pkgs.map((p) => [p.name, p.version, p.arch, p.source?.name, p.source?.version, p.module]), [
      ['libuuid', '2.32.1-42.el8_8', 'x86_64', 'util-linux', '2.32.1-42.el8_8', undefined],
      ['perl-DBI', '2:1.641-4.module+el8.9.0+1+deadbeef', 'x86_64', 'perl-DBI', '2:1.641-4.module+el8.9.0+1+deadbeef', 'perl-DBI:1.641'],
    ]);
  });

  it('reads a database written by the sqlite3 tool with rpm\'s schema', async () => {
    // rpm's own DDL (lib/backend/sqlite.c); the blob goes in through the shell's readfile().
    const dir = mkdtempSync(join(tmpdir(), 'wharf-rpmdb-'));
    try {
      writeFileSync(join(dir, 'blob'), readBdbBlobs(BDB)[0]!);
      execFileSync('sqlite3', [join(dir, 'rpmdb.sqlite'),
        'CREATE TABLE IF NOT EXISTS \'Packages\' (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);' +
        "INSERT INTO Packages (blob) VALUES (readfile('blob'));"], { cwd: dir });
      const pkgs = await packagesFromRpmDb(readFileSync(join(dir, 'rpmdb.sqlite')), 'var/lib/rpm/rpmdb.sqlite');
      assert.deepEqual(pkgs.map((p) => `${p.name} ${p.version} ${p.arch} ${p.source?.name}`), ['libuuid 2.32.1-42.el8_8 x86_64 util-linux']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses garbage and foreign databases with RpmDbError', async () => {
    await rejects(() => readSqliteBlobs(Buffer.from('not sqlite at all, not at all')), 'sqlite');
    const garbage = Buffer.alloc(8192, 0xaa);
    garbage.write('SQLite format 3\0', 0, 'latin1');
    await rejects(() => readSqliteBlobs(garbage), 'sqlite');
    await rejects(async () => readSqliteBlobs(await sqliteDb([], 'Other')), 'sqlite');
    const db = await sqliteDb([Buffer.from('short')]);
    await rejects(() => packagesFromRpmDb(db, 'x'), 'header');
  });
});

describe('rpm package scanner', () => {
  const scanner = new RpmPackageScanner();

  it('declares interest in the database files only', () => {
    assert.ok(scanner.wants('var/lib/rpm/Packages'));
    assert.ok(scanner.wants('usr/lib/sysimage/rpm/rpmdb.sqlite'));
    assert.ok(!scanner.wants('var/lib/rpm/Basenames'));
    assert.ok(!scanner.wants('etc/os-release'));
  });

  it('finds whichever database the layer has', async () => {
    assert.deepEqual(await scanner.scan(view({})), []);
    const bdb = await scanner.scan(view({ 'var/lib/rpm/Packages': BDB }));
    assert.deepEqual(bdb.map((p) => `${p.name} ${p.location}`), ['libuuid var/lib/rpm/Packages']);
    const ndb = await scanner.scan(view({ 'usr/lib/sysimage/rpm/Packages.db': NDB }));
    assert.equal(ndb.length, 35);
    assert.equal(ndb[0]?.location, 'usr/lib/sysimage/rpm/Packages.db');
    // A leftover BDB beside the sqlite database rpm now uses: sqlite wins.
    const both = await scanner.scan(view({ 'var/lib/rpm/Packages': NDB, 'var/lib/rpm/rpmdb.sqlite': await sqliteDb([readBdbBlobs(BDB)[0]!]) }));
    assert.deepEqual(both.map((p) => `${p.name} ${p.location}`), ['libuuid var/lib/rpm/rpmdb.sqlite']);
  });

  it('bounds the database size it loads', async () => {
    await assert.rejects(new RpmPackageScanner(1000).scan(view({ 'var/lib/rpm/Packages': BDB })), FileTooLargeError);
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(scanner.scan(view({ 'var/lib/rpm/Packages.db': NDB }), ac.signal), { name: 'AbortError' });
  });
});
