import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging/logger.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { startScannerNode, type RunningScanner } from '../../nodes/scanner/src/node.js';
import { VULN_DATA } from '../support/vuln-data.js';

/** URL updaters: conditional fetches over real HTTP, a 304 costs nothing, changed data becomes a new update. */
const VULN = join(VULN_DATA, 'secdb/alpine/v3.10-final.vuln-list/main');
let db: TestDatabase;
let work: string;
let scanner: RunningScanner;
let server: Server;
let body: Buffer;
let etag = '"v1"';
const requests: { ifNoneMatch: string | undefined }[] = [];

before(async () => {
  body = await readFile(join(VULN, 'openssl.json'));
  server = createServer((req, res) => {
    requests.push({ ifNoneMatch: req.headers['if-none-match'] });
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304).end();
      return;
    }
    res.writeHead(200, { ETag: etag, 'Content-Type': 'application/json' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/alpine/openssl.json`;
  db = await createTestDatabase();
  work = await mkdtemp(join(tmpdir(), 'wharf-updater-'));
  const config = loadConfig({
    WHARF_DATABASE_URL: db.url, WHARF_DATA_DIR: work, WHARF_SCANNER_PORT: '0', WHARF_SERVER_HOST: '127.0.0.1',
    // The second URL never answers: one unreachable feed must not stop the others.
    WHARF_SCANNER_FEED_URLS: `${url},http://127.0.0.1:9/unreachable.json`, WHARF_SCANNER_UPDATE_INTERVAL_MINUTES: '1440',
  });
  scanner = await startScannerNode(config, { log: createLogger({ level: 'silent', bindings: { node: 'test' } }) });
});
after(async () => {
  await scanner?.close();
  server?.close();
  await db?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

const update = async () => ((await (await fetch(`${scanner.url}/api/v1/vulndb/update`, { method: 'POST' })).json()) as { results: { url: string; status: string }[] }).results;

test('a feed URL is imported, then answered 304 with its ETag, then re-imported when its data changes', async () => {
  const first = await update();
  assert.equal(first[0]!.status, 'imported');
  assert.equal(first[1]!.status, 'failed');
  const again = await update();
  assert.equal(again[0]!.status, 'not-modified');
  assert.equal(requests.at(-1)!.ifNoneMatch, '"v1"');
  body = await readFile(join(VULN, 'musl.json'));
  etag = '"v2"';
  const changed = await update();
  assert.equal(changed[0]!.status, 'imported');
  const feeds = (await (await fetch(`${scanner.url}/api/v1/vulndb/feeds`)).json()) as { feeds: { feed: string; source: string }[] };
  assert.ok(feeds.feeds.some((f) => f.source === 'openssl.json' || f.source === 'musl.json'));
  const rows = await scanner.indexer.db.query<{ n: number }>('SELECT count(*)::int AS n FROM vuln_updates');
  assert.equal(rows.rows[0]!.n, 2, 'two real changes, two update operations; the 304 added none');
});
