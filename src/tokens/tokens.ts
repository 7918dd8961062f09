/**
 * Click and open tokens, stateful and stateless, minted with the keyring's current key and decoded by
 * any key the keyring holds. Bodies (after the frame of seal.ts):
 *
 *   stateful click   row id (12) | sized message id | varint(position * 2 + part) [| varint(link flags)]
 *   stateful open    sized message id
 *   stateless click  packed fields (flags bits 0-1: URL scheme): varint(position * 2 + part),
 *                    recipient, SendID, ListID, email_code, URL (without the scheme when a flag says it),
 *                    link name (data-msys-linkname; empty when none), and optionally
 *                    varint(seconds since the epoch the message passed the milter); tokens minted
 *                    before that field existed end after the link name and still decode; then
 *                    optionally varint(link flags), after the time (0 when the time is unknown)
 *
 * Link flags (bit 0: an unsubscribe link, data-msys-unsubscribe) are written only when not 0, so every
 * link minted before they existed decodes as it did; a redirector from before them refuses a flagged
 * link (upgrade redirectors first).
 *   stateless open   packed fields: recipient, SendID, ListID, email_code
 *
 * part is 0 for html, 1 for text. Decoding never throws: any input gives a token or a typed rejection.
 */
import type { PartCode } from '../rewrite/types.js';
import { CodedError } from '../util/errors.js';
import { ByteReader, ByteWriter, MAX_VARINT, MAX_VARINT_BYTES, writeVarint } from './binary.js';
import { readIdentity, writeIdentity, type RecipientIdentity } from './identity.js';
import type { Keyring } from './keyring.js';
import { packFields, unpackFields } from './packed-fields.js';
import { HEADER_BYTES, KIND, MAC_BYTES, reject, seal, sealInPlace, unseal, type KindCode, type Rejection } from './seal.js';
import { decodeTokenText, encodeTokenText } from './token-text.js';
import { ROW_ID_BYTES } from './url-row.js';
import { TokensErrorCode } from './errors.js';

/**
 * Longest token minted or accepted. Outlook cuts URLs near 2,048 characters, so a longer link is broken
 * anyway; the bound also keeps the redirector from hashing arbitrarily long input.
 */
export const MAX_TOKEN_CHARS = 4096;
export const MIN_MESSAGE_ID_BYTES = 1;
export const MAX_MESSAGE_ID_BYTES = 32;
const MAX_POSITION = 2 ** 31 - 1;

interface LinkPlace {
  /** Ordinal of the link within its part (1-based; 0 when not applicable). */
  position: number;
  part: PartCode;
}

/** What a click link is besides a place: only the unsubscribe mark so far. Absent = false. */
interface LinkFlags {
  /** Marked data-msys-unsubscribe: its click is recorded as an unsubscribe (source 'link'). */
  unsubscribeLink?: true;
}

const UNSUBSCRIBE_LINK_FLAG = 1;

function flagsValue(flags: LinkFlags): number {
  return flags.unsubscribeLink ? UNSUBSCRIBE_LINK_FLAG : 0;
}

/** The flags of a token's trailing varint; null when a bit is unknown or the value is 0 (never written). */
function readFlags(value: number): LinkFlags | null {
  if (value === UNSUBSCRIBE_LINK_FLAG) return { unsubscribeLink: true };
  return null;
}

interface StatefulClick extends LinkPlace, LinkFlags {
  /** urlRowId() of the row holding the URL without its query. */
  rowId: Uint8Array;
  /** The message record's id (opaque, chosen by the caller, 8 to 12 bytes in practice). */
  messageId: Uint8Array;
}

interface StatefulOpen {
  messageId: Uint8Array;
}

export interface StatelessClick extends LinkPlace, RecipientIdentity, LinkFlags {
  /** The full original URL, query string included. */
  url: string;
  /** data-msys-linkname, so reports group stateless clicks by it too; absent when the link has none. */
  linkName?: string;
  /**
   * When the message passed the milter (ms since the epoch; the token keeps whole seconds), so a
   * redirector without the store can still flag a click that follows delivery too closely.
   */
  sentAt?: number;
}

type StatelessOpen = RecipientIdentity;

