import { readFileSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import type { Pool } from '../../../../shared/db/pool.js';
import type { Config } from '../../../../shared/config/index.js';
import type { Logger } from '../../../../shared/logging/logger.js';
import {
  KeySet, TokenUnknownKeyError, generateSigningKey, issueToken, signingKeyFromPem, verifyToken,
  type Access, type IssuedToken, type SigningKey, type TokenClaims, type VerificationKey,
} from '../../../../shared/auth/index.js';

/**
 * Registry token signing and verification for a cluster. Each node signs with its own ES256 key (from
 * auth.signingKeyFile, or generated at start) and publishes the public half in Postgres, so any node verifies any
 * node's tokens without sharing a private key. Rotation (every auth.keyRotationHours, or on demand) publishes a new
 * key first and keeps the old one verifying until every token it signed has expired: no downtime, no failed pulls.
 */
export interface TokenAuth {
  readonly service: string;
  readonly issuer: string;
  readonly ttlSeconds: number;
  /** The current signing key's id. */
  readonly kid: string;
  issue(subject: string, access: readonly Access[]): IssuedToken;
  /** Verifies signature, issuer, audience, expiry; looks unknown key ids up in Postgres (another node's key). */
  verify(token: string): Promise<TokenClaims>;
  /** Publishes a fresh signing key and retires the current one. */
  rotate(): Promise<string>;
  close(): Promise<void>;
}

const LEEWAY_SECONDS = 30;
// An unknown kid triggers at most one key reload per interval, so forged kids cannot hammer the database.
const RELOAD_INTERVAL_MS = 1000;

export async function startTokenAuth(db: Pool, config: Config, log: Logger): Promise<TokenAuth> {
  const cfg = config.auth;
  const nodeName = `${config.node.name}@${config.node.region}`;
  const fromFile = cfg.signingKeyFile ? signingKeyFromPem(readFileSync(cfg.signingKeyFile)) : undefined;
  let signing: SigningKey = fromFile ?? generateSigningKey();
  let others: VerificationKey[] = [];
  let keys = new KeySet(signing);
  let lastReload = 0;

  const lifetimeSeconds = () => Math.round(cfg.keyRotationHours * 3600) + 2 * cfg.tokenTtlSeconds + LEEWAY_SECONDS;
  const publish = async (k: SigningKey) => {
    const jwk = k.publicKey.export({ format: 'jwk' });
    // A key from a file has no natural end; a generated one expires unless rotated (a dead node's key lapses).
    const expires = fromFile ? null : lifetimeSeconds();
    await db.query(
      `INSERT INTO signing_keys (kid, public_jwk, node, expires_at) VALUES ($1, $2, $3, CASE WHEN $4::int IS NULL THEN NULL ELSE now() + make_interval(secs => $4::int) END)
       ON CONFLICT (kid) DO UPDATE SET retired_at = NULL, expires_at = EXCLUDED.expires_at`,
      [k.kid, JSON.stringify(jwk), nodeName, expires],
    );
  };
  const reload = async () => {
    lastReload = Date.now();
    const r = await db.query<{ kid: string; public_jwk: Record<string, unknown> }>(
      `SELECT kid, public_jwk FROM signing_keys WHERE expires_at IS NULL OR expires_at > now()`,
    );
    others = r.rows.filter((row) => row.kid !== signing.kid).map((row) => Object.freeze({
      kid: row.kid, publicKey: createPublicKey({ key: row.public_jwk as import('node:crypto').JsonWebKey, format: 'jwk' }),
    }));
    keys = new KeySet(signing, others);
  };

  await publish(signing);
  await reload();
  log.info({ kid: signing.kid, source: fromFile ? 'file' : 'generated' }, 'token signing key published');

  const rotate = async (): Promise<string> => {
    const previous = signing;
    const next = generateSigningKey();
    await publish(next);
    signing = next;
    // The retired key verifies until the last token it signed has expired.
    await db.query(
      `UPDATE signing_keys SET retired_at = now(), expires_at = now() + make_interval(secs => $2) WHERE kid = $1`,
      [previous.kid, cfg.tokenTtlSeconds + LEEWAY_SECONDS],
    );
    await db.query(`DELETE FROM signing_keys WHERE expires_at < now() - interval '1 day'`);
    await reload();
    log.info({ kid: next.kid, retired: previous.kid }, 'token signing key rotated');
    return next.kid;
  };

  const timer = fromFile ? undefined : setInterval(() => {
    rotate().catch((err: unknown) => log.error({ err }, 'signing key rotation failed'));
  }, Math.round(cfg.keyRotationHours * 3600 * 1000));
  timer?.unref();

  const opts = () => ({ keys, issuer: cfg.issuer, audience: cfg.service, leewaySeconds: LEEWAY_SECONDS });
  return {
    service: cfg.service,
    issuer: cfg.issuer,
    ttlSeconds: cfg.tokenTtlSeconds,
    get kid() { return signing.kid; },
    issue: (subject, access) => issueToken({ keys, issuer: cfg.issuer, audience: cfg.service, subject, access, ttlSeconds: cfg.tokenTtlSeconds }),
    verify: async (token) => {
      try {
        return verifyToken(token, opts());
      } catch (e) {
        if (!(e instanceof TokenUnknownKeyError) || Date.now() - lastReload < RELOAD_INTERVAL_MS) throw e;
        await reload();
        return verifyToken(token, opts());
      }
    },
    rotate,
    close: async () => {
      if (timer) clearInterval(timer);
    },
  };
}
