// The registry operations the bench times, written against the OCI distribution
// spec only, so they run unchanged against Wharf and CNCF Distribution.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { blobStream, blobChunks, sha256, type BlobSpec } from './data.js';
import { request, expectStatus, location, getAndDiscard, type HttpResult } from './http.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
/** What a client pulling by tag sends (docker/containerd send roughly this list). */
export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/**
 * 'single-post': POST /blobs/uploads/?digest=D with the whole body (OCI "single POST").
 * 'post-put':    POST to open a session, then one PUT <location>&digest=D with the whole body.
 */
export type MonolithicMode = 'single-post' | 'post-put';

const now = (): number => performance.now();

function withDigest(loc: URL, digest: string): URL {
  // Append rather than use searchParams: re-serialising would re-encode the opaque
  // session state some registries keep in the query string.
  const u = new URL(loc);
  u.search = `${u.search ? u.search + '&' : '?'}digest=${encodeURIComponent(digest)}`;
  return u;
}

/**
 * Whether the registry completes a blob upload from a single POST with ?digest=.
 * A registry that does not support it answers 202 (an ordinary upload session),
 * which we cancel.
 */
export async function supportsSinglePost(base: string, repo: string): Promise<boolean> {
  const body = Buffer.from('wharf bench single-POST probe\n');
  const res = await request(`${base}/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(sha256(body))}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length },
    body,
  });
  if (res.status === 201) return true;
  if (res.status === 202 && res.headers.location) {
    await request(location(res, base, 'probe'), { method: 'DELETE' }).catch(() => {});
  }
  return false;
}

export interface Transfer {
  bytes: number;
  seconds: number;
}

async function openUpload(base: string, repo: string): Promise<URL> {
  const url = `${base}/v2/${repo}/blobs/uploads/`;
  const res = expectStatus(await request(url, { method: 'POST', headers: { 'Content-Length': 0 } }), [202], `POST ${url}`);
  return location(res, url, 'POST upload');
}

/** Pushes the blob as one streamed request body (timed end to end, including the session POST). */
export async function pushMonolithic(base: string, repo: string, spec: BlobSpec, digest: string, mode: MonolithicMode): Promise<Transfer> {
  const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': spec.size };
  const t0 = now();
  let res: HttpResult;
  if (mode === 'single-post') {
    const url = `${base}/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(digest)}`;
    res = await request(url, { method: 'POST', headers, body: blobStream(spec) });
  } else {
    const loc = await openUpload(base, repo);
    res = await request(withDigest(loc, digest), { method: 'PUT', headers, body: blobStream(spec) });
  }
  const seconds = (now() - t0) / 1000;
  expectStatus(res, [201], `monolithic push (${mode}) of ${spec.size} bytes`);
  await verifyBlob(base, repo, digest, spec.size);
  return { bytes: spec.size, seconds };
}

/** Pushes the blob as PATCHes of `chunkSize` bytes, then a closing PUT ?digest= with no body. */
export async function pushChunked(base: string, repo: string, spec: BlobSpec, digest: string, chunkSize: number): Promise<Transfer> {
  const t0 = now();
  let loc = await openUpload(base, repo);
  for (let start = 0; start < spec.size; start += chunkSize) {
    const end = Math.min(spec.size, start + chunkSize);
    const res = await request(loc, {
      method: 'PATCH',
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Length': end - start,
        'Content-Range': `${start}-${end - 1}`,
      },
      body: blobStream(spec, start, end),
    });
    expectStatus(res, [202], `PATCH bytes ${start}-${end - 1}`);
    loc = location(res, loc, 'PATCH');
  }
  const res = await request(withDigest(loc, digest), { method: 'PUT', headers: { 'Content-Length': 0 } });
  const seconds = (now() - t0) / 1000;
  expectStatus(res, [201], 'closing PUT of chunked upload');
  await verifyBlob(base, repo, digest, spec.size);
  return { bytes: spec.size, seconds };
}

/** HEAD the blob: a push only counts if the registry then serves the right size under that digest. */
export async function verifyBlob(base: string, repo: string, digest: string, size: number): Promise<void> {
  const res = expectStatus(await request(`${base}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' }), [200], `HEAD blob ${digest}`);
  const len = Number(res.headers['content-length']);
  if (len !== size) throw new Error(`HEAD blob ${digest}: Content-Length ${len}, expected ${size}`);
}

/**
 * GETs the blob and discards it (following redirects, in case a registry offloads
 * blob serving). With `verify`, also hashes the bytes — used on an untimed pull, so
 * the bench's own hashing does not compete with the registry during timed pulls.
 * Timed pulls use the lean raw-socket reader when the registry answers a plain 200.
 */
export async function pullBlob(base: string, repo: string, digest: string, size: number, verify = false): Promise<Transfer> {
  const hash = verify ? createHash('sha256') : null;
  let url: URL = new URL(`${base}/v2/${repo}/blobs/${digest}`);
  const t0 = now();
  if (!verify) {
    const fast = await getAndDiscard(url);
    if (fast) {
      const seconds = (now() - t0) / 1000;
      if (fast.bytes !== size) throw new Error(`GET blob ${digest}: got ${fast.bytes} bytes, expected ${size}`);
      return { bytes: fast.bytes, seconds };
    }
    // Not a plain 200 (redirect, chunked, error): redo it with the general client below.
  }
  for (let hop = 0; ; hop++) {
    const res = await request(url, { method: 'GET', collect: 0, onData: hash ? (c) => hash.update(c) : undefined });
    if ([301, 302, 303, 307, 308].includes(res.status) && hop < 5) {
      url = location(res, url, 'blob redirect');
      continue;
    }
    const seconds = (now() - t0) / 1000;
    expectStatus(res, [200], `GET blob ${digest}`);
    if (res.bytes !== size) throw new Error(`GET blob ${digest}: got ${res.bytes} bytes, expected ${size}`);
    if (hash) {
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== digest) throw new Error(`GET blob ${digest}: content hashes to ${got}`);
    }
    return { bytes: res.bytes, seconds };
  }
}

