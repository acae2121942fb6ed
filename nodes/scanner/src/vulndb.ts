import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { Pool } from '../../../shared/db/pool.js';
import { allCurrent, importFeed, type ImportResult, type StoredVulnerability } from '../../../shared/db/vulndb.js';
import { parseFeedFile } from './feeds/detect.js';
import type { Vulnerability } from './model.js';

export const BUNDLE_FORMAT = 'wharf-vulndb-bundle/v1';

/** Canonical JSON (sorted keys), so equal data always has the same fingerprint and checksum. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The fingerprint of one feed's records: independent of record order in the source file. */
export function fingerprintOf(records: readonly unknown[]): string {
  const lines = records.map(canonical).sort();
  const h = createHash('sha256');
  for (const l of lines) h.update(l).update('\n');
  return `sha256:${h.digest('hex')}`;
}

export interface ImportSummary extends ImportResult {
  source: string;
  skipped?: Record<string, number>;
  /** Bundles only: verified against a trusted key, or unsigned / signed by a key the node was not told to trust. */
  signature?: 'verified' | 'unsigned' | 'unverified';
}

/** Ed25519 keys for bundles: the exporting side signs, the importing side trusts a list of public keys. */
export interface BundleKeys {
  signing?: KeyObject;
  trusted: KeyObject[];
}

export function keyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url').slice(0, 22);
}

/**
 * Imports one uploaded file: a bundle made by `vulndb export` (checksum verified), or any feed file or archive the
 * parsers recognise (format detected from content). Each feed becomes an update operation; data already current
 * is a no-op.
 */
export async function importFeedBytes(db: Pool, name: string, bytes: Buffer, keys: BundleKeys = { trusted: [] }): Promise<ImportSummary[]> {
  const bundle = asBundle(bytes);
  if (bundle) {
    const signature = checkSignature(bundle, keys);
    const out: ImportSummary[] = [];
    for (const f of bundle.feeds) {
      out.push({ ...(await importFeed(db, f.feed, f.fingerprint, `bundle ${bundle.createdAt}`, f.records as StoredVulnerability[])), source: name, signature });
    }
    return out;
  }
  const parsed = await parseFeedFile({ name, bytes });
  const out: ImportSummary[] = [];
  for (const feed of parsed) {
    const records = feed.vulnerabilities as Vulnerability[];
    const result = await importFeed(db, feed.name, fingerprintOf(records), name, records);
    out.push({ ...result, source: name, ...(Object.keys(feed.skipped).length ? { skipped: feed.skipped } : {}) });
  }
  return out;
}

interface Bundle {
  format: typeof BUNDLE_FORMAT;
  createdAt: string;
  checksum: string;
  signature?: { alg: 'ed25519'; keyId: string; value: string };
  feeds: { feed: string; fingerprint: string; records: unknown[] }[];
}

/**
 * With trusted keys configured, a bundle must be signed by one of them; without, a signature cannot be checked
 * against anything and the import says so. The signature covers the checksum, which covers every record.
 */
function checkSignature(b: Bundle, keys: BundleKeys): 'verified' | 'unsigned' | 'unverified' {
  if (!b.signature) {
    if (keys.trusted.length > 0) throw new BundleError('the bundle is not signed, and this node only accepts bundles signed by a trusted key');
    return 'unsigned';
  }
  const key = keys.trusted.find((k) => keyId(k) === b.signature!.keyId);
  if (!key) {
    if (keys.trusted.length > 0) throw new BundleError(`the bundle is signed by key ${b.signature.keyId}, which this node does not trust`);
    return 'unverified';
  }
  if (b.signature.alg !== 'ed25519' || !verify(null, Buffer.from(b.checksum), key, Buffer.from(b.signature.value, 'base64'))) {
    throw new BundleError('the bundle signature does not verify');
  }
  return 'verified';
}

export class BundleError extends Error {
  override readonly name = 'BundleError';
}

function asBundle(bytes: Buffer): Bundle | undefined {
  // Cheap sniff before parsing a large feed file as JSON.
  if (!bytes.subarray(0, 200).toString('utf8').includes(BUNDLE_FORMAT)) return undefined;
  let doc: Bundle;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Bundle;
  } catch {
    throw new BundleError('the bundle is not valid JSON (truncated in transfer?)');
  }
  if (doc.format !== BUNDLE_FORMAT || !Array.isArray(doc.feeds)) throw new BundleError('not a Wharf vulnerability bundle');
  const sum = bundleChecksum(doc.feeds);
  if (sum !== doc.checksum) throw new BundleError(`bundle checksum mismatch: expected ${doc.checksum}, content is ${sum}`);
  for (const f of doc.feeds) {
    if (fingerprintOf(f.records) !== f.fingerprint) throw new BundleError(`feed ${f.feed}: records do not match their fingerprint`);
  }
  return doc;
}

function bundleChecksum(feeds: Bundle['feeds']): string {
  const h = createHash('sha256');
  for (const f of feeds) h.update(`${f.feed}\n${f.fingerprint}\n`);
  return `sha256:${h.digest('hex')}`;
}

/**
 * Every current feed as one bundle for an air-gapped site: the feeds' records with their fingerprints, a checksum
 * over the fingerprints (a damaged or edited bundle is refused on import) and, with a signing key, an Ed25519
 * signature of the checksum.
 */
export async function exportBundle(db: Pool, signing?: KeyObject): Promise<string> {
  const feeds: Bundle['feeds'] = [];
  for await (const f of allCurrent(db)) feeds.push({ feed: f.feed, fingerprint: fingerprintOf(f.records), records: f.records });
  const checksum = bundleChecksum(feeds);
  const bundle: Bundle = {
    format: BUNDLE_FORMAT, createdAt: new Date().toISOString(), checksum,
    ...(signing ? { signature: { alg: 'ed25519' as const, keyId: keyId(createPublicKeyOf(signing)), value: sign(null, Buffer.from(checksum), signing).toString('base64') } } : {}),
    feeds,
  };
  return JSON.stringify(bundle);
}

function createPublicKeyOf(k: KeyObject): KeyObject {
  return createPublicKey(k);
}

/** Manifests (with repositories and tags) whose current matches include this vulnerability id or alias. */
export async function affectedManifests(db: Pool, id: string): Promise<{ id: string; manifests: { digest: string; repository: string; tags: string[]; packages: string[] }[] }> {
  const r = await db.query<{ digest: string; repository: string; tags: string[]; packages: string[] }>(
    `SELECT f.manifest_digest AS digest, r.name AS repository,
       coalesce(array_agg(DISTINCT t.name) FILTER (WHERE t.name IS NOT NULL), '{}') AS tags,
       (SELECT array_agg(DISTINCT split_part(k, '|', 3) || ' ' || split_part(k, '|', 4)) FROM unnest(f.keys) k
        WHERE split_part(k, '|', 1) = $1 OR split_part(k, '|', 5) LIKE '%' || $1 || '%') AS packages
     FROM vulnerability_findings f
     JOIN manifests m ON m.digest = f.manifest_digest JOIN repositories r ON r.id = m.repository_id
     LEFT JOIN tags t ON t.repository_id = m.repository_id AND t.manifest_digest = m.digest
     WHERE EXISTS (SELECT 1 FROM unnest(f.keys) k WHERE split_part(k, '|', 1) = $1 OR split_part(k, '|', 5) LIKE '%' || $1 || '%')
     GROUP BY f.manifest_digest, r.name, f.keys ORDER BY r.name`,
    [id],
  );
  return { id, manifests: r.rows };
}