/** Decoded ids are Buffers (views into the token's bytes), usable as store keys as they are. */
export type DecodedToken =
  | ({ ok: true; kind: 'stateful-click'; kid: number; rowId: Buffer; messageId: Buffer } & LinkPlace & LinkFlags)
  | { ok: true; kind: 'stateful-open'; kid: number; messageId: Buffer }
  | ({ ok: true; kind: 'stateless-click'; kid: number } & StatelessClick)
  | ({ ok: true; kind: 'stateless-open'; kid: number } & StatelessOpen);

// Scheme flags of a stateless click: the common prefixes cost a flag bit instead of 7-8 bytes. Only an
// exact lowercase prefix is dropped, so the URL comes back byte for byte.
const SCHEME_PREFIXES = ['', 'http://', 'https://'] as const;

function placeValue(place: LinkPlace): number {
  const { position, part } = place;
  if (!Number.isInteger(position) || position < 0 || position > MAX_POSITION) {
    throw new RangeError(`link position must be 0..${MAX_POSITION}: ${position}`);
  }
  if (part !== 'h' && part !== 't') throw new RangeError(`link part must be "h" or "t": ${String(part)}`);
  return position * 2 + (part === 't' ? 1 : 0);
}

function readPlace(reader: ByteReader): LinkPlace {
  const value = reader.varint();
  return { position: Math.floor(value / 2), part: value % 2 === 1 ? 't' : 'h' };
}

function checkMessageId(id: Uint8Array): Uint8Array {
  if (id.byteLength < MIN_MESSAGE_ID_BYTES || id.byteLength > MAX_MESSAGE_ID_BYTES) {
    throw new RangeError(`message id must be ${MIN_MESSAGE_ID_BYTES} to ${MAX_MESSAGE_ID_BYTES} bytes`);
  }
  return id;
}

function checkedLength(token: string): string {
  if (token.length > MAX_TOKEN_CHARS) {
    throw new CodedError(TokensErrorCode.TOKEN_TOO_LONG, `token of ${token.length} characters exceeds ${MAX_TOKEN_CHARS}`);
  }
  return token;
}

function mint(keyring: Keyring, kind: KindCode, body: Buffer): string {
  return checkedLength(encodeTokenText(seal(keyring.current, kind, body)));
}

type MessageClick = Omit<StatefulClick, 'messageId'>;

/**
 * Mints the stateful clicks of one message. Its links share all but the row id, place and flags, so
 * the frame is one buffer with the message id written once; a click writes its fields over the last
 * one's, and its MAC and text are made from there.
 */
export function statefulClickMinter(keyring: Keyring, messageId: Uint8Array): (click: MessageClick) => string {
  const key = keyring.current;
  const id = checkMessageId(messageId);
  const rowAt = HEADER_BYTES;
  // Room for the sized message id, then two varints (the place and the flags), then the MAC.
  const frame = Buffer.alloc(rowAt + ROW_ID_BYTES + 3 * MAX_VARINT_BYTES + id.byteLength + MAC_BYTES);
  const idAt = writeVarint(frame, rowAt + ROW_ID_BYTES, id.byteLength);
  frame.set(id, idAt);
  const placeAt = idAt + id.byteLength;
  return (click) => {
    if (click.rowId.byteLength !== ROW_ID_BYTES) throw new RangeError(`row id must be ${ROW_ID_BYTES} bytes`);
    frame.set(click.rowId, rowAt);
    let end = writeVarint(frame, placeAt, placeValue(click));
    const flags = flagsValue(click);
    if (flags !== 0) end = writeVarint(frame, end, flags);
    const sealed = sealInPlace(key, KIND.statefulClick, frame, end - HEADER_BYTES);
    return checkedLength(encodeTokenText(frame, sealed));
  };
}

export function mintStatefulClick(keyring: Keyring, click: StatefulClick): string {
  return statefulClickMinter(keyring, click.messageId)(click);
}

export function mintStatefulOpen(keyring: Keyring, open: StatefulOpen): string {
  return mint(keyring, KIND.statefulOpen, new ByteWriter().sizedBytes(checkMessageId(open.messageId)).toBuffer());
}

