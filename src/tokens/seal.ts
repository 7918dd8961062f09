/**
 * The authenticated frame every token and the info header share:
 *
 *   byte 0      format: high nibble = version (1), low nibble = kind
 *   byte 1      key id
 *   bytes 2..   body (per kind)
 *   last 12     HMAC-SHA256(token key of that kid, every byte before it), truncated
 *
 * Why 12 bytes (96 bits): the key never leaves the server, so a forger can only guess online, one
 * request per guess, each succeeding with probability 2^-96. A billion requests a second for a century
 * is about 2^62 guesses: a 2^-34 chance of one forged link. NIST SP 800-107 accepts truncation to 64
 * bits or more when verification attempts are limited this way. The four bytes saved against 16 are
 * five to six characters in every link, which matters for stateless links near Outlook's limit.
 *
 * The format byte and the key id are inside the MAC, so neither a kind nor a key can be swapped.
 */
import { hmacKey, hmacSha256 } from './hmac.js';
import type { Keyring, SigningKey } from './keyring.js';

export const MAC_BYTES = 12;
const FORMAT_VERSION = 1;
export const HEADER_BYTES = 2;

export const KIND = {
  statefulClick: 1,
  statefulOpen: 2,
  statelessClick: 3,
  statelessOpen: 4,
  infoHeader: 5,
  statefulUnsubscribe: 6,
  statelessUnsubscribe: 7,
} as const;
export type KindCode = (typeof KIND)[keyof typeof KIND];
const KNOWN_KINDS: ReadonlySet<number> = new Set(Object.values(KIND));

export type RejectionCode = 'malformed' | 'bad-mac' | 'unknown-key' | 'unsupported-version';
export interface Rejection {
  ok: false;
  code: RejectionCode;
}

interface Opened {
  ok: true;
  kind: KindCode;
  kid: number;
  body: Buffer;
}

export function reject(code: RejectionCode): Rejection {
  return { ok: false, code };
}

/** Where unseal computes the MAC it expects; nothing in between yields. */
const expected = new Uint8Array(MAC_BYTES);

/**
 * Frames a body already written at frame[HEADER_BYTES, HEADER_BYTES + bodyLength): the header goes
 * before it and the MAC after it (frame has room for both). Returns the sealed length. For minters
 * that write many tokens into one buffer (tokens.ts).
 */
export function sealInPlace(key: SigningKey, kind: KindCode, frame: Uint8Array, bodyLength: number): number {
  const signedLength = HEADER_BYTES + bodyLength;
  frame[0] = (FORMAT_VERSION << 4) | kind;
  frame[1] = key.kid;
  hmacSha256(hmacKey(key.tokenKey), frame, signedLength, frame, signedLength, MAC_BYTES);
  return signedLength + MAC_BYTES;
}

export function seal(key: SigningKey, kind: KindCode, body: Uint8Array): Buffer {
  const sealed = Buffer.allocUnsafe(HEADER_BYTES + body.length + MAC_BYTES);
  sealed.set(body, HEADER_BYTES);
  sealInPlace(key, kind, sealed, body.length);
  return sealed;
}

/** Checks the frame and its MAC (in constant time); the body is only trusted when this says ok. */
export function unseal(keyring: Keyring, sealed: Buffer): Opened | Rejection {
  if (sealed.length < HEADER_BYTES + MAC_BYTES) return reject('malformed');
  const format = sealed[0] as number;
  if (format >> 4 !== FORMAT_VERSION) return reject('unsupported-version');
  const kind = format & 0x0f;
  if (!KNOWN_KINDS.has(kind)) return reject('malformed');
  const kid = sealed[1] as number;
  const key = keyring.get(kid);
  if (!key) return reject('unknown-key');
  const signedLength = sealed.length - MAC_BYTES;
  hmacSha256(hmacKey(key.tokenKey), sealed, signedLength, expected, 0, MAC_BYTES);
  if (!sameMac(sealed, signedLength)) return reject('bad-mac');
  return { ok: true, kind: kind as KindCode, kid, body: sealed.subarray(HEADER_BYTES, signedLength) };
}

/**
 * Whether the MAC at sealed[at, at + MAC_BYTES) is the expected one, in time that does not depend on
 * where they differ: every byte is compared and the differences or'ed together, no early exit. Same
 * guarantee as timingSafeEqual, without a call into C++ and its argument checks per click.
 */
function sameMac(sealed: Uint8Array, at: number): boolean {
  let diff = 0;
  for (let i = 0; i < MAC_BYTES; i++) diff |= sealed[at + i]! ^ expected[i]!;
  return diff === 0;
}
