/**
 * REFERENCE quoted-printable codecs: a verbatim copy of decodeQuotedPrintable/decodeQpRun and
 * encodeQuotedPrintable/encodeQpLine/isLiteralQp from src/mime/transfer.ts as of commit 1dad5e7, the
 * simple byte-at-a-time versions. The fast codecs in src/mime/transfer.ts are checked against these
 * (test/mime/transfer.test.ts) and must give identical bytes for every input: the behaviour here is the
 * specification. Do not "fix" or speed up this file; change the specification deliberately, in both.
 */

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const EQUALS = 0x3d;

export type Eol = '\r\n' | '\n';

const QP_MAX_LINE = 76;

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