async function pushSmallBlob(base: string, repo: string, content: Buffer, mode: MonolithicMode): Promise<string> {
  const digest = sha256(content);
  const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': content.length };
  let res: HttpResult;
  if (mode === 'single-post') {
    res = await request(`${base}/v2/${repo}/blobs/uploads/?digest=${encodeURIComponent(digest)}`, { method: 'POST', headers, body: content });
  } else {
    res = await request(withDigest(await openUpload(base, repo), digest), { method: 'PUT', headers, body: content });
  }
  expectStatus(res, [201], `push small blob ${digest}`);
  return digest;
}

/**
 * Pushes a minimal OCI image (config + one 32 KiB layer + manifest) under `tag` and
 * checks a GET by tag returns it. Returns the manifest digest.
 */
export async function pushSmallImage(base: string, repo: string, tag: string, mode: MonolithicMode): Promise<string> {
  const layer = Buffer.concat([...blobChunks({ size: 32 * 1024, seed: 424242 })]);
  const layerDigest = await pushSmallBlob(base, repo, layer, mode);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
      rootfs: { type: 'layers', diff_ids: [layerDigest] },
      history: [{ created_by: 'wharf bench' }],
    }),
  );
  const configDigest = await pushSmallBlob(base, repo, config, mode);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: configDigest, size: config.length },
      layers: [{ mediaType: OCI_LAYER, digest: layerDigest, size: layer.length }],
    }),
  );
  const manifestDigest = sha256(manifest);
  const url = `${base}/v2/${repo}/manifests/${tag}`;
  expectStatus(
    await request(url, { method: 'PUT', headers: { 'Content-Type': OCI_MANIFEST, 'Content-Length': manifest.length }, body: manifest }),
    [201],
    `PUT manifest ${tag}`,
  );
  const got = expectStatus(await request(url, { method: 'GET', headers: { Accept: MANIFEST_ACCEPT } }), [200], `GET manifest ${tag}`);
  if (sha256(got.text) !== manifestDigest) throw new Error(`GET manifest ${tag}: body does not match what was pushed`);
  return manifestDigest;
}

export interface WrkResult {
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Sum of connect/read/write/timeout errors and non-2xx/3xx responses. */
  errors: number;
  raw: string;
}

// done() prints a machine-readable line (microseconds, exact counts) so we don't have
// to rely only on wrk's rounded human output; that output is parsed as a fallback.
const WRK_LUA = `
wrk.method = "GET"
wrk.headers["Accept"] = "${MANIFEST_ACCEPT}"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"errors":%d}\\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
`;

/** "1.23ms" / "850.00us" / "2.01s" -> milliseconds. */
function wrkDurationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

export function parseWrk(out: string): WrkResult {
  const line = /^BENCH_RESULT (\{.*\})$/m.exec(out);
  if (line) {
    const j = JSON.parse(line[1]!) as Record<string, number>;
    const secs = j.duration_us! / 1e6;
    return {
      requests: j.requests!,
      durationSeconds: secs,
      requestsPerSecond: j.requests! / secs,
      p50Ms: j.p50_us! / 1000,
      p90Ms: j.p90_us! / 1000,
      p99Ms: j.p99_us! / 1000,
      errors: j.errors!,
      raw: out,
    };
  }
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN);
  const pct = (p: string): number => wrkDurationMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
  const requests = num(/(\d+) requests in/);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  const non2xx = num(/Non-2xx or 3xx responses: (\d+)/);
  return {
    requests,
    durationSeconds: wrkDurationMs(/requests in ([\d.]+\w+),/.exec(out)?.[1] ?? '') / 1000,
    requestsPerSecond: num(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: pct('50'),
    p90Ms: pct('90'),
    p99Ms: pct('99'),
    errors: socketErrors + (Number.isFinite(non2xx) ? non2xx : 0),
    raw: out,
  };
}

export interface WrkOptions {
  threads: number;
  connections: number;
  durationSeconds: number;
  scriptDir: string;
}

/** Runs wrk (a separate process, so the load generator never shares the bench's event loop). */
export function runWrk(url: string, o: WrkOptions): Promise<WrkResult> {
  const script = join(o.scriptDir, 'manifest-get.lua');
  writeFileSync(script, WRK_LUA);
  const args = [`-t${o.threads}`, `-c${o.connections}`, `-d${o.durationSeconds}s`, '--latency', '--timeout', '10s', '-s', script, url];
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.BENCH_WRK_BIN ?? 'wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${err || out}`));
      const r = parseWrk(out);
      if (!Number.isFinite(r.requestsPerSecond)) return reject(new Error(`cannot parse wrk output:\n${out}`));
      resolve(r);
    });
  });
}
