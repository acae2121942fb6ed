import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import {
  challengeHeader, generateSigningKey, issueToken, keyThumbprint, KeySet, signingKeyFromPem, verificationKeyFromPem, verifyToken,
  TokenAlgorithmError, TokenAudienceError, TokenClaimsError, TokenError, TokenExpiredError, TokenIssuerError, TokenMalformedError,
  TokenNotYetValidError, TokenSignatureError, TokenUnknownKeyError, type SigningKey,
} from './token.js';
import { parseScopes, type Access } from './scope.js';

const ISS = 'wharf-auth';
const AUD = 'registry.wharf.test';
const T0 = new Date('2026-01-01T00:00:00Z');
const access: Access[] = [{ type: 'repository', name: 'library/ubuntu', actions: ['pull', 'push'] }];
const keyA = generateSigningKey('key-a');
const keyB = generateSigningKey('key-b');
const ks = new KeySet(keyA);

const at = (sec: number) => new Date(T0.getTime() + sec * 1000);
const issue = (o: Partial<Parameters<typeof issueToken>[0]> = {}) =>
  issueToken({ keys: ks, issuer: ISS, audience: AUD, subject: 'alice', access, ttlSeconds: 300, now: T0, ...o }).token;
const check = (token: string, o: Partial<Parameters<typeof verifyToken>[1]> = {}) =>
  verifyToken(token, { keys: ks, issuer: ISS, audience: AUD, now: at(10), ...o });

const b64 = (x: unknown) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
const parts = (t: string) => t.split('.') as [string, string, string];
const decode = (p: string) => JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
/** A token with arbitrary header and payload, ES256-signed by `key` (the attacker may hold a key we do not know). */
function forge(header: object, payload: object, key: SigningKey = keyA): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}
const goodClaims = () => decode(parts(issue())[1]);

