/**
 * The `X-Mailer-Info-Extra` value: SendID, ListID, recipient and email_code, signed like the link tokens
 * (same frame, its own kind), so a bounce that quotes the original headers identifies its recipient and
 * send without any stored state.
 *
 * The value is base64url in space-separated chunks of at most 56 characters: an MTA can fold the header
 * at any space and every line stays under 78 columns, the first one included
 * (`X-Mailer-Info-Extra: ` is 21). Whatever whitespace a bounce generator inserts or folds in is ignored
 * when decoding.
 */
import { ByteReader, ByteWriter } from './binary.js';
import { readIdentity, writeIdentity, type RecipientIdentity } from './identity.js';
import type { Keyring } from './keyring.js';
import { packFields, unpackFields } from './packed-fields.js';
import { KIND, reject, seal, unseal, type Rejection } from './seal.js';

export const INFO_HEADER_NAME = 'X-Mailer-Info-Extra';
export const INFO_CHUNK_CHARS = 56;
/** Longer values are not ours; the bound keeps a hostile bounce from making us hash megabytes. */
const MAX_INFO_HEADER_CHARS = 8192;

export type InfoHeaderFields = RecipientIdentity;
type DecodedInfoHeader = { ok: true; kid: number } & InfoHeaderFields;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const WHITESPACE = /\s+/g;

export function encodeInfoHeader(keyring: Keyring, fields: InfoHeaderFields): string {
  // Not deflated: it saved at most 14 bytes (addresses at the dictionary's domains) of a header nobody
  // reads, for 40-75 us of a message's CPU. Deflated values, as older versions wrote them, still decode.
  const packed = packFields(writeIdentity(new ByteWriter(), fields).toBuffer(), 0, false);
  const text = seal(keyring.current, KIND.infoHeader, packed).toString('base64url');
  const chunks: string[] = [];
  for (let at = 0; at < text.length; at += INFO_CHUNK_CHARS) chunks.push(text.slice(at, at + INFO_CHUNK_CHARS));
  return chunks.join(' ');
}

/** Verifies and decodes a header value, folded or not; never throws. */
export function decodeInfoHeader(keyring: Keyring, value: string): DecodedInfoHeader | Rejection {
  if (typeof value !== 'string' || value.length > MAX_INFO_HEADER_CHARS) return reject('malformed');
  const text = value.replace(WHITESPACE, '');
  if (!BASE64URL.test(text)) return reject('malformed');
  const sealed = Buffer.from(text, 'base64url');
  if (sealed.toString('base64url') !== text) return reject('malformed');
  const opened = unseal(keyring, sealed);
  if (!opened.ok) return opened;
  if (opened.kind !== KIND.infoHeader) return reject('malformed');
  const unpacked = unpackFields(opened.body);
  if (!unpacked || unpacked.callerFlags !== 0) return reject('malformed');
  const reader = new ByteReader(unpacked.fields);
  const identity = readIdentity(reader);
  if (!reader.complete) return reject('malformed');
  return { ok: true, kid: opened.kid, ...identity };
}
