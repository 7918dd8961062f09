/**
 * Content-Transfer-Encoding codecs. Decoders are tolerant (real mail is sloppy); encoders are
 * canonical, so that decoding and re-encoding a canonically encoded part gives the same bytes.
 */

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const EQUALS = 0x3d;

export type Eol = '\r\n' | '\n';

const IDENTITY_ENCODINGS = new Set(['7bit', '8bit', 'binary']);
export const SUPPORTED_ENCODINGS = new Set([...IDENTITY_ENCODINGS, 'quoted-printable', 'base64']);

const QP_MAX_LINE = 76;
const BASE64_LINE = 76;

/** Each byte's value as a hex digit (either case), or -1. */
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let digit = 0; digit < 16; digit++) {
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(digit)] = digit;
  HEX_VALUE['0123456789abcdef'.charCodeAt(digit)] = digit;
}

// Word-at-a-time tests on the four bytes of a 32-bit word (SWAR): `((w - ONES * n) & ~w & HIGH_BITS) !== 0`
// exactly when some byte of w is below n (n <= 0x80); with w ^ (ONES * c) and n = 1, when some byte equals c.
const ONES = 0x01010101;
const HIGH_BITS = 0x80808080;
const EQUALS_X4 = ONES * EQUALS;

function isBlank(byte: number | undefined): boolean {
  return byte === SPACE || byte === TAB;
}

/** The length of the line break (CRLF or LF) at data[at], or 0 if there is none. */
function lineBreakAt(data: Buffer, at: number): number {
  const byte = data[at];
  if (byte === LF) return 1;
  return byte === CR && data[at + 1] === LF ? 2 : 0;
}

/**
 * Quoted-printable decoding; hard line breaks are kept exactly as they were (CRLF or LF). The result is
 * written into `into` when it is given and has room (data.length bytes), else into a new Buffer.
 */
export function decodeQuotedPrintable(data: Buffer, into?: Buffer): Buffer {
  // Never longer than its input, so one allocation does.
  const out = into !== undefined && into.length >= data.length ? into : Buffer.allocUnsafe(data.length);
  // The loop lives in its own function, and this one has none: V8 compiles a long loop while it runs
  // (on-stack replacement), before the code after the loop has ever run, and on Node 20 code there with
  // no type feedback yet (this subarray call) made that compiled loop bail out again on later calls.
  return out.subarray(0, decodeQpInto(data, out));
}

/**
 * Decodes quoted-printable data into out; returns the length. Tolerant: "=" and two hex digits of either
 * case is a byte; "=" then only blanks up to a line break or the end of the data is a soft break; any
 * other "=", or a byte that should have been escaped, is kept as it is; blanks before a line break or the
 * end of the data were possibly added in transport and are not part of the data (RFC 2045 6.7).
 *
 * This runs over every byte of every candidate part, twice (decoding, and checking the re-encoded part),
 * so it is one pass with no call per line, and moves data four bytes at a time: a 32-bit word is data as
 * it is up to its first "=" or byte below 0x0e (CR, LF, and tab or a control byte, which just take the
 * byte-wise way). Such a word may end a line with blanks, so trailing blanks are taken back from the
 * output when the line ends.
 */
