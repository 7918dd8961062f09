/**
 * Webhook signatures. Every POST carries
 *
 *   X-Trackmilter-Timestamp: <unix seconds when the request was made>
 *   X-Trackmilter-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
 *
 * where secret is the configured secret's UTF-8 bytes, timestamp the header's exact text and body the
 * raw request body bytes (before any JSON parsing). A receiver recomputes the HMAC, compares in constant
 * time, and rejects timestamps too far from its clock (replays). Each retry is signed anew with a fresh
 * timestamp. The header may list several comma-separated `v1=` values (room for secret rotation); one
 * match is enough.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'X-Trackmilter-Timestamp';
export const SIGNATURE_HEADER = 'X-Trackmilter-Signature';
const SCHEME = 'v1=';

/** The signature header value for one request. */
export function signWebhook(secret: string | Buffer, timestamp: number | string, body: string | Buffer): string {
  return SCHEME + hmacHex(secret, String(timestamp), body);
}

interface VerifyOptions {
  secret: string | Buffer;
  /** The X-Trackmilter-Timestamp header. */
  timestamp: string | undefined;
  /** The X-Trackmilter-Signature header. */
  signature: string | undefined;
  /** The raw body. */
  body: string | Buffer;
  /** Largest accepted difference between the timestamp and now, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** Now, in ms since the epoch (for tests). */
  now?: number;
}

/** True when the request was signed with `secret` within the tolerance. */
export function verifyWebhookSignature(options: VerifyOptions): boolean {
  const { secret, timestamp, signature, body } = options;
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  const nowSeconds = (options.now ?? Date.now()) / 1000;
  if (Math.abs(nowSeconds - Number(timestamp)) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  return signature.split(',').some((part) => {
    const value = part.trim();
    if (!value.startsWith(SCHEME)) return false;
    const given = Buffer.from(value.slice(SCHEME.length), 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

function hmacHex(secret: string | Buffer, timestamp: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}