export function mintStatelessClick(keyring: Keyring, click: StatelessClick): string {
  const scheme = click.url.startsWith('https://') ? 2 : click.url.startsWith('http://') ? 1 : 0;
  const urlRest = click.url.slice((SCHEME_PREFIXES[scheme] as string).length);
  const writer = writeIdentity(new ByteWriter().varint(placeValue(click)), click)
    .string(urlRest)
    .string(click.linkName ?? '');
  const sentSeconds = click.sentAt === undefined ? -1 : Math.floor(click.sentAt / 1000);
  const sentKnown = sentSeconds >= 0 && sentSeconds <= MAX_VARINT;
  const flags = flagsValue(click);
  if (sentKnown || flags !== 0) writer.varint(sentKnown ? sentSeconds : 0);
  if (flags !== 0) writer.varint(flags);
  const fields = writer.toBuffer();
  return mint(keyring, KIND.statelessClick, packFields(fields, scheme));
}

export function mintStatelessOpen(keyring: Keyring, open: StatelessOpen): string {
  return mint(keyring, KIND.statelessOpen, packFields(writeIdentity(new ByteWriter(), open).toBuffer(), 0));
}

type BodyResult = DecodedToken | Rejection;

function decodeStatefulClick(kid: number, body: Buffer): BodyResult {
  const reader = new ByteReader(body);
  const rowId = reader.bytes(ROW_ID_BYTES);
  const messageId = reader.sizedBytes();
  const place = readPlace(reader);
  const flags = reader.ok && !reader.atEnd ? readFlags(reader.varint()) : {};
  if (!flags || !reader.complete || messageId.length < MIN_MESSAGE_ID_BYTES || messageId.length > MAX_MESSAGE_ID_BYTES) {
    return reject('malformed');
  }
  // Spelled out rather than spread: one object shape per decoded click, on the redirector's hot path.
  const click: DecodedToken = { ok: true, kind: 'stateful-click', kid, rowId, messageId, position: place.position, part: place.part };
  if (flags.unsubscribeLink) click.unsubscribeLink = true;
  return click;
}

function decodeStatefulOpen(kid: number, body: Buffer): BodyResult {
  const reader = new ByteReader(body);
  const messageId = reader.sizedBytes();
  if (!reader.complete || messageId.length < MIN_MESSAGE_ID_BYTES) return reject('malformed');
  return { ok: true, kind: 'stateful-open', kid, messageId };
}

function decodeStatelessClick(kid: number, body: Buffer): BodyResult {
  const unpacked = unpackFields(body);
  const prefix = unpacked && SCHEME_PREFIXES[unpacked.callerFlags];
  if (!unpacked || prefix === undefined) return reject('malformed');
  const reader = new ByteReader(unpacked.fields);
  const place = readPlace(reader);
  const identity = readIdentity(reader);
  const url = prefix + reader.string();
  const linkName = reader.string();
  const sentAt = reader.atEnd ? undefined : reader.varint() * 1000;
  const flags = reader.ok && !reader.atEnd ? readFlags(reader.varint()) : {};
  if (!flags || !reader.complete) return reject('malformed');
  return {
    ok: true,
    kind: 'stateless-click',
    kid,
    ...place,
    ...identity,
    url,
    ...(linkName ? { linkName } : {}),
    ...(sentAt !== undefined ? { sentAt } : {}),
    ...flags,
  };
}

function decodeStatelessOpen(kid: number, body: Buffer): BodyResult {
  const unpacked = unpackFields(body);
  if (!unpacked || unpacked.callerFlags !== 0) return reject('malformed');
  const reader = new ByteReader(unpacked.fields);
  const identity = readIdentity(reader);
  if (!reader.complete) return reject('malformed');
  return { ok: true, kind: 'stateless-open', kid, ...identity };
}

/** Verifies and decodes a click or open token of any kind; never throws. */
export function decodeToken(keyring: Keyring, token: string): DecodedToken | Rejection {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) return reject('malformed');
  const sealed = decodeTokenText(token);
  if (!sealed) return reject('malformed');
  const opened = unseal(keyring, sealed);
  if (!opened.ok) return opened;
  switch (opened.kind) {
    case KIND.statefulClick:
      return decodeStatefulClick(opened.kid, opened.body);
    case KIND.statefulOpen:
      return decodeStatefulOpen(opened.kid, opened.body);
    case KIND.statelessClick:
      return decodeStatelessClick(opened.kid, opened.body);
    case KIND.statelessOpen:
      return decodeStatelessOpen(opened.kid, opened.body);
    default:
      return reject('malformed'); // an info header value is signed by us but is not a link
  }
}
