/**
 * Feed format detection from content, not from file names: `parseFeedFile(path | {name, bytes})` → ParsedFeed[].
 *
 *   gzip magic            → inflate (bounded), then detect again
 *   tar ("ustar" header)  → every regular entry on its own; entries of no known format are skipped and counted
 *   XML <oval_definitions> → OVAL (Red Hat, Mariner)
 *   "[dd Mon yyyy] DSA-n" → Debian DSA/DLA list
 *   JSON / YAML document  → CSAF (document.category csaf_*), OSV (id + schema_version/affected), Alpine secdb
 *                           (distroversion + packages, or vuln-list's one-package form), Debian tracker (objects keyed
 *                           by CVE ids)
 *
 * Anything else throws UnknownFeedFormatError naming the input; unreadable content of a recognised container
 * (truncated gzip, broken tar, broken JSON) throws MalformedFeedError; a single document or archive entry over
 * `maxBytes` (default 512 MiB, after decompression) throws FeedTooLargeError. Results with the same feed name (an
 * archive of OSV records) are merged into one.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import YAML from 'yaml';
import type { ParsedFeed } from '../model.js';
import { looksLikeAlpineSecdb, parseAlpineSecdb } from './alpine-secdb.js';
import {
  type FeedResult,
  FeedError,
  FeedTooLargeError,
  MalformedFeedError,
  UnknownFeedFormatError,
  bump,
  isRecord,
  mergeCounts,
  sortVulns,
} from './common.js';
import { type CsafOptions, looksLikeCsaf, parseCsaf } from './csaf-vex.js';
import { looksLikeDebianAdvisoryList, parseDebianAdvisoryList } from './debian-dsa.js';
import { looksLikeDebianTracker, parseDebianTracker } from './debian-tracker.js';
import { looksLikeOval, parseOval } from './oval.js';
import { looksLikeOsv, parseOsvDocuments } from './osv.js';

export { FeedError, FeedTooLargeError, MalformedFeedError, UnknownFeedFormatError } from './common.js';
export type { FeedResult } from './common.js';

export const DEFAULT_MAX_FEED_BYTES = 512 * 1024 * 1024;
const MAX_NESTING = 4;

export interface FeedInput {
  name: string;
  bytes: Uint8Array;
}

export interface ParseFeedOptions {
  /** Largest single document (decompressed) or archive entry accepted. */
  maxBytes?: number;
  csaf?: CsafOptions;
}

export async function parseFeedFile(input: string | FeedInput, options: ParseFeedOptions = {}): Promise<FeedResult[]> {
  const max = options.maxBytes ?? DEFAULT_MAX_FEED_BYTES;
  let name: string;
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    name = input;
    bytes = await readFile(input);
  } else ({ name, bytes } = input);
  const results = await parseBytes(name, bytes, options, max, 0);
  return mergeByName(results);
}

/** Same, for callers holding ParsedFeed only. */
export async function parseFeed(input: string | FeedInput, options: ParseFeedOptions = {}): Promise<ParsedFeed[]> {
  return parseFeedFile(input, options);
}

function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

function isTar(b: Uint8Array): boolean {
  if (b.length < 512) return false;
  const magic = Buffer.from(b.buffer, b.byteOffset + 257, 5).toString('latin1');
  return magic === 'ustar';
}

async function parseBytes(
  name: string,
  bytes: Uint8Array,
  options: ParseFeedOptions,
  max: number,
  depth: number,
): Promise<FeedResult[]> {
  if (bytes.length > max) throw new FeedTooLargeError(name, max);
  if (depth > MAX_NESTING) throw new UnknownFeedFormatError(name, 'archives nested too deeply');
  if (isGzip(bytes)) {
    let inflated: Buffer;
    try {
      inflated = gunzipSync(bytes, { maxOutputLength: max });
    } catch (err) {
      if (err instanceof RangeError || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
        throw new FeedTooLargeError(name, max);
      throw new MalformedFeedError(name, `gzip: ${(err as Error).message}`, { cause: err });
    }
    return parseBytes(name, inflated, options, max, depth + 1);
  }
  if (isTar(bytes)) return parseTar(name, bytes, options, max, depth);
  return parseDocument(name, bytes, options);
}

async function parseTar(
  name: string,
  bytes: Uint8Array,
  options: ParseFeedOptions,
  max: number,
  depth: number,
): Promise<FeedResult[]> {
  const results: FeedResult[] = [];
  const skipped: Record<string, number> = {};
  const extract = tar.extract();
  Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]).pipe(extract);
  try {
    for await (const entry of extract) {
      const h = entry.header;
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      const entryName = `${name}!${h.name}`;
      if ((h.size ?? 0) > max) {
        entry.resume();
        throw new FeedTooLargeError(entryName, max);
      }
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const data = Buffer.concat(chunks);
      try {
        results.push(...(await parseBytes(entryName, data, options, max, depth + 1)));
      } catch (err) {
        if (err instanceof UnknownFeedFormatError) bump(skipped, 'archive-entry:unknown-format');
        else throw err;
      }
    }
  } catch (err) {
    if (err instanceof FeedError) throw err;
    throw new MalformedFeedError(name, `tar: ${(err as Error).message}`, { cause: err });
  }
  if (results.length === 0) throw new UnknownFeedFormatError(name, 'archive holds no known vulnerability feed');
  mergeCounts(results[0]!.skipped, skipped);
  return results;
}

