import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

type Env = Record<string, string | undefined>;

interface Client {
  url: string;
  headers: Record<string, string>;
}

async function files(path: string): Promise<string[]> {
  const s = await stat(path);
  if (!s.isDirectory()) return [path];
  const out: string[] = [];
  for (const e of (await readdir(path)).sort()) out.push(...(await files(join(path, e))));
  return out;
}

async function call(c: Client, method: string, path: string, body?: { stream: Readable; size?: number }): Promise<Response> {
  const init: RequestInit & { duplex?: 'half' } = { method, headers: { ...c.headers } };
  if (body) {
    init.body = Readable.toWeb(body.stream) as unknown as BodyInit;
    init.duplex = 'half';
    if (body.size !== undefined) (init.headers as Record<string, string>)['Content-Length'] = String(body.size);
    (init.headers as Record<string, string>)['Content-Type'] = 'application/octet-stream';
  }
  try {
    return await fetch(`${c.url}${path}`, init);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach ${c.url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
  }
}

/**
 * Everything one import command names goes up as one upload: a single file as it is, several files (or a folder)
 * as one tar streamed from disk. A feed is replaced whole by each import, so a feed spread over files (one OSV
 * advisory per file, Alpine's per-package files) must arrive together to be kept together.
 */
function uploadOf(list: { file: string; size: number }[]): { stream: Readable; size?: number; name: string } {
  if (list.length === 1) return { stream: createReadStream(list[0]!.file), size: list[0]!.size, name: list[0]!.file };
  const pack = tar.pack();
  void (async () => {
    try {
      for (const f of list) {
        await new Promise<void>((resolve, reject) => {
          const entry = pack.entry({ name: f.file.replace(/^\/+/, ''), size: f.size }, (err) => (err ? reject(err) : resolve()));
          createReadStream(f.file).on('error', reject).pipe(entry);
        });
      }
      pack.finalize();
    } catch (e) {
      pack.destroy(e as Error);
    }
  })();
  // tar-stream packs are streamx streams; Readable.from makes the Node stream fetch can take.
  return { stream: Readable.from(pack as unknown as AsyncIterable<Buffer>), name: `${list.length}-files.tar` };
}

async function failed(r: Response, what: string): Promise<string> {
  const text = await r.text();
  let msg = text.slice(0, 500);
  try {
    const j = JSON.parse(text) as { message?: string; errors?: { message: string }[] };
    msg = j.errors?.[0]?.message ?? j.message ?? msg;
  } catch { /* not JSON */ }
  return `${what}: HTTP ${r.status}: ${msg}`;
}

/** `wharf vulndb ...`; returns the exit code (0 ok, 1 a request failed, 2 usage). */
export async function vulndb(argv: string[], env: Env, out: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv, allowPositionals: true,
      options: { url: { type: 'string' }, user: { type: 'string' }, password: { type: 'string' }, json: { type: 'boolean' } },
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const [sub, ...paths] = parsed.positionals;
  const user = parsed.values.user ?? env.WHARF_USER;
  const password = parsed.values.password ?? env.WHARF_PASSWORD;
  const c: Client = {
    url: (parsed.values.url ?? env.WHARF_URL ?? 'http://127.0.0.1:5000').replace(/\/$/, ''),
    headers: user ? { Authorization: `Basic ${Buffer.from(`${user}:${password ?? ''}`).toString('base64')}` } : {},
  };
  const json = parsed.values.json ?? false;
  try {
    if (sub === 'import' && paths.length > 0) {
      const list: { file: string; size: number }[] = [];
      for (const p of paths) for (const f of await files(p)) list.push({ file: f, size: (await stat(f)).size });
      const upload = uploadOf(list);
      const r = await call(c, 'POST', `/api/v1/vulndb/import?name=${encodeURIComponent(upload.name)}`, upload);
      if (!r.ok) {
        process.stderr.write(`${await failed(r, upload.name)}\n`);
        return 1;
      }
      const body = (await r.json()) as { imported: { feed: string; status: string; vulnerabilities: number; signature?: string; skipped?: Record<string, number> }[]; rematchedManifests: number };
      if (json) out(JSON.stringify({ files: list.map((f) => f.file), ...body }, null, 2));
      else {
        for (const i of body.imported) {
          const skipped = i.skipped ? ` (skipped: ${Object.entries(i.skipped).map(([k, v]) => `${k} ${v}`).join(', ')})` : '';
          const signature = i.signature ? `, signature ${i.signature}` : '';
          out(`${i.feed}: ${i.status === 'unchanged' ? 'unchanged' : 'imported'} ${i.vulnerabilities} records${signature}${skipped}`);
        }
        if (body.rematchedManifests > 0) out(`re-matched ${body.rematchedManifests} indexed manifests`);
      }
      return 0;
    }
    if (sub === 'export' && paths.length === 1) {
      const r = await call(c, 'GET', '/api/v1/vulndb/export');
      if (!r.ok) {
        process.stderr.write(`${await failed(r, 'export')}\n`);
        return 1;
      }
      const text = await r.text();
      await writeFile(paths[0]!, text);
      const doc = JSON.parse(text) as { checksum: string; feeds: { feed: string; records: unknown[] }[] };
      out(json ? JSON.stringify({ file: paths[0], checksum: doc.checksum, feeds: doc.feeds.map((f) => ({ feed: f.feed, records: f.records.length })) })
        : `wrote ${paths[0]}: ${doc.feeds.length} feeds, ${doc.feeds.reduce((n, f) => n + f.records.length, 0)} records, checksum ${doc.checksum}`);
      return 0;
    }
    if (sub === 'feeds') {
      const r = await call(c, 'GET', '/api/v1/vulndb/feeds');
      if (!r.ok) {
        process.stderr.write(`${await failed(r, 'feeds')}\n`);
        return 1;
      }
      const body = (await r.json()) as { feeds: { feed: string; vulnerabilities: number; ageHours: number; stale: boolean }[]; warning?: string };
      if (json) out(JSON.stringify(body, null, 2));
      else {
        for (const f of body.feeds) out(`${f.feed}\t${f.vulnerabilities} records\t${f.ageHours} h old${f.stale ? '\tSTALE' : ''}`);
        if (body.warning) process.stderr.write(`warning: ${body.warning}\n`);
      }
      return 0;
    }
  } catch (e) {
    process.stderr.write(`wharf vulndb: ${(e as Error).message}\n`);
    return 1;
  }
  process.stderr.write('usage: wharf vulndb import PATH... | export FILE | feeds  [--url URL] [--user U --password P] [--json]\n');
  return 2;
}