function decodeQpInto(data: Buffer, out: Buffer): number {
  const size = data.length;
  const words = new DataView(data.buffer, data.byteOffset, size);
  const outWords = new DataView(out.buffer, out.byteOffset, size);
  const lastWord = size - 4;
  let length = 0;
  // Output from `kept` on is the current line's data copied as it was, so its trailing blanks are the
  // line's transport padding; decoded bytes and everything before a line or soft break are below it.
  let kept = 0;
  let i = 0;
  for (;;) {
    if (i <= lastWord && data[i] !== EQUALS) {
      const word = words.getInt32(i, true);
      const equals = word ^ EQUALS_X4;
      const special = (((equals - ONES) & ~equals) | ((word - ONES * 0x0e) & ~word)) & HIGH_BITS;
      // The word goes out whole and the output keeps its bytes before the first special one, or all four
      // (the lowest flagged byte is a true one: borrows only carry upward); the rest is overwritten.
      outWords.setInt32(length, word, true);
      if (special === 0) {
        length += 4;
        i += 4;
        continue;
      }
      const plain = (31 - Math.clz32(special & -special)) >> 3;
      length += plain;
      i += plain;
    }
    const atEnd = i >= size;
    let breakLength = 0;
    if (!atEnd) {
      const byte = data[i]!;
      if (byte === EQUALS) {
        if (i + 2 < size) {
          let high = HEX_VALUE[data[i + 1]!]!;
          let low = HEX_VALUE[data[i + 2]!]!;
          if ((high | low) >= 0) {
            // Escapes come in runs (UTF-8 sequences, non-Latin text, UTF-16), decoded here in one loop,
            // with any single byte between two of them ("d=C3=A9j=C3=A0", "=00a=00b"), which is data
            // as it is: it is not a line break, and a blank or CR before an "=" is not the line's end.
            do {
              out[length++] = (high << 4) | low;
              i += 3;
              if (i + 2 >= size) break;
              const between = data[i]!;
              if (between !== EQUALS) {
                if (between === LF || data[i + 1] !== EQUALS || i + 3 >= size) break;
                out[length++] = between;
                i++;
              }
              high = HEX_VALUE[data[i + 1]!]!;
              low = HEX_VALUE[data[i + 2]!]!;
            } while ((high | low) >= 0);
            kept = length;
            continue;
          }
        }
        let next = i + 1;
        while (next < size && isBlank(data[next])) next++;
        const softBreak = next === size ? 0 : lineBreakAt(data, next);
        if (next === size || softBreak > 0) {
          // A soft break: the blanks before the "=" are data.
          kept = length;
          i = next + softBreak;
          continue;
        }
        out[length++] = EQUALS;
        i++;
        continue;
      }
      breakLength = byte === LF || byte === CR ? lineBreakAt(data, i) : 0;
      if (breakLength === 0) {
        out[length++] = byte;
        i++;
        continue;
      }
    }
    // A line break or the end of the data: one path, so that the end runs code every line has warmed up.
    while (length > kept && isBlank(out[length - 1])) length--;
    if (atEnd) return length;
    if (breakLength === 2) out[length++] = CR;
    out[length++] = LF;
    kept = length;
    i += breakLength;
  }
}

/** Each byte's part in base64 content: a letter of the alphabet, the "=" padding, or neither (ignored). */
const BASE64_LETTER = 1;
const BASE64_PAD = 2;
const BASE64_CLASS = new Uint8Array(256);
for (const letter of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64_CLASS[letter.charCodeAt(0)] = BASE64_LETTER;
BASE64_CLASS[EQUALS] = BASE64_PAD;

/**
 * Content as encoders write it: letters and line breaks, then at most one run of "=" at the end. Node's
 * own decoder reads exactly that as decodeBase64 does (it passes over CR and LF and stops at "="); it
 * also reads "-" and "_" as letters (base64url) and keeps going after "=" in ways we do not, so anything
 * else takes the tolerant way.
 */
const PLAIN_BASE64 = /^[A-Za-z0-9+/\r\n]*(?:=+[\r\n]*)?$/;

/**
 * Base64 decoding that ignores anything outside the alphabet and copes with missing padding
 * and with several padded blocks glued together (each "=" run ends a block). Plain content (nearly
 * all of it) goes to Node's decoder in one call: a rewritten part is decoded twice (reading it, and
 * checking what we wrote), and stripping and splitting its text first cost several times the decoding.
 */
export function decodeBase64(data: Buffer): Buffer {
  const text = data.toString('latin1');
  if (PLAIN_BASE64.test(text)) return Buffer.from(text, 'base64');
  const blocks = text.replace(/[^A-Za-z0-9+/=]/g, '').split(/=+/);
  return Buffer.concat(blocks.filter((b) => b.length > 0).map((b) => Buffer.from(b, 'base64')));
}

/**
 * Why readers may disagree on what base64 data holds, or undefined when they all read the same bytes.
 * Characters outside the alphabet (blanks, a stray '!') are ignored by every reader (RFC 2045 6.8) and
 * a missing final padding is read alike; but after '=' padding some readers stop while decodeBase64
 * goes on with the next block, and a last group of one character (6 bits) makes no byte and is read
 * differently, or refused.
 */
export function base64Ambiguity(data: Buffer): string | undefined {
  let inGroup = 0;
  let padded = false;
  for (let i = 0; i < data.length; i++) {
    const kind = BASE64_CLASS[data[i]!];
    if (kind === 0) continue;
    if (kind === BASE64_PAD) {
      if (inGroup === 1) return 'a group of one character before "=" (6 bits, no byte)';
      padded = true;
      inGroup = 0;
      continue;
    }
    if (padded) return 'data after "=" padding (some readers stop there)';
    inGroup = (inGroup + 1) & 3;
  }
  return inGroup === 1 ? 'a last group of one character (6 bits, no byte)' : undefined;
}

export function decodeTransfer(cte: string, data: Buffer): Buffer {
  if (cte === 'quoted-printable') return decodeQuotedPrintable(data);
  if (cte === 'base64') return decodeBase64(data);
  return data;
}

/** Base64 in lines of 76 characters joined by eol, without a final line break. */
export function encodeBase64(data: Buffer, eol: Eol): Buffer {
  const encoded = data.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < encoded.length; i += BASE64_LINE) lines.push(encoded.slice(i, i + BASE64_LINE));
  return Buffer.from(lines.join(eol), 'latin1');
}