describe('issue and verify', () => {
  it('round-trips the claims', () => {
    const issued = issueToken({ keys: ks, issuer: ISS, audience: AUD, subject: 'alice', access, ttlSeconds: 300, now: T0 });
    assert.equal(issued.expiresIn, 300);
    assert.equal(issued.issuedAt, T0.toISOString());
    const [h] = parts(issued.token);
    assert.deepEqual(decode(h), { typ: 'JWT', alg: 'ES256', kid: 'key-a' });
    const c = check(issued.token);
    assert.equal(c.iss, ISS);
    assert.equal(c.sub, 'alice');
    assert.equal(c.aud, AUD);
    assert.equal(c.iat, T0.getTime() / 1000);
    assert.equal(c.nbf, c.iat);
    assert.equal(c.exp, c.iat + 300);
    assert.match(c.jti, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(c.access, access);
    assert.deepEqual(c, issued.claims);
  });
  it('carries class and catalog access, and empty access', () => {
    const acc = parseScopes('repository(plugin):p:pull registry:catalog:*');
    assert.deepEqual(check(issue({ access: acc })).access, acc);
    assert.deepEqual(check(issue({ access: [], subject: '' })).access, []);
  });
  it('gives each token its own jti', () => assert.notEqual(check(issue()).jti, check(issue()).jti));
  it('refuses to issue an invalid access entry', () => {
    assert.throws(() => issue({ access: [{ type: 'repository', name: 'Bad', actions: ['pull'] }] }), RangeError);
  });
  it('accepts an audience array containing the service', () => {
    assert.equal(check(forge({ alg: 'ES256', kid: 'key-a' }, { ...goodClaims(), aud: ['other', AUD] })).sub, 'alice');
  });
});

describe('time checks', () => {
  it('expired (beyond leeway)', () => {
    assert.throws(() => check(issue(), { now: at(300 + 31) }), TokenExpiredError);
    assert.equal(check(issue(), { now: at(300 + 29) }).sub, 'alice');
    assert.throws(() => check(issue(), { now: at(301), leewaySeconds: 0 }), TokenExpiredError);
  });
  it('not yet valid', () => {
    assert.throws(() => check(issue({ now: at(120) }), { now: at(0) }), TokenNotYetValidError);
    assert.equal(check(issue({ now: at(20) }), { now: at(0) }).sub, 'alice');
  });
  it('exp is required', () => {
    const { exp: _exp, ...noExp } = goodClaims();
    assert.throws(() => check(forge({ alg: 'ES256', kid: 'key-a' }, noExp)), TokenClaimsError);
    assert.throws(() => check(forge({ alg: 'ES256', kid: 'key-a' }, { ...noExp, exp: '9999999999' })), TokenClaimsError);
  });
});

describe('claims checks', () => {
  it('wrong audience', () => {
    assert.throws(() => check(issue({ audience: 'other.example' })), TokenAudienceError);
    assert.throws(() => check(forge({ alg: 'ES256', kid: 'key-a' }, { ...goodClaims(), aud: undefined })), TokenAudienceError);
  });
  it('wrong issuer', () => assert.throws(() => check(issue({ issuer: 'evil' })), TokenIssuerError));
  it('bad access claim', () => {
    for (const bad of ['x', [{ type: 'repository', name: 'a', actions: ['own'] }], [{ type: 'repository', name: '../a', actions: ['pull'] }], [null]]) {
      assert.throws(() => check(forge({ alg: 'ES256', kid: 'key-a' }, { ...goodClaims(), access: bad })), TokenClaimsError);
    }
  });
});

describe('tampering and algorithm attacks', () => {
  it('tampered payload', () => {
    const [h, , s] = parts(issue());
    const evil = b64({ ...goodClaims(), access: [{ type: 'repository', name: 'library/ubuntu', actions: ['*'] }] });
    assert.throws(() => check(`${h}.${evil}.${s}`), TokenSignatureError);
  });
  it('tampered signature', () => {
    const [h, p, s] = parts(issue());
    const sig = Buffer.from(s, 'base64url');
    sig[10] = sig[10]! ^ 1;
    assert.throws(() => check(`${h}.${p}.${sig.toString('base64url')}`), TokenSignatureError);
    assert.throws(() => check(`${h}.${p}.${b64('short')}`), TokenSignatureError);
  });
  it('non-canonical encodings and malformed tokens', () => {
    const t = issue();
    const [h, p, s] = parts(t);
    for (const bad of ['', 'a.b', `${t}.x`, `${h}.${p}.${s}=`, `${h}=.${p}.${s}`, `${h}.${p}+.${s}`, `${b64('not json')}.${p}.${s}`, `${b64([1])}.${p}.${s}`, 'x'.repeat(20000)]) {
      assert.throws(() => check(bad), TokenError, bad.slice(0, 40));
    }
    assert.throws(() => check(`${h}.${p}.${s}=`), TokenMalformedError);
  });
  it('unknown kid and missing kid', () => {
    assert.throws(() => check(issueToken({ keys: new KeySet(keyB), issuer: ISS, audience: AUD, subject: 'alice', access, now: T0 }).token), TokenUnknownKeyError);
    assert.throws(() => check(forge({ alg: 'ES256' }, goodClaims())), TokenUnknownKeyError);
  });
  it('a key embedded in the header (jwk) is never trusted', () => {
    const attacker = generateSigningKey('key-a-attacker');
    const jwk = attacker.publicKey.export({ format: 'jwk' });
    assert.throws(() => check(forge({ alg: 'ES256', kid: 'key-a-attacker', jwk }, goodClaims(), attacker)), TokenUnknownKeyError);
    // Reusing a known kid does not help either: the known key checks the signature.
    assert.throws(() => check(forge({ alg: 'ES256', kid: 'key-a', jwk }, goodClaims(), attacker)), TokenSignatureError);
  });
  it('alg none is refused', () => {
    for (const alg of ['none', 'None', 'NONE']) {
      assert.throws(() => check(`${b64({ alg, kid: 'key-a' })}.${b64(goodClaims())}.`), TokenAlgorithmError);
    }
  });
  it('HS256 keyed with the public key (algorithm confusion) is refused', () => {
    for (const secret of [keyA.publicKey.export({ format: 'pem', type: 'spki' }) as string, keyA.publicKey.export({ format: 'der', type: 'spki' })]) {
      const input = `${b64({ alg: 'HS256', kid: 'key-a' })}.${b64(goodClaims())}`;
      const sig = createHmac('sha256', secret).update(input).digest('base64url');
      assert.throws(() => check(`${input}.${sig}`), TokenAlgorithmError);
    }
  });
  it('other asymmetric algorithms and crit are refused', () => {
    for (const alg of ['ES384', 'RS256', 'es256', 'EdDSA', undefined]) {
      assert.throws(() => check(forge({ alg, kid: 'key-a' }, goodClaims())), TokenAlgorithmError);
    }
    assert.throws(() => check(forge({ alg: 'ES256', kid: 'key-a', crit: ['exp'] }, goodClaims())), TokenMalformedError);
  });
});

describe('key rotation', () => {
  it('a token signed by the previous key verifies while that key is in the set, and fails after removal', () => {
    const v1 = new KeySet(keyA);
    const old = issueToken({ keys: v1, issuer: ISS, audience: AUD, subject: 'alice', access, now: T0 }).token;
    const v2 = v1.rotate(keyB);
    assert.equal(v2.signing.kid, 'key-b');
    assert.deepEqual(v2.kids.sort(), ['key-a', 'key-b']);
    const fresh = issueToken({ keys: v2, issuer: ISS, audience: AUD, subject: 'bob', access, now: T0 }).token;
    assert.deepEqual(JSON.parse(Buffer.from(parts(fresh)[0], 'base64url').toString()).kid, 'key-b');
    assert.equal(check(old, { keys: v2 }).sub, 'alice');
    assert.equal(check(fresh, { keys: v2 }).sub, 'bob');
    const v3 = v2.without('key-a');
    assert.throws(() => check(old, { keys: v3 }), TokenUnknownKeyError);
    assert.equal(check(fresh, { keys: v3 }).sub, 'bob');
    assert.throws(() => v3.without('key-b'), RangeError);
  });
  it('a verification-only key from PEM verifies; signing keys load from PEM', () => {
    const pub = verificationKeyFromPem(keyA.publicKey.export({ format: 'pem', type: 'spki' }), 'key-a');
    const set = new KeySet(keyB, [pub]);
    assert.equal(check(issue(), { keys: set }).sub, 'alice');
    const loaded = signingKeyFromPem(keyA.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    assert.equal(loaded.kid, keyThumbprint(keyA.publicKey));
    assert.equal(generateSigningKey().kid.length, 43);
  });
  it('refuses duplicate kids and non-P-256 keys', () => {
    assert.throws(() => new KeySet(keyA, [keyA]), RangeError);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    assert.throws(() => signingKeyFromPem(rsa.privateKey.export({ format: 'pem', type: 'pkcs8' })), TypeError);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    assert.throws(() => verificationKeyFromPem(p384.publicKey.export({ format: 'pem', type: 'spki' })), TypeError);
  });
  it('publishes public keys as a JWKS without private parts', () => {
    const jwks = new KeySet(keyB, [keyA]).toJWKS();
    assert.deepEqual(jwks.keys.map((k) => k.kid), ['key-b', 'key-a']);
    for (const k of jwks.keys) {
      assert.equal(k.d, undefined);
      assert.equal(k.alg, 'ES256');
    }
  });
});

describe('challengeHeader', () => {
  it('builds the Bearer challenge', () => {
    assert.equal(
      challengeHeader({ realm: 'https://auth.wharf.test/token', service: AUD, scope: 'repository:samalba/my-app:pull,push' }),
      'Bearer realm="https://auth.wharf.test/token",service="registry.wharf.test",scope="repository:samalba/my-app:pull,push"',
    );
  });
  it('formats accesses, omits an empty scope, adds an error', () => {
    assert.equal(
      challengeHeader({ realm: 'r', service: 's', scope: parseScopes('repository:a:pull registry:catalog:*'), error: 'insufficient_scope' }),
      'Bearer realm="r",service="s",scope="repository:a:pull registry:catalog:*",error="insufficient_scope"',
    );
    assert.equal(challengeHeader({ realm: 'r', service: 's', scope: [] }), 'Bearer realm="r",service="s"');
  });
  it('escapes quotes and backslashes, refuses control characters', () => {
    assert.equal(challengeHeader({ realm: 'a"b\\c', service: 's' }), 'Bearer realm="a\\"b\\\\c",service="s"');
    assert.throws(() => challengeHeader({ realm: 'r\r\nSet-Cookie: x=1', service: 's' }), RangeError);
  });
});
