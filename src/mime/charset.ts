/**
 * Charset decoding and encoding of a part's bytes, for real (UTF-16 and ISO-2022-JP are decoded,
 * never scanned as bytes). A charset is only usable for a part when its bytes decode and encode
 * back to the same bytes; otherwise the part is left alone.
 */
import { isAscii, isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import { decodeIso2022jp, encodeIso2022jp } from './iso2022jp.js';

export interface Charset {
  /** The name the codec was found under (for reports). */
  name: string;
  /** True when CR and LF bytes are line breaks (ASCII-compatible line structure); false for UTF-16/32. */
  lineBreaksAreText: boolean;
  decode(bytes: Buffer): string | null;
  /**
   * Null when the text holds a character the charset cannot represent; otherwise bytes that decode to
   * exactly the text. The part's self-check (part.ts, decodesTo) leans on this: it compares bytes.
   */
  encode(text: string): Buffer | null;
  /**
   * Whether decoding `bytes` and encoding the text again gives them back, known without doing it;
   * absent, the caller makes the round trip.
   */
  reversible?(bytes: Buffer): boolean;
}

/** Names for "no charset": RFC 2045's us-ascii default, and what mailers write for it. */
const ASCII_NAMES = new Set(['', 'us-ascii', 'ascii', 'ansi_x3.4-1968', 'us', 'iso646-us', 'iso_646.irv:1991', 'cp367']);
const ISO2022JP_NAMES = new Set(['iso-2022-jp', 'csiso2022jp']);
/** Labels that mean "we do not know": never guessed at. */
const UNKNOWN_NAMES = new Set(['unknown-8bit', 'x-unknown', 'unknown', 'x-user-defined', 'default']);
const ALIASES: Record<string, string> = {
  'iso-8859-8-i': 'iso-8859-8',
  'iso-8859-6-i': 'iso-8859-6',
  'x-mac-cyrillic': 'maccyrillic',
  'x-mac-roman': 'macroman',
};

function withRoundTripCheck(name: string, lineBreaksAreText: boolean, decode: (b: Buffer) => string | null, encodeRaw: (t: string) => Buffer | null): Charset {
  return {
    name,
    lineBreaksAreText,
    decode,
    // iconv-lite writes "?" for what it cannot encode; decoding back tells a real "?" from a lost character.
    encode: (text) => {
      const bytes = encodeRaw(text);
      return bytes !== null && decode(bytes) === text ? bytes : null;
    },
  };
}

/** A charset's bytes to text and back, as iconv-lite does it (no BOM taken out or put in). */
interface Codec {
  decode: (bytes: Buffer) => string;
  encode: (text: string) => Buffer;
}

function iconvCodec(iconvName: string): Codec {
  return {
    decode: (bytes) => iconv.decode(bytes, iconvName, { stripBOM: false }),
    encode: (text) => iconv.encode(text, iconvName, { addBOM: false }),
  };
}

function iconvCharset(name: string, iconvName: string, lineBreaksAreText = true): Charset {
  const { decode, encode } = iconvCodec(iconvName);
  return withRoundTripCheck(name, lineBreaksAreText, decode, encode);
}

/** What a single-byte charset's round trip would tell, worked out once per byte (singleByteCharset). */
interface SingleByteFacts {
  /** Bytes that do not come back as themselves (windows-1252's five unassigned ones, read as U+FFFD). */
  irreversible: number[];
  /** The byte iconv-lite writes for a character the charset lacks ("?"), and the character it reads as. */
  replacement: number;
  replacementChar: string;
  /**
   * For a charset whose bytes 0x00-0x7F are ASCII (nearly all): the text is the bytes read as ISO-8859-1
   * (one native call) with the bytes that read otherwise put right, and back the same way. Null for
   * the others (EBCDIC), which take iconv-lite's own loops.
   */
  latin1Based: {
    /** Bytes that do not read as their ISO-8859-1 character, and the characters they read as. */
    otherBytes: RegExp | null;
    readAs: Map<string, string>;
    /** Characters that are not written as their ISO-8859-1 byte, and the bytes (as latin1 characters) they are. */
    otherChars: RegExp;
    writtenAs: Map<string, string>;
  } | null;
}

const singleByteFacts = new Map<string, SingleByteFacts | null>();

const EVERY_BYTE = Buffer.from(Array.from({ length: 256 }, (_, byte) => byte));

/**
 * The facts of `iconvName` when it is a stateless single-byte charset (each byte one UTF-16 unit,
 * whatever bytes surround it), else null. Tested, not assumed: a codec that fails any check keeps
 * the round trip.
 */
function singleByteFactsOf(iconvName: string): SingleByteFacts | null {
  const { decode, encode } = iconvCodec(iconvName);
  const chars = decode(EVERY_BYTE);
  if (chars.length !== 256) return null;
  const reversed = Buffer.from(EVERY_BYTE).reverse();
  if (decode(reversed) !== [...chars].reverse().join('')) return null;
  const irreversible: number[] = [];
  for (let byte = 0; byte < 256; byte++) {
    if (decode(EVERY_BYTE.subarray(byte, byte + 1)) !== chars[byte]) return null;
    const back = encode(chars[byte]!);
    if (back.length !== 1 || back[0] !== byte) irreversible.push(byte);
  }
  let absent = 0x4e00;
  while (chars.includes(String.fromCharCode(absent))) absent++;
  const written = encode(String.fromCharCode(absent));
  if (written.length !== 1) return null;
  const replacement = written[0]!;
  const replacementChar = chars[replacement]!;
  const again = encode(replacementChar);
  if (again.length !== 1 || again[0] !== replacement) return null;
  return { irreversible, replacement, replacementChar, latin1Based: latin1BasedTables(chars, encode) };
}

/** See SingleByteFacts.latin1Based: iconv-lite's mapping, as ISO-8859-1 and the bytes that differ. */
function latin1BasedTables(chars: string, encode: (text: string) => Buffer): SingleByteFacts['latin1Based'] {
  const ascii = EVERY_BYTE.subarray(0, 128);
  if (chars.slice(0, 128) !== ascii.toString('latin1') || !encode(ascii.toString('latin1')).equals(ascii)) return null;
  const readAs = new Map<string, string>();
  const writtenAs = new Map<string, string>();
  const sameBytes: string[] = [];
  for (let byte = 0x80; byte < 256; byte++) {
    const char = chars[byte]!;
    const written = encode(char);
    const same = char === String.fromCharCode(byte) && written.length === 1 && written[0] === byte;
    if (same) sameBytes.push(char);
    else readAs.set(String.fromCharCode(byte), char);
  }
  for (const char of new Set(chars.slice(128))) {
    const written = encode(char);
    if (written.length === 1 && !sameBytes.includes(char)) writtenAs.set(char, String.fromCharCode(written[0]!));
  }
  const classOf = (list: Iterable<string>): string => [...list].map((char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
  return {
    otherBytes: readAs.size === 0 ? null : new RegExp(`[${classOf(readAs.keys())}]`, 'g'),
    readAs,
    otherChars: new RegExp(`[^\\u0000-\\u007f${classOf(sameBytes)}]`, 'g'),
    writtenAs,
  };
}

function countByte(bytes: Buffer, byte: number): number {
  let count = 0;
  for (let at = bytes.indexOf(byte); at !== -1; at = bytes.indexOf(byte, at + 1)) count++;
  return count;
}

function countChar(text: string, char: string): number {
  let count = 0;
  for (let at = text.indexOf(char); at !== -1; at = text.indexOf(char, at + 1)) count++;
  return count;
}

/** iconv-lite's mapping of an ASCII-based single-byte charset, through Node's latin1 conversion. */
function latin1Codec({ otherBytes, readAs, otherChars, writtenAs }: NonNullable<SingleByteFacts['latin1Based']>, replacement: number): Codec {
  const read = (byte: string): string => readAs.get(byte)!;
  const unwritable = String.fromCharCode(replacement);
  const write = (char: string): string => writtenAs.get(char) ?? unwritable;
  return {
    decode: (bytes) => (otherBytes === null ? bytes.toString('latin1') : bytes.toString('latin1').replace(otherBytes, read)),
    encode: (text) => Buffer.from(text.replace(otherChars, write), 'latin1'),
  };
}

/**
 * windows-1252, koi8-r, iso-8859-15 and the other single-byte charsets: iconv-lite's codec, without
 * the round trip (encode, decode back, compare) that costs two more passes over a part, twice per
 * part rewritten: three times the time of the same part in UTF-8. Bytes come back exactly when none of
 * them is one that does not come back alone. Text comes back exactly when no character was replaced:
 * both codecs write one byte per UTF-16 unit and the replacement byte for a unit the charset cannot
 * write, so the bytes then hold more replacement bytes than the text holds the replacement's
 * character. test/mime/charset.test.ts holds both to the round trip.
 */
function singleByteCharset(name: string, iconvName: string): Charset | null {
  let facts = singleByteFacts.get(iconvName);
  if (facts === undefined) singleByteFacts.set(iconvName, (facts = singleByteFactsOf(iconvName)));
  if (facts === null) return null;
  const { irreversible, replacement, replacementChar, latin1Based } = facts;
  const codec = latin1Based ? latin1Codec(latin1Based, replacement) : iconvCodec(iconvName);
  return {
    name,
    lineBreaksAreText: true,
    decode: codec.decode,
    encode: (text) => {
      const bytes = codec.encode(text);
      return countByte(bytes, replacement) === countChar(text, replacementChar) ? bytes : null;
    },
    reversible: (bytes) => irreversible.every((byte) => bytes.indexOf(byte) === -1),
  };
}

/**
 * The byte order of unlabelled UTF-16/32: a BOM decides; without one, the side the zero bytes of
 * mostly-Latin text fall on; failing that big-endian, as RFC 2781 says.
 */
function guessByteOrder(sample: Buffer, unit: 2 | 4): 'le' | 'be' {
  if (unit === 2 && sample[0] === 0xff && sample[1] === 0xfe) return 'le';
  if (unit === 2 && sample[0] === 0xfe && sample[1] === 0xff) return 'be';
  if (unit === 4 && sample[0] === 0xff && sample[1] === 0xfe && sample[2] === 0 && sample[3] === 0) return 'le';
  if (unit === 4 && sample[0] === 0 && sample[1] === 0 && sample[2] === 0xfe && sample[3] === 0xff) return 'be';
  let zerosFirst = 0;
  let zerosLast = 0;
  for (let i = 0; i + unit <= Math.min(sample.length, 4096); i += unit) {
    if (sample[i] === 0) zerosFirst++;
    if (sample[i + unit - 1] === 0) zerosLast++;
  }
  return zerosLast > zerosFirst ? 'le' : 'be';
}

function unicodeWideCharset(name: string, unit: 2 | 4, sample: Buffer): Charset {
  const explicit = /(le|be)$/.exec(name)?.[1] as 'le' | 'be' | undefined;
  const order = explicit ?? guessByteOrder(sample, unit);
  // The BOM, if any, stays in the text as U+FEFF so that it is written back unchanged.
  return iconvCharset(name, `utf-${unit * 8}${order}`, false);
}

function normalise(declared: string | undefined): string {
  return (declared ?? '')
    .trim()
    .replace(/^["']|["']$/g, '')
    .trim()
    .toLowerCase();
}

function iconvNameFor(name: string): string | undefined {
  const candidates = [ALIASES[name] ?? name, name.replace(/^x-/, ''), name.replace(/^x-/, '').replace(/-/g, '')];
  return candidates.find((c) => iconv.encodingExists(c));
}

/** Names of UTF-8 (iconv-lite's own utf8 codec is Node's decoder and encoder behind wrappers). */
const UTF8_NAMES = new Set(['utf-8', 'utf8']);
/** Names of ISO-8859-1 proper (byte = code point), not the windows-1252 that browsers read for it. */
const LATIN1_NAMES = new Set(['iso-8859-1', 'latin1', 'iso8859-1', 'iso_8859-1']);
/** A UTF-16 code unit ISO-8859-1 has no byte for. */
const BEYOND_LATIN1 = /[\u0100-\uffff]/;

/** U+FFFD in UTF-8: what Buffer.from writes for a lone surrogate. */
const REPLACEMENT_CHARACTER = Buffer.from('\ufffd', 'utf8');

/**
 * The text in UTF-8, or null when it holds a lone surrogate. Looked for afterwards, in the bytes:
 * without U+FFFD among them the text had none (each would have become one). isWellFormed() first
 * cost a scan of the string, 14 µs on a 23,000-character HTML part held as two-byte characters,
 * where the bytes' indexOf takes under one.
 */
function encodeUtf8(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.indexOf(REPLACEMENT_CHARACTER) === -1 || text.isWellFormed() ? bytes : null;
}

/**
 * Node's own codecs for the two charsets most mail uses: what iconv-lite does for them (for UTF-8,
 * StringDecoder then Buffer.from: invalid sequences become U+FFFD, a BOM stays in the text; for
 * ISO-8859-1, each byte is its code point), without its per-call wrappers and table loops, which
 * cost more than the conversion on a newsletter-sized part.
 *
 * Text these two cannot hold is known without the round trip the other charsets make (encode, decode
 * back, compare: two more passes over every part, twice per part rewritten): UTF-8 loses exactly the
 * lone surrogates (encoded as U+FFFD), ISO-8859-1 exactly what lies above U+00FF (cut to its low
 * byte). test/mime/charset.test.ts holds both to the round trip.
 */
function nodeCharset(name: string, encoding: 'utf8' | 'latin1'): Charset {
  return {
    name,
    lineBreaksAreText: true,
    decode: (bytes) => bytes.toString(encoding),
    encode: encoding === 'utf8' ? encodeUtf8 : (text) => (BEYOND_LATIN1.test(text) ? null : Buffer.from(text, 'latin1')),
    // UTF-8 bytes come back exactly when they are valid UTF-8 (anything else decodes to U+FFFD, whose
    // bytes it was not); ISO-8859-1 bytes always do.
    reversible: encoding === 'utf8' ? (bytes) => isUtf8(bytes) : () => true,
  };
}

/**
 * US-ASCII. A part that is really ASCII only takes ASCII text back. Undeclared 8-bit bytes in a
 * "us-ascii" part are carried through as Latin-1, so that they survive a rewrite unchanged.
 */
function asciiCharset(name: string, sample: Buffer): Charset {
  const carrier = nodeCharset(name, 'latin1');
  if (!isAscii(sample)) return carrier;
  return { ...carrier, encode: (text) => (/[\u0080-\u{10ffff}]/u.test(text) ? null : carrier.encode(text)) };
}

const WIDE_UNICODE = /^(?:utf|ucs)-?(16|32)(le|be)?$/;

function wideUnicodeName(name: string): RegExpExecArray | string[] | null {
  return WIDE_UNICODE.exec(name) ?? (name === 'unicode' ? ['', '16'] : null);
}

/** UTF-16/32: CR and LF bytes in the raw content are then line structure, never text. */
export function isWideUnicode(declared: string | undefined): boolean {
  return wideUnicodeName(normalise(declared)) !== null;
}

/**
 * The codec for a declared charset, or null when it is unknown. `sample` (the part's bytes)
 * settles the byte order of unlabelled UTF-16/32.
 */
export function lookupCharset(declared: string | undefined, sample: Buffer): Charset | null {
  const name = normalise(declared);
  if (ASCII_NAMES.has(name)) return asciiCharset(name || 'us-ascii', sample);
  if (UTF8_NAMES.has(name)) return nodeCharset(name, 'utf8');
  if (LATIN1_NAMES.has(name)) return nodeCharset(name, 'latin1');
  if (ISO2022JP_NAMES.has(name)) return withRoundTripCheck(name, true, decodeIso2022jp, encodeIso2022jp);
  if (UNKNOWN_NAMES.has(name)) return null;
  const wide = wideUnicodeName(name);
  if (wide) return unicodeWideCharset(`utf-${wide[1]}${wide[2] ?? ''}`, wide[1] === '16' ? 2 : 4, sample);
  const iconvName = iconvNameFor(name);
  return iconvName ? (singleByteCharset(name, iconvName) ?? iconvCharset(name, iconvName)) : null;
}
