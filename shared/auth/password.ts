/**
 * Password hashing (scrypt, self-describing encoding) and random secret tokens (robot and app tokens).
 *
 * Encoded hash: `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`. The parameters travel with the hash, so they can be
 * raised later: `needsRehash` tells the caller to re-hash on the next successful login.
 */
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** OWASP-level defaults (~32 MiB, tens of milliseconds). Tests pass smaller ones. */
export const DEFAULT_SCRYPT_PARAMS: ScryptParams = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

const SALT_BYTES = 16;
const HASH_BYTES = 32;
// Bounds for parameters read back from storage: a tampered row must not make verification allocate gigabytes.
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_PASSWORD_BYTES = 1024;
const B64URL_RE = /^[A-Za-z0-9_-]+$/;

export class PasswordHashFormatError extends Error {
  override readonly name = 'PasswordHashFormatError';
}

function scrypt(password: string, salt: Buffer, keylen: number, p: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scryptCb(password.normalize('NFC'), salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

function checkParams(p: ScryptParams): void {
  const ok =
    Number.isSafeInteger(p.N) && p.N >= 2 && p.N <= MAX_N && (p.N & (p.N - 1)) === 0 &&
    Number.isSafeInteger(p.r) && p.r >= 1 && p.r <= MAX_R &&
    Number.isSafeInteger(p.p) && p.p >= 1 && p.p <= MAX_P;
  if (!ok) throw new PasswordHashFormatError(`scrypt parameters out of range: N=${p.N} r=${p.r} p=${p.p}`);
}

function checkPassword(password: string): void {
  if (typeof password !== 'string') throw new TypeError('password must be a string');
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) throw new RangeError(`password longer than ${MAX_PASSWORD_BYTES} bytes`);
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  checkPassword(password);
  checkParams(params);
  const salt = randomBytes(SALT_BYTES);
  const hash = await scrypt(password, salt, HASH_BYTES, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

interface Decoded extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

const DECIMAL_RE = /^[1-9][0-9]{0,9}$/;

/** Decodes an encoded hash; throws PasswordHashFormatError on anything malformed or out of bounds. */
export function decodePasswordHash(encoded: string): Decoded & { readonly params: ScryptParams } {
  const parts = typeof encoded === 'string' ? encoded.split('$') : [];
  if (parts.length !== 6 || parts[0] !== 'scrypt') throw new PasswordHashFormatError('not an scrypt hash');
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  if (![n, r, p].every((x) => DECIMAL_RE.test(x))) throw new PasswordHashFormatError('bad scrypt parameters');
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  checkParams(params);
  if (!B64URL_RE.test(salt) || !B64URL_RE.test(hash)) throw new PasswordHashFormatError('bad salt or hash encoding');
  const saltBuf = Buffer.from(salt, 'base64url');
  const hashBuf = Buffer.from(hash, 'base64url');
  if (saltBuf.toString('base64url') !== salt || hashBuf.toString('base64url') !== hash) {
    throw new PasswordHashFormatError('non-canonical salt or hash encoding');
  }
  // The hash length is fixed: accepting a shorter one would let a truncated (weaker) hash verify.
  if (saltBuf.length < SALT_BYTES || saltBuf.length > 64 || hashBuf.length !== HASH_BYTES) {
    throw new PasswordHashFormatError('bad salt or hash length');
  }
  return { ...params, params, salt: saltBuf, hash: hashBuf };
}

/**
 * True when `password` matches `encoded`. A malformed or tampered encoding is a mismatch (false), never an exception,
 * so a corrupt row cannot be told apart from a wrong password by the caller's client.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  checkPassword(password);
  let d: Decoded;
  try {
    d = decodePasswordHash(encoded);
  } catch {
    return false;
  }
  const candidate = await scrypt(password, d.salt, d.hash.length, d);
  return candidate.length === d.hash.length && timingSafeEqual(candidate, d.hash);
}

/** True when the stored hash was made with parameters other than `current` (or is unreadable): re-hash on login. */
export function needsRehash(encoded: string, current: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  try {
    const d = decodePasswordHash(encoded);
    return d.N !== current.N || d.r !== current.r || d.p !== current.p;
  } catch {
    return true;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Secret tokens: `<kind>_<lookup>_<secret>`, e.g. `wharfr_3f9a0c12d4e5_Q2hv...` (43 base64url chars of secret).
// The whole token is shown once; storage keeps `lookup` (non-secret, indexed) and the SHA-256 of the whole token.
// A high-entropy random secret needs no slow hash: SHA-256 is enough and keeps each API request cheap.
// ---------------------------------------------------------------------------------------------------------------

const KIND_RE = /^[a-z]{2,16}$/;
const TOKEN_RE = /^([a-z]{2,16})_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface SecretToken {
  /** The full token: give it to the user once, never store it. */
  readonly token: string;
  /** Non-secret lookup id (12 hex chars) to find the row. */
  readonly lookup: string;
  /** SHA-256 of the full token, lowercase hex: the only secret-derived value stored. */
  readonly hash: string;
}

export function createSecretToken(kind = 'wharf'): SecretToken {
  if (!KIND_RE.test(kind)) throw new RangeError(`token kind must match ${KIND_RE}`);
  const lookup = randomBytes(6).toString('hex');
  const token = `${kind}_${lookup}_${randomBytes(32).toString('base64url')}`;
  return { token, lookup, hash: hashSecretToken(token) };
}

/** Splits a presented token; null when it is not shaped like one of ours (reject without a lookup). */
export function parseSecretToken(token: string): { kind: string; lookup: string } | null {
  if (typeof token !== 'string' || token.length > 128) return null;
  const m = TOKEN_RE.exec(token);
  return m ? { kind: m[1]!, lookup: m[2]! } : null;
}

export function hashSecretToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Compares a presented token with a stored hash in constant time. */
export function verifySecretToken(token: string, storedHash: string): boolean {
  if (parseSecretToken(token) === null || !/^[0-9a-f]{64}$/.test(storedHash)) return false;
  return timingSafeEqual(Buffer.from(hashSecretToken(token), 'hex'), Buffer.from(storedHash, 'hex'));
}
