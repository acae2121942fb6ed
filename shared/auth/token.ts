/**
 * Registry bearer tokens per the Docker Registry v2 token specification: compact JWS, ES256 (P-256, SHA-256), header
 * `kid`, claims iss, sub, aud, exp, nbf, iat, jti and `access` (the granted `Access` entries).
 *
 * Keys rotate without downtime through a `KeySet`: one current signing key plus previous keys kept for verification
 * until every token they signed has expired. Verification trusts nothing in the header except `kid` as a lookup key:
 * `alg` must be exactly ES256, `jwk`/`jku`/`x5u`/`x5c` are never used, and `crit` is refused.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { accessProblem, formatScopes, type Access } from './scope.js';

// ---------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------

export class TokenError extends Error {
  override readonly name: string = 'TokenError';
}
export class TokenMalformedError extends TokenError {
  override readonly name: string = 'TokenMalformedError';
}
export class TokenAlgorithmError extends TokenError {
  override readonly name: string = 'TokenAlgorithmError';
}
export class TokenUnknownKeyError extends TokenError {
  override readonly name: string = 'TokenUnknownKeyError';
}
export class TokenSignatureError extends TokenError {
  override readonly name: string = 'TokenSignatureError';
}
export class TokenExpiredError extends TokenError {
  override readonly name: string = 'TokenExpiredError';
}
export class TokenNotYetValidError extends TokenError {
  override readonly name: string = 'TokenNotYetValidError';
}
export class TokenAudienceError extends TokenError {
  override readonly name: string = 'TokenAudienceError';
}
export class TokenIssuerError extends TokenError {
  override readonly name: string = 'TokenIssuerError';
}
export class TokenClaimsError extends TokenError {
  override readonly name: string = 'TokenClaimsError';
}

// ---------------------------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------------------------

export interface VerificationKey {
  readonly kid: string;
  readonly publicKey: KeyObject;
}
export interface SigningKey extends VerificationKey {
  readonly privateKey: KeyObject;
}

const KID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

function assertP256(k: KeyObject, what: string): void {
  if (k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TypeError(`${what} must be an EC P-256 key (ES256)`);
  }
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a P-256 public key: the default `kid`. */
export function keyThumbprint(publicKey: KeyObject): string {
  assertP256(publicKey, 'key');
  const jwk = publicKey.export({ format: 'jwk' });
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

function checkKid(kid: string): string {
  if (!KID_RE.test(kid)) throw new RangeError(`bad kid ${JSON.stringify(kid)}`);
  return kid;
}

export function generateSigningKey(kid?: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return Object.freeze({ kid: checkKid(kid ?? keyThumbprint(publicKey)), privateKey, publicKey });
}

/** A signing key from a PKCS#8 or SEC1 PEM private key (e.g. read from a mounted secret by main.ts). */
export function signingKeyFromPem(pem: string | Buffer, kid?: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  assertP256(privateKey, 'signing key');
  const publicKey = createPublicKey(privateKey);
  return Object.freeze({ kid: checkKid(kid ?? keyThumbprint(publicKey)), privateKey, publicKey });
}

/** A verification-only key from an SPKI PEM public key. */
export function verificationKeyFromPem(pem: string | Buffer, kid?: string): VerificationKey {
  const publicKey = createPublicKey(pem);
  assertP256(publicKey, 'verification key');
  return Object.freeze({ kid: checkKid(kid ?? keyThumbprint(publicKey)), publicKey });
}

/**
 * The current signing key plus previous keys that still verify. Immutable: `rotate` and `without` return new sets.
 * Rotation: `ks = ks.rotate(newKey)`; once the longest token lifetime has passed, `ks = ks.without(oldKid)`.
 */
export class KeySet {
  readonly signing: SigningKey;
  readonly #byKid: ReadonlyMap<string, VerificationKey>;

  constructor(signing: SigningKey, previous: readonly VerificationKey[] = []) {
    assertP256(signing.privateKey, 'signing key');
    const byKid = new Map<string, VerificationKey>();
    for (const k of [signing, ...previous]) {
      checkKid(k.kid);
      assertP256(k.publicKey, `key ${k.kid}`);
      if (byKid.has(k.kid)) throw new RangeError(`duplicate kid ${k.kid}`);
      byKid.set(k.kid, k);
    }
    this.signing = signing;
    this.#byKid = byKid;
  }

  /** The verification key for `kid`, or undefined. */
  find(kid: string): VerificationKey | undefined {
    return this.#byKid.get(kid);
  }

  get kids(): string[] {
    return [...this.#byKid.keys()];
  }

  /** New signing key; the current one (and the other previous ones) keep verifying. */
  rotate(next: SigningKey): KeySet {
    return new KeySet(next, [...this.#byKid.values()].filter((k) => k.kid !== next.kid));
  }

  /** Drops a previous key; tokens it signed stop verifying. The signing key cannot be removed. */
  without(kid: string): KeySet {
    if (kid === this.signing.kid) throw new RangeError('cannot remove the current signing key; rotate first');
    return new KeySet(this.signing, [...this.#byKid.values()].filter((k) => k.kid !== kid && k.kid !== this.signing.kid));
  }

  /** Public keys as a JWK Set, for publishing to registries that verify the tokens. */
  toJWKS(): { keys: Array<Record<string, unknown>> } {
    return {
      keys: [...this.#byKid.values()].map((k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, alg: 'ES256', use: 'sig' })),
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Issue and verify
// ---------------------------------------------------------------------------------------------------------------

export interface TokenClaims {
  readonly iss: string;
  /** The user or robot; empty for anonymous pulls. */
  readonly sub: string;
  readonly aud: string | readonly string[];
  readonly exp: number;
  readonly nbf: number;
  readonly iat: number;
  readonly jti: string;
  readonly access: readonly Access[];
}

export interface IssueOptions {
  readonly keys: KeySet;
  readonly issuer: string;
  /** The `service` of the token request, i.e. the registry the token is for. */
  readonly audience: string;
  readonly subject: string;
  /** Already down-scoped (see intersectAccess). */
  readonly access: readonly Access[];
  /** Lifetime; the spec recommends at least 60 s. Default 300 s. */
  readonly ttlSeconds?: number;
  /** Clock, for tests. */
  readonly now?: Date;
}

export interface IssuedToken {
  readonly token: string;
  readonly claims: TokenClaims;
  /** For the token endpoint response (`expires_in`, `issued_at`). */
  readonly expiresIn: number;
  readonly issuedAt: string;
}

const enc = (x: unknown) => Buffer.from(JSON.stringify(x), 'utf8').toString('base64url');

export function issueToken(o: IssueOptions): IssuedToken {
  const ttl = o.ttlSeconds ?? 300;
  if (!Number.isSafeInteger(ttl) || ttl <= 0) throw new RangeError('ttlSeconds must be a positive integer');
  const nowMs = (o.now ?? new Date()).getTime();
  const iat = Math.floor(nowMs / 1000);
  for (const a of o.access) {
    const problem = accessProblem(a);
    if (problem) throw new RangeError(`cannot issue access ${JSON.stringify(a)}: ${problem}`);
  }
  const claims: TokenClaims = {
    iss: o.issuer,
    sub: o.subject,
    aud: o.audience,
    exp: iat + ttl,
    nbf: iat,
    iat,
    jti: randomBytes(16).toString('base64url'),
    access: o.access.map((a) => ({ type: a.type, ...(a.class ? { class: a.class } : {}), name: a.name, actions: [...a.actions] })),
  };
  const key = o.keys.signing;
  const input = `${enc({ typ: 'JWT', alg: 'ES256', kid: key.kid })}.${enc(claims)}`;
  const sig = sign('sha256', Buffer.from(input, 'ascii'), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return { token: `${input}.${sig.toString('base64url')}`, claims, expiresIn: ttl, issuedAt: new Date(iat * 1000).toISOString() };
}

export interface VerifyOptions {
  readonly keys: KeySet;
  readonly issuer: string;
  /** This registry's service name; the token's `aud` must be or contain it. */
  readonly audience: string;
  /** Allowed clock skew for exp/nbf/iat. Default 30 s. */
  readonly leewaySeconds?: number;
  readonly now?: Date;
}

const B64URL_RE = /^[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 16 * 1024;

/** Strict base64url: the canonical unpadded encoding only, so a token has exactly one spelling. */
function b64(part: string, what: string): Buffer {
  if (!B64URL_RE.test(part)) throw new TokenMalformedError(`${what} is not base64url`);
  const buf = Buffer.from(part, 'base64url');
  if (buf.toString('base64url') !== part) throw new TokenMalformedError(`${what} is not canonical base64url`);
  return buf;
}

function jsonObject(buf: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf));
  } catch {
    throw new TokenMalformedError(`${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TokenMalformedError(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

const isNumericDate = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

/** Verifies a bearer token and returns its claims; throws a TokenError subclass naming what failed. */
export function verifyToken(token: string, o: VerifyOptions): TokenClaims {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new TokenMalformedError('bad token length');
  const parts = token.split('.');
  if (parts.length !== 3) throw new TokenMalformedError('expected three dot-separated parts');
  const [h, p, s] = parts as [string, string, string];

  const header = jsonObject(b64(h, 'header'), 'header');
  if (header.alg !== 'ES256') throw new TokenAlgorithmError(`algorithm ${JSON.stringify(header.alg)} not accepted; only ES256`);
  if ('crit' in header) throw new TokenMalformedError('critical header parameters are not supported');
  if (header.typ !== undefined && header.typ !== 'JWT') throw new TokenMalformedError('typ is not JWT');
  if (typeof header.kid !== 'string' || header.kid.length === 0) throw new TokenUnknownKeyError('token has no kid');
  const key = o.keys.find(header.kid);
  if (!key) throw new TokenUnknownKeyError(`unknown kid ${JSON.stringify(header.kid.slice(0, 130))}`);

  const sig = b64(s, 'signature');
  if (sig.length !== 64) throw new TokenSignatureError('bad signature');
  const ok = verify('sha256', Buffer.from(`${h}.${p}`, 'ascii'), { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, sig);
  if (!ok) throw new TokenSignatureError('bad signature');

  // Only signed bytes are read from here on.
  const c = jsonObject(b64(p, 'payload'), 'payload');
  const leeway = o.leewaySeconds ?? 30;
  const now = (o.now ?? new Date()).getTime() / 1000;

  if (c.iss !== o.issuer) throw new TokenIssuerError('issuer not trusted');
  const aud = c.aud;
  const audOk = typeof aud === 'string' ? aud === o.audience : Array.isArray(aud) && aud.every((x) => typeof x === 'string') && aud.includes(o.audience);
  if (!audOk) throw new TokenAudienceError('token is not for this service');
  if (!isNumericDate(c.exp)) throw new TokenClaimsError('exp missing');
  if (now > c.exp + leeway) throw new TokenExpiredError('token expired');
  if (c.nbf !== undefined) {
    if (!isNumericDate(c.nbf)) throw new TokenClaimsError('bad nbf');
    if (now + leeway < c.nbf) throw new TokenNotYetValidError('token not yet valid');
  }
  if (c.iat !== undefined) {
    if (!isNumericDate(c.iat)) throw new TokenClaimsError('bad iat');
    if (now + leeway < c.iat) throw new TokenNotYetValidError('token issued in the future');
  }
  if (typeof c.sub !== 'string') throw new TokenClaimsError('sub missing');
  if (c.jti !== undefined && typeof c.jti !== 'string') throw new TokenClaimsError('bad jti');

  const rawAccess = c.access === undefined ? [] : c.access;
  if (!Array.isArray(rawAccess)) throw new TokenClaimsError('access is not an array');
  const access: Access[] = [];
  for (const e of rawAccess as unknown[]) {
    if (typeof e !== 'object' || e === null) throw new TokenClaimsError('bad access entry');
    const r = e as { type: unknown; class?: unknown; name: unknown; actions: unknown };
    const problem = accessProblem(r);
    if (problem) throw new TokenClaimsError(`bad access entry: ${problem}`);
    const a = { type: r.type, name: r.name, actions: Object.freeze([...(r.actions as string[])]) } as { -readonly [K in keyof Access]: Access[K] };
    if (typeof r.class === 'string') a.class = r.class;
    access.push(Object.freeze(a));
  }

  return Object.freeze({
    iss: c.iss as string,
    sub: c.sub,
    aud: typeof aud === 'string' ? aud : Object.freeze([...(aud as string[])]),
    exp: c.exp,
    nbf: (c.nbf as number | undefined) ?? 0,
    iat: (c.iat as number | undefined) ?? 0,
    jti: (c.jti as string | undefined) ?? '',
    access: Object.freeze(access),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Challenge
// ---------------------------------------------------------------------------------------------------------------

export interface Challenge {
  readonly realm: string;
  readonly service: string;
  /** A scope string, or accesses to format; omitted or empty leaves the attribute out. */
  readonly scope?: string | readonly Access[];
  /** RFC 6750 error, e.g. "insufficient_scope" or "invalid_token". */
  readonly error?: string;
}

/** RFC 7230 quoted-string; refuses control characters (header injection) rather than escaping them. */
function quote(v: string, what: string): string {
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new RangeError(`${what} contains a control character`);
  return `"${v.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}

/** The value of the `WWW-Authenticate` header for a 401: `Bearer realm="...",service="...",scope="..."`. */
export function challengeHeader(c: Challenge): string {
  const parts = [`realm=${quote(c.realm, 'realm')}`, `service=${quote(c.service, 'service')}`];
  const scope = typeof c.scope === 'string' ? c.scope : c.scope ? formatScopes(c.scope) : '';
  if (scope.length > 0) parts.push(`scope=${quote(scope, 'scope')}`);
  if (c.error) parts.push(`error=${quote(c.error, 'error')}`);
  return `Bearer ${parts.join(',')}`;
}