function decodeText(name: string, bytes: Uint8Array): string {
  // Binary junk is "not a feed", not "a broken feed".
  if (bytes.subarray(0, 8192).includes(0)) throw new UnknownFeedFormatError(name, 'binary content');
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new UnknownFeedFormatError(name, 'not UTF-8 text');
  }
}

function parseDocument(name: string, bytes: Uint8Array, options: ParseFeedOptions): FeedResult[] {
  const text = decodeText(name, bytes);
  const head = text.slice(0, 4096).trimStart();
  if (head === '') throw new UnknownFeedFormatError(name, 'empty');

  if (head.startsWith('<')) {
    if (!looksLikeOval(head)) throw new UnknownFeedFormatError(name, 'XML without an oval_definitions root');
    try {
      return [parseOval(text, { fileName: basename(name) })];
    } catch (err) {
      throw new MalformedFeedError(name, `OVAL: ${(err as Error).message}`, { cause: err });
    }
  }
  if (looksLikeDebianAdvisoryList(text)) return [parseDebianAdvisoryList(text)];

  let doc: unknown;
  let parsed = false;
  if (head.startsWith('{') || head.startsWith('[')) {
    try {
      doc = JSON.parse(text);
      parsed = true;
    } catch (err) {
      // Maybe YAML flow style; if YAML cannot read it either, it is broken JSON.
      try {
        doc = YAML.parse(text, { schema: 'failsafe' });
        parsed = true;
      } catch {
        throw new MalformedFeedError(name, `JSON: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  if (!parsed) {
    try {
      doc = YAML.parse(text, { schema: 'failsafe', maxAliasCount: 100 });
    } catch {
      throw new UnknownFeedFormatError(name, 'neither JSON, YAML, XML nor a DSA/DLA list');
    }
  }
  return classify(name, doc, options);
}

function classify(name: string, doc: unknown, options: ParseFeedOptions): FeedResult[] {
  if (looksLikeCsaf(doc)) return [parseCsaf(doc, options.csaf)];
  if (looksLikeOsv(doc)) return parseOsvDocuments([doc]);
  if (Array.isArray(doc) && doc.length > 0 && doc.every(looksLikeOsv)) return parseOsvDocuments(doc);
  if (looksLikeAlpineSecdb(doc)) return [parseAlpineSecdb(doc)];
  if (looksLikeDebianTracker(doc)) return [parseDebianTracker(doc)];
  const what = isRecord(doc) ? 'a JSON/YAML object' : Array.isArray(doc) ? 'a JSON/YAML array' : 'a scalar';
  throw new UnknownFeedFormatError(name, `${what} of no known vulnerability feed format`);
}

function mergeByName(results: FeedResult[]): FeedResult[] {
  const byName = new Map<string, FeedResult>();
  for (const r of results) {
    const prev = byName.get(r.name);
    if (!prev) {
      byName.set(r.name, { name: r.name, vulnerabilities: [...r.vulnerabilities], skipped: { ...r.skipped } });
      continue;
    }
    prev.vulnerabilities.push(...r.vulnerabilities);
    mergeCounts(prev.skipped, r.skipped);
  }
  let out = [...byName.values()];
  // An archive's OSV records of skipped ecosystems only leave an empty "osv" result: fold its counts into a real one.
  const empty = out.filter((r) => r.vulnerabilities.length === 0);
  const full = out.filter((r) => r.vulnerabilities.length > 0);
  if (full.length > 0 && empty.length > 0) {
    for (const e of empty) mergeCounts(full[0]!.skipped, e.skipped);
    out = full;
  }
  for (const r of out) sortVulns(r.vulnerabilities);
  return out;
}
