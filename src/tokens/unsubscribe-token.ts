/**
 * One-click unsubscribe tokens (the `/u/TOKEN` of List-Unsubscribe), in the frame of seal.ts with
 * kinds of their own, so no click or open token is ever read as an unsubscribe nor the reverse:
 *
 *   stateful     sized message id | mail class (string) | varint(seconds since the epoch, minted)
 *                (recipient, SendID, ListID and email_code are the message record's)
 *   stateless    packed fields: recipient, SendID, ListID, email_code, mail class,
 *                varint(seconds since the epoch, minted)
 *
 * The mail class picks the confirmation page's template; the mint time lets a redirector without the
 * store refuse a stateless token older than the retention (a stateful one expires with its record).
 * Decoding never throws.
 */
import { ByteReader, ByteWriter, MAX_VARINT } from './binary.js';
import { readIdentity, writeIdentity, type RecipientIdentity } from './identity.js';
import type { Keyring } from './keyring.js';
import { packFields, unpackFields } from './packed-fields.js';
import { KIND, reject, seal, unseal, type Rejection } from './seal.js';
import { decodeTokenText, encodeTokenText } from './token-text.js';
import { MAX_MESSAGE_ID_BYTES, MAX_TOKEN_CHARS, MIN_MESSAGE_ID_BYTES } from './tokens.js';

interface UnsubscribeTokenCommon {
  mailClass: string;
  /** When the token was minted, ms since the epoch (the token keeps whole seconds). */
  mintedAt: number;
}

type UnsubscribeTokenFields =
  ({ kind: 'stateful'; messageId: Uint8Array } & UnsubscribeTokenCommon) | ({ kind: 'stateless' } & RecipientIdentity & UnsubscribeTokenCommon);

type DecodedUnsubscribeToken =
  | ({ ok: true; kind: 'stateful'; kid: number; messageId: Buffer } & UnsubscribeTokenCommon)
  | ({ ok: true; kind: 'stateless'; kid: number } & RecipientIdentity & UnsubscribeTokenCommon);

function mintSeconds(ms: number): number {
  const seconds = Math.floor(ms / 1000);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_VARINT) throw new RangeError(`mint time out of range: ${ms}`);
  return seconds;
}

export function mintUnsubscribeToken(keyring: Keyring, fields: UnsubscribeTokenFields): string {
  let sealed: Buffer;
  if (fields.kind === 'stateful') {
    const id = fields.messageId;
    if (id.byteLength < MIN_MESSAGE_ID_BYTES || id.byteLength > MAX_MESSAGE_ID_BYTES) {
      throw new RangeError(`message id must be ${MIN_MESSAGE_ID_BYTES} to ${MAX_MESSAGE_ID_BYTES} bytes`);
    }
    const body = new ByteWriter().sizedBytes(id).string(fields.mailClass).varint(mintSeconds(fields.mintedAt)).toBuffer();
    sealed = seal(keyring.current, KIND.statefulUnsubscribe, body);
  } else {
    const plain = writeIdentity(new ByteWriter(), fields).string(fields.mailClass).varint(mintSeconds(fields.mintedAt)).toBuffer();
    sealed = seal(keyring.current, KIND.statelessUnsubscribe, packFields(plain, 0));
  }
  const token = encodeTokenText(sealed);
  if (token.length > MAX_TOKEN_CHARS) throw new RangeError(`unsubscribe token of ${token.length} characters exceeds ${MAX_TOKEN_CHARS}`);
  return token;
}

/** Verifies (MAC, in constant time) and decodes an unsubscribe token; any other input is a rejection. */
export function decodeUnsubscribeToken(keyring: Keyring, token: string): DecodedUnsubscribeToken | Rejection {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) return reject('malformed');
  const sealed = decodeTokenText(token);
  if (!sealed) return reject('malformed');
  const opened = unseal(keyring, sealed);
  if (!opened.ok) return opened;
  if (opened.kind === KIND.statefulUnsubscribe) {
    const reader = new ByteReader(opened.body);
    const messageId = reader.sizedBytes();
    const mailClass = reader.string();
    const mintedAt = reader.varint() * 1000;
    if (!reader.complete || messageId.length < MIN_MESSAGE_ID_BYTES || messageId.length > MAX_MESSAGE_ID_BYTES) return reject('malformed');
    return { ok: true, kind: 'stateful', kid: opened.kid, messageId, mailClass, mintedAt };
  }
  if (opened.kind === KIND.statelessUnsubscribe) {
    const unpacked = unpackFields(opened.body);
    if (!unpacked || unpacked.callerFlags !== 0) return reject('malformed');
    const reader = new ByteReader(unpacked.fields);
    const identity = readIdentity(reader);
    const mailClass = reader.string();
    const mintedAt = reader.varint() * 1000;
    if (!reader.complete) return reject('malformed');
    return { ok: true, kind: 'stateless', kid: opened.kid, ...identity, mailClass, mintedAt };
  }
  return reject('malformed');
}
