// Shared helpers of the /v2 API conformance and hostile-input suites. Plain fetch for ordinary requests; a raw
// net.Socket where the test must control the wire (lying Content-Length, truncated bodies, unnormalised paths).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';
import { pushBlob, sha256 } from '../support/oci-client.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

export { pushBlob, sha256 };

export function sha512(data: Uint8Array | string): string {
  return `sha512:${createHash('sha512').update(data).digest('hex')}`;
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const body = (b: Uint8Array): BodyInit => b as unknown as BodyInit;
export const bytes = async (r: Response): Promise<Uint8Array> => new Uint8Array(await r.arrayBuffer());

/** Distinct pseudo-random bytes (deterministic per seed). */
export function randomBlob(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export interface OciErrorBody {
  errors: { code: string; message: string; detail?: unknown }[];
}

/** Asserts the status, the OCI error envelope shape and the first error's code. HEAD responses have no body. */
export async function expectError(r: Response, status: number, code: string, method = 'GET'): Promise<OciErrorBody | undefined> {
  const text = await r.text();
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status}: ${text.slice(0, 500)}`);
  if (method === 'HEAD') {
    assert.equal(text, '');
    return undefined;
  }
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  return assertEnvelope(text, code);
}

export function assertEnvelope(text: string, code: string): OciErrorBody {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    assert.fail(`error body is not JSON: ${text.slice(0, 300)}`);
  }
  assert.ok(doc && typeof doc === 'object' && !Array.isArray(doc), 'error body must be an object');
  const errors = (doc as { errors?: unknown }).errors;
  assert.ok(Array.isArray(errors) && errors.length > 0, `errors must be a non-empty array: ${text.slice(0, 300)}`);
  for (const e of errors) {
    assert.ok(e && typeof e === 'object', 'each error must be an object');
    assert.equal(typeof (e as { code?: unknown }).code, 'string', 'error.code must be a string');
    assert.equal(typeof (e as { message?: unknown }).message, 'string', 'error.message must be a string');
    assert.match((e as { code: string }).code, /^[A-Z_]+$/);
  }
  assert.equal((errors as { code: string }[])[0]!.code, code, `expected code ${code}: ${text.slice(0, 300)}`);
  return doc as OciErrorBody;
}

/** Resolves a (possibly relative) Location header against the registry URL. */
export function resolve(base: string, location: string | null): string {
  assert.ok(location, 'Location header missing');
  return new URL(location, base).toString();
}

/** POST /blobs/uploads/ → absolute Location of the new session. */
export async function startUpload(base: string, repo: string): Promise<string> {
  const r = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  assert.equal(r.status, 202, await r.text());
  return resolve(base, r.headers.get('location'));
}

export function withDigest(location: string, digest: string): string {
  const u = new URL(location);
  u.searchParams.set('digest', digest);
  return u.toString();
}

export function uploadId(location: string): string {
  return new URL(location).pathname.split('/').at(-1)!;
}

export async function patchChunk(location: string, data: Uint8Array, start?: number): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
  if (start !== undefined) headers['Content-Range'] = `${start}-${start + data.length - 1}`;
  return fetch(location, { method: 'PATCH', body: body(data), headers });
}

export async function putManifest(base: string, repo: string, ref: string, manifest: Uint8Array, contentType: string): Promise<Response> {
  return fetch(`${base}/v2/${repo}/manifests/${ref}`, { method: 'PUT', body: body(manifest), headers: { 'Content-Type': contentType } });
}

export async function putManifestOk(base: string, repo: string, ref: string, manifest: Uint8Array, contentType: string): Promise<string> {
  const r = await putManifest(base, repo, ref, manifest, contentType);
  assert.equal(r.status, 201, await r.text());
  return r.headers.get('docker-content-digest')!;
}

export interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  [k: string]: unknown;
}

/** Pushes config + layer blobs and returns an OCI image manifest (not pushed) referencing them. */
export async function ociImage(
  base: string, repo: string, seed: string, extra: Record<string, unknown> = {},
): Promise<{ manifest: Uint8Array; digest: string; config: Desc; layers: Desc[] }> {
  const configBytes = enc(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  const layerBytes = enc(`layer bytes of ${seed}`);
  const config = { mediaType: OCI_CONFIG, digest: await pushBlob(base, repo, configBytes), size: configBytes.length };
  const layer = { mediaType: OCI_LAYER, digest: await pushBlob(base, repo, layerBytes), size: layerBytes.length };
  const manifest = enc(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer], ...extra }));
  return { manifest, digest: sha256(manifest), config, layers: [layer] };
}

export function descOf(mediaType: string, content: Uint8Array, extra: Record<string, unknown> = {}): Desc {
  return { mediaType, digest: sha256(content), size: content.length, ...extra };
}

/** What a repository looks like from the outside, to prove a refused request changed nothing. */
export async function snapshot(
  base: string, repo: string, refs: { manifests?: string[]; blobs?: string[] } = {},
): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const cat = await fetch(`${base}/v2/_catalog`);
  out.catalog = { status: cat.status, body: await cat.json() };
  const tags = await fetch(`${base}/v2/${repo}/tags/list`);
  out.tags = { status: tags.status, body: await tags.text() };
  for (const ref of refs.manifests ?? []) {
    const r = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { headers: { Accept: `${OCI_MANIFEST}, ${OCI_INDEX}, ${DOCKER_MANIFEST}, ${DOCKER_LIST}` } });
    out[`manifest ${ref}`] = { status: r.status, digest: r.headers.get('docker-content-digest'), type: r.headers.get('content-type'), sha: sha256(await bytes(r)) };
  }
  for (const d of refs.blobs ?? []) {
    const r = await fetch(`${base}/v2/${repo}/blobs/${d}`);
    out[`blob ${d}`] = { status: r.status, sha: sha256(await bytes(r)) };
  }
  return out;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends bytes verbatim on a fresh TCP connection and parses the first HTTP response (Content-Length or chunked body, or up to the close). */
export function rawRequest(base: string, wire: Uint8Array | string): Promise<RawResponse | 'closed'> {
  const { hostname, port } = new URL(base);
  return new Promise((resolvePromise, reject) => {
    const sock = connect({ host: hostname, port: Number(port) });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (v: RawResponse | 'closed') => {
      if (done) return;
      done = true;
      sock.destroy();
      resolvePromise(v);
    };
    sock.on('error', (e) => done || reject(e));
    sock.on('connect', () => sock.write(typeof wire === 'string' ? Buffer.from(wire, 'latin1') : Buffer.from(wire)));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const parsed = parseResponse(buf, false);
      if (parsed) finish(parsed);
    });
    sock.on('end', () => finish(parseResponse(buf, true) ?? 'closed'));
  });
}

/**
 * Sends a request whose body is shorter than its Content-Length, waits for `whileOpen` (the server is then stuck
 * reading the body), and closes the connection. Resolves with whatever the server answered before the close
 * (normally nothing).
 */
export function truncatedRequest(base: string, wire: Uint8Array, whileOpen: () => Promise<void> = async () => {}): Promise<RawResponse | 'closed'> {
  const { hostname, port } = new URL(base);
  return new Promise((resolvePromise, reject) => {
    const sock = connect({ host: hostname, port: Number(port) });
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
    });
    sock.on('error', () => {});
    sock.on('connect', () => {
      sock.write(wire, () => {
        whileOpen().then(() => {
          sock.destroy();
          resolvePromise(parseResponse(buf, true) ?? 'closed');
        }, (e) => {
          sock.destroy();
          reject(e);
        });
      });
    });
  });
}

function parseResponse(buf: Buffer, atEnd: boolean): RawResponse | undefined {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const [statusLine, ...lines] = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const rest = buf.subarray(headEnd + 4);
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (rest.length < n) return atEnd ? { status, headers, body: rest.toString('utf8') } : undefined;
    return { status, headers, body: rest.subarray(0, n).toString('utf8') };
  }
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    let at = 0;
    const parts: Buffer[] = [];
    for (;;) {
      const eol = rest.indexOf('\r\n', at);
      if (eol < 0) return atEnd ? { status, headers, body: Buffer.concat(parts).toString('utf8') } : undefined;
      const size = parseInt(rest.subarray(at, eol).toString('latin1'), 16);
      if (size === 0) return { status, headers, body: Buffer.concat(parts).toString('utf8') };
      if (rest.length < eol + 2 + size + 2) return atEnd ? { status, headers, body: Buffer.concat(parts).toString('utf8') } : undefined;
      parts.push(rest.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }
  return atEnd ? { status, headers, body: rest.toString('utf8') } : undefined;
}

/** An HTTP/1.1 request head (and optional body) as wire bytes. */
export function wire(method: string, path: string, headers: Record<string, string | number>, payload?: Uint8Array): Buffer {
  const head = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
  return Buffer.concat([Buffer.from(head, 'latin1'), payload ? Buffer.from(payload) : Buffer.alloc(0)]);
}

/** Direct reads of the test database, to wait for the server to finish with an aborted request. */
export async function withDb<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Polls until `check` is true (bounded by attempts, not asserted as a time). */
export async function eventually(check: () => Promise<boolean>, what: string, attempts = 500): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`never happened: ${what}`);
}

/** Waits until the upload's write lease is held (`held`) or released (a request on it finished, aborted or not). */
export async function waitLease(dbUrl: string, id: string, held: boolean): Promise<void> {
  await withDb(dbUrl, (c) => eventually(async () => {
    const r = await c.query<{ free: boolean }>('SELECT lease_until IS NULL AS free FROM uploads WHERE id = $1', [id]);
    return (r.rows[0]?.free ?? true) === !held;
  }, `lease of upload ${id} ${held ? 'held' : 'released'}`));
}

/**
 * A fresh database whose default collation is ICU en-US (a common production setting, unlike the C collation of
 * the test server), for checks that ordering and pagination do not depend on the database collation.
 */
export async function createIcuDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const { TEST_PG_URL } = await import('../support/db.js');
  const name = `wharf_test_icu_${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 12)}`;
  await withDb(TEST_PG_URL, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`));
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withDb(TEST_PG_URL, async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}