/** 1 for the bytes quoted-printable keeps as they are: printable ASCII but "=", and space and tab. */
const QP_LITERAL = new Uint8Array(256);
for (let byte = 0x21; byte <= 0x7e; byte++) QP_LITERAL[byte] = 1;
QP_LITERAL[EQUALS] = 0;
QP_LITERAL[SPACE] = 1;
QP_LITERAL[TAB] = 1;
/** The same for a line's last byte, where a blank would be stripped by the decoder, so it is escaped. */
const QP_LITERAL_AT_END = QP_LITERAL.map((literal, byte) => (isBlank(byte) ? 0 : literal));

/** "=XY" for each byte, as the first three bytes of a little-endian 32-bit word. */
const QP_ESCAPE = new Int32Array(256);
for (let byte = 0; byte < 256; byte++) {
  const hex = byte.toString(16).toUpperCase().padStart(2, '0');
  QP_ESCAPE[byte] = EQUALS | (hex.charCodeAt(0) << 8) | (hex.charCodeAt(1) << 16);
}

/** Writes a soft break into out at `at`; returns the new length. */
function softBreak(out: Buffer, at: number, crlf: boolean): number {
  let length = at;
  out[length++] = EQUALS;
  if (crlf) out[length++] = CR;
  out[length++] = LF;
  return length;
}

/**
 * Writes byte as "=XY" into the output at `at`, in one 32-bit store whose fourth byte the next output
 * overwrites (the output has room: it is 16 bytes longer than any encoding); returns the new length.
 */
function escapeQp(outWords: DataView, at: number, byte: number): number {
  outWords.setInt32(at, QP_ESCAPE[byte]!, true);
  return at + 3;
}

/**
 * Encodes data[start, end), one line of text (or all of it for UTF-16/32), into out from index `at`,
 * with soft breaks; returns the new length. `words` and `outWords` view data and out. This runs over
 * every byte of every rewritten part, so positions and the column live in locals, and literal bytes are
 * copied in runs, a 32-bit word at a time (as in decoding) where the run has room for one. The last byte
 * takes the same paths as the others (not code after the loop, for the reason in decodeQuotedPrintable).
 */
function encodeQpLine(data: Buffer, words: DataView, start: number, end: number, out: Buffer, outWords: DataView, at: number, crlf: boolean): number {
  let length = at;
  let column = 0;
  let i = start;
  const last = end - 1;
  // Every byte but the last must leave column 76 free for a soft break; the last may use it.
  const room = QP_MAX_LINE - 1;
  while (i < end) {
    const byte = data[i]!;
    if ((i === last ? QP_LITERAL_AT_END : QP_LITERAL)[byte] === 0) {
      // Escapes come in runs too (UTF-8 sequences, non-Latin text, UTF-16), written here in one loop,
      // with any single literal byte between two of them.
      do {
        if (column + 3 > (i === last ? QP_MAX_LINE : room)) {
          length = softBreak(out, length, crlf);
          column = 0;
        }
        length = escapeQp(outWords, length, data[i]!);
        column += 3;
        i++;
        if (i + 1 < last && QP_LITERAL[data[i]!] === 1 && QP_LITERAL[data[i + 1]!] === 0) {
          if (column >= room) {
            length = softBreak(out, length, crlf);
            column = 0;
          }
          out[length++] = data[i]!;
          column++;
          i++;
        }
      } while (i < last && QP_LITERAL[data[i]!] === 0);
      continue;
    }
    if (column >= (i === last ? QP_MAX_LINE : room)) {
      length = softBreak(out, length, crlf);
      column = 0;
    }
    out[length++] = byte;
    i++;
    column++;
    if (i >= last || QP_LITERAL[data[i]!] === 0) continue;
    // A run of literal bytes, up to the end of the room or to the last byte.
    const stop = Math.min(i + room - column, last);
    const from = i;
    while (i < stop - 3) {
      const word = words.getInt32(i, true);
      const equals = word ^ EQUALS_X4;
      // Literal unless some byte is "=", below 0x20 (a tab takes the byte-wise way) or above 0x7e.
      const special = (((equals - ONES) & ~equals) | ((word - ONES * 0x20) & ~word) | word | (word + ONES)) & HIGH_BITS;
      // As in decoding: the word goes out whole, and the output keeps its bytes before the first special one.
      outWords.setInt32(length, word, true);
      if (special !== 0) {
        const plain = (31 - Math.clz32(special & -special)) >> 3;
        length += plain;
        i += plain;
        break;
      }
      length += 4;
      i += 4;
    }
    while (i < stop && QP_LITERAL[data[i]!] === 1) out[length++] = data[i++]!;
    column += i - from;
  }
  return length;
}

