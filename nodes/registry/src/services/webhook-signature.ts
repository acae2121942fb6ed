import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The header carrying the body's HMAC, GitHub's scheme under Wharf's name. */
export const SIGNATURE_HEADER = 'X-Wharf-Signature-256';
export const DELIVERY_HEADER = 'X-Wharf-Delivery';
export const EVENT_HEADER = 'X-Wharf-Event';

/**
 * `sha256=<hex HMAC-SHA256(secret, raw body)>`, the value of X-Wharf-Signature-256.
 *
 * How a receiver verifies a delivery:
 *   1. Read the raw request body as bytes, before any JSON parsing (re-serialising parsed JSON changes the bytes).
 *   2. Compute `"sha256=" + hex(HMAC-SHA256(key = the notification's secret, message = those bytes))`.
 *   3. Compare it with the header in constant time (Node: `crypto.timingSafeEqual` on equal-length buffers; Go:
 *      `hmac.Equal`; Python: `hmac.compare_digest`), never with `==`, which leaks how many leading bytes matched.
 *   4. Refuse the delivery when the header is missing or differs. X-Wharf-Delivery is unique per delivery and stays
 *      the same across retries, so a receiver can drop duplicates with it.
 * `verifySignature` below does steps 2 and 3.
 */
export function signBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Constant-time check of a X-Wharf-Signature-256 value against the body; false for a missing or malformed header. */
export function verifySignature(secret: string, body: string | Uint8Array, header: string | null | undefined): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(signBody(secret, body), 'utf8');
  const given = Buffer.from(header.trim(), 'utf8');
  // Lengths are public (a fixed 71 characters), so the early return leaks nothing about the secret.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A fresh signing secret for a notification created without one: 32 random bytes, URL-safe. */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}
