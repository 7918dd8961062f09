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

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/**
 * Decodes the QP data in data[start, end) (one line, without its line break or soft break) into out
 * from index `at`; returns the new length. Positions live in locals: this runs over every byte of every
 * candidate part, twice (decoding, and checking the re-encoded part).
 */
function decodeQpRun(data: Buffer, start: number, end: number, out: Buffer, at: number): number {
  let length = at;
  for (let i = start; i < end; i++) {
    const byte = data[i]!;
    if (byte === EQUALS && i + 2 < end) {
      const hi = hexValue(data[i + 1]);
      const lo = hexValue(data[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out[length++] = hi * 16 + lo;
        i += 2;
        continue;
      }
    }
    // A stray "=" or a byte that should have been escaped is kept as it is.
    out[length++] = byte;
  }
  return length;
}

/** Quoted-printable decoding; hard line breaks are kept exactly as they were (CRLF or LF). */
export function decodeQuotedPrintable(data: Buffer): Buffer {
  // Never longer than its input, so one allocation does.
  const out = Buffer.allocUnsafe(data.length);
  let length = 0;
  let pos = 0;
  while (pos < data.length) {
    const lf = data.indexOf(LF, pos);
    const lineEnd = lf === -1 ? data.length : lf > pos && data[lf - 1] === CR ? lf - 1 : lf;
    let end = lineEnd;
    // Trailing blanks were possibly added in transport and are not part of the data (RFC 2045 6.7).
    while (end > pos && (data[end - 1] === SPACE || data[end - 1] === TAB)) end--;
    const soft = end > pos && data[end - 1] === EQUALS;
    length = decodeQpRun(data, pos, soft ? end - 1 : end, out, length);
    if (lf === -1) break;
    if (!soft) {
      if (lineEnd < lf) out[length++] = CR;
      out[length++] = LF;
    }
    pos = lf + 1;
  }
  return out.subarray(0, length);
}

/**
 * Base64 decoding that ignores anything outside the alphabet and copes with missing padding
 * and with several padded blocks glued together (each "=" run ends a block).
 */
export function decodeBase64(data: Buffer): Buffer {
  const blocks = data
    .toString('latin1')
    .replace(/[^A-Za-z0-9+/=]/g, '')
    .split(/=+/);
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
    const byte = data[i]!;
    if (byte === EQUALS) {
      if (inGroup === 1) return 'a group of one character before "=" (6 bits, no byte)';
      padded = true;
      inGroup = 0;
      continue;
    }
    if (!isBase64Letter(byte)) continue;
    if (padded) return 'data after "=" padding (some readers stop there)';
    inGroup = (inGroup + 1) % 4;
  }
  return inGroup === 1 ? 'a last group of one character (6 bits, no byte)' : undefined;
}

function isBase64Letter(byte: number): boolean {
  return (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x2b || byte === 0x2f;
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

function isLiteralQp(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e && byte !== EQUALS) || byte === SPACE || byte === TAB;
}

const HEX = Buffer.from('0123456789ABCDEF', 'latin1');
const CRLF_BYTES = Buffer.from('\r\n', 'latin1');
const LF_BYTES = Buffer.from('\n', 'latin1');

/**
 * Encodes data[start, end), one line of text (or all of it for UTF-16/32), into out from index `at`,
 * with soft breaks; returns the new length. Positions and the column live in locals: this runs over every
 * byte of every rewritten part, and per-byte method calls on a writer object cost a third of it.
 */
function encodeQpLine(data: Buffer, start: number, end: number, out: Buffer, at: number, crlf: boolean): number {
  let length = at;
  let column = 0;
  const last = end - 1;
  for (let i = start; i < end; i++) {
    const byte = data[i]!;
    // The last byte may use column 76, as no soft break follows it; a blank there would be
    // stripped by the decoder, so it is escaped.
    const literal = isLiteralQp(byte) && !(i === last && (byte === SPACE || byte === TAB));
    const width = literal ? 1 : 3;
    if (column + width > (i === last ? QP_MAX_LINE : QP_MAX_LINE - 1)) {
      out[length++] = EQUALS;
      if (crlf) out[length++] = CR;
      out[length++] = LF;
      column = 0;
    }
    if (literal) {
      out[length++] = byte;
    } else {
      out[length++] = EQUALS;
      out[length++] = HEX[byte >> 4]!;
      out[length++] = HEX[byte & 15]!;
    }
    column += width;
  }
  return length;
}

/**
 * Quoted-printable encoding. When `lineBreaksAreText` (ASCII-compatible charsets), each eol in
 * the data is a hard line break; any other CR or LF is escaped, so the output never mixes line
 * ending styles (strict MTAs refuse bare LF). For UTF-16/32 every CR and LF byte is data and is
 * escaped. Soft breaks use eol.
 */
export function encodeQuotedPrintable(data: Buffer, eol: Eol, lineBreaksAreText: boolean): Buffer {
  const crlf = eol === '\r\n';
  // Every byte can become three, and every 73 output bytes may need a soft break (=CRLF).
  const out = Buffer.allocUnsafe(data.length * 3 + Math.ceil((data.length * 3) / 73) * 3 + 16);
  if (!lineBreaksAreText) return out.subarray(0, encodeQpLine(data, 0, data.length, out, 0, crlf));
  const hardBreak = crlf ? CRLF_BYTES : LF_BYTES;
  let length = 0;
  let pos = 0;
  for (let hit = data.indexOf(hardBreak, pos); hit !== -1; hit = data.indexOf(hardBreak, pos)) {
    length = encodeQpLine(data, pos, hit, out, length, crlf);
    if (crlf) out[length++] = CR;
    out[length++] = LF;
    pos = hit + hardBreak.length;
  }
  return out.subarray(0, encodeQpLine(data, pos, data.length, out, length, crlf));
}