/** Room for the worst case of encoding `size` bytes: every byte can become three, and every 73 output bytes may need a soft break (=CRLF). */
function qpRoom(size: number): number {
  return size * 3 + Math.ceil((size * 3) / 73) * 3 + 16;
}

// Encoding needs room for the worst case, three times the data and more, and uses about a third of it on
// a newsletter: it writes here, and the result is copied out at its size. Parts up to QP_SCRATCH_LIMIT
// bytes share this one buffer (grown as they come) instead of allocating the worst case each.
const QP_SCRATCH_LIMIT = 1 << 20;
let qpScratch = Buffer.allocUnsafe(0);

/**
 * Quoted-printable encoding, followed by `tail` (bytes kept after the data, as they were). When
 * `lineBreaksAreText` (ASCII-compatible charsets), each eol in the data is a hard line break; any other CR
 * or LF is escaped, so the output never mixes line ending styles (strict MTAs refuse bare LF). For
 * UTF-16/32 every CR and LF byte is data and is escaped. Soft breaks use eol.
 */
export function encodeQuotedPrintable(data: Buffer, eol: Eol, lineBreaksAreText: boolean, tail?: Uint8Array): Buffer {
  const crlf = eol === '\r\n';
  const room = qpRoom(data.length);
  if (data.length <= QP_SCRATCH_LIMIT && qpScratch.length < room)
    qpScratch = Buffer.allocUnsafe(Math.max(room, Math.min(2 * qpScratch.length, qpRoom(QP_SCRATCH_LIMIT))));
  const out = data.length <= QP_SCRATCH_LIMIT ? qpScratch : Buffer.allocUnsafe(room);
  const words = new DataView(data.buffer, data.byteOffset, data.length);
  const outWords = new DataView(out.buffer, out.byteOffset, out.length);
  // No loop here, as in decodeQuotedPrintable.
  const length = lineBreaksAreText ? encodeQpLines(data, words, out, outWords, crlf) : encodeQpLine(data, words, 0, data.length, out, outWords, 0, crlf);
  const result = Buffer.allocUnsafe(length + (tail?.length ?? 0));
  out.copy(result, 0, 0, length);
  if (tail !== undefined) result.set(tail, length);
  return result;
}

/** Encodes data into out line by line, each eol a hard line break; returns the length. */
function encodeQpLines(data: Buffer, words: DataView, out: Buffer, outWords: DataView, crlf: boolean): number {
  let length = 0;
  let pos = 0;
  let from = 0;
  for (;;) {
    const lf = data.indexOf(LF, from);
    // With CRLF as eol, an LF without a CR before it (in this line) is data.
    if (crlf && lf !== -1 && (lf - 1 < pos || data[lf - 1] !== CR)) {
      from = lf + 1;
      continue;
    }
    const lineEnd = lf === -1 ? data.length : crlf ? lf - 1 : lf;
    length = encodeQpLine(data, words, pos, lineEnd, out, outWords, length, crlf);
    // The last line ends inside the loop, so that it runs only code every line has warmed up.
    if (lf === -1) return length;
    if (crlf) out[length++] = CR;
    out[length++] = LF;
    pos = from = lf + 1;
  }
}
