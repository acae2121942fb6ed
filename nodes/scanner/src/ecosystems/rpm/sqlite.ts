/**
 * rpm ≥ 4.16's sqlite backend (var/lib/rpm/rpmdb.sqlite; Fedora, RHEL 9, Amazon Linux 2023): one table
 * Packages(hnum INTEGER PRIMARY KEY, blob BLOB) of header blobs. Read with sql.js (sqlite compiled to wasm) from
 * bytes already in memory: no native module, no temp files, and the caller has bounded the size. A file that
 * sqlite rejects, or without that table, is an RpmDbError.
 */
import initSqlJs from 'sql.js';
import type { SqlJsStatic } from 'sql.js';
import { RpmDbError } from './errors.js';

let engine: Promise<SqlJsStatic> | undefined;
/** One wasm instance per process: compiling it costs tens of milliseconds. */
function sqlite(): Promise<SqlJsStatic> {
  engine ??= initSqlJs().catch((err: unknown) => {
    engine = undefined;
    throw err;
  });
  return engine;
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

export function isSqlite(buf: Uint8Array): boolean {
  return buf.length >= 16 && Buffer.from(buf.buffer, buf.byteOffset, 16).equals(SQLITE_MAGIC);
}

/** Every header blob in rpmdb.sqlite, by hnum. */
export async function readSqliteBlobs(file: Uint8Array): Promise<Buffer[]> {
  if (!isSqlite(file)) throw new RpmDbError('sqlite', 'not an sqlite database (bad magic)');
  const SQL = await sqlite();
  let db: InstanceType<SqlJsStatic['Database']> | undefined;
  try {
    db = new SQL.Database(file);
    const res = db.exec('SELECT blob FROM Packages ORDER BY hnum');
    const rows = res[0]?.values ?? [];
    const out: Buffer[] = [];
    for (const [blob] of rows) {
      if (!(blob instanceof Uint8Array)) throw new RpmDbError('sqlite', 'Packages.blob is not a blob');
      out.push(Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength));
    }
    return out;
  } catch (err) {
    if (err instanceof RpmDbError) throw err;
    throw new RpmDbError('sqlite', `cannot read Packages table: ${(err as Error).message}`, { cause: err });
  } finally {
    db?.close();
  }
}
