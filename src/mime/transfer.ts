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

export const IDENTITY_ENCODINGS = new Set(['7bit', '8bit', 'binary']);
export const SUPPORTED_ENCODINGS = new Set([...IDENTITY_ENCODINGS, 'quoted-printable', 'base64']);

export const QP_MAX_LINE = 76;
export const BASE64_LINE = 76;

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** Output of the QP decoder: never longer than its input, so one allocation does. */
interface ByteSink { buf: Buffer; length: number }

/** Decodes one QP line (without its line break) into sink; returns true if it ended in a soft break. */
function decodeQpLine(data: Buffer, start: number, lineEnd: number, sink: ByteSink): boolean {
  let end = lineEnd;
  // Trailing blanks were possibly added in transport and are not part of the data (RFC 2045 6.7).
  while (end > start && (data[end - 1] === SPACE || data[end - 1] === TAB)) end--;
  const soft = end > start && data[end - 1] === EQUALS;
  if (soft) end--;
  for (let i = start; i < end; i++) {
    const byte = data[i]!;
    if (byte === EQUALS && i + 2 < end) {
      const hi = hexValue(data[i + 1]);
      const lo = hexValue(data[i + 2]);
      if (hi >= 0 && lo >= 0) {
        sink.buf[sink.length++] = hi * 16 + lo;
        i += 2;
        continue;
      }
    }
    // A stray "=" or a byte that should have been escaped is kept as it is.
    sink.buf[sink.length++] = byte;
  }
  return soft;
}

/** Quoted-printable decoding; hard line breaks are kept exactly as they were (CRLF or LF). */
export function decodeQuotedPrintable(data: Buffer): Buffer {
  const sink: ByteSink = { buf: Buffer.alloc(data.length), length: 0 };
  let pos = 0;
  while (pos < data.length) {
    const lf = data.indexOf(LF, pos);
    const lineEnd = lf === -1 ? data.length : lf > pos && data[lf - 1] === CR ? lf - 1 : lf;
    const soft = decodeQpLine(data, pos, lineEnd, sink);
    if (lf === -1) break;
    if (!soft) {
      data.copy(sink.buf, sink.length, lineEnd, lf + 1);
      sink.length += lf + 1 - lineEnd;
    }
    pos = lf + 1;
  }
  return sink.buf.subarray(0, sink.length);
}

/**
 * Base64 decoding that ignores anything outside the alphabet and copes with missing padding
 * and with several padded blocks glued together (each "=" run ends a block).
 */
export function decodeBase64(data: Buffer): Buffer {
  const blocks = data.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, '').split(/=+/);
  return Buffer.concat(blocks.filter((b) => b.length > 0).map((b) => Buffer.from(b, 'base64')));
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

/** Appends QP output into a buffer sized for the worst case, so large parts encode in one pass. */
class QpWriter {
  private readonly out: Buffer;
  private length = 0;
  private column = 0;
  private readonly eol: Buffer;

  constructor(inputLength: number, eol: Eol) {
    this.eol = Buffer.from(eol, 'latin1');
    // Every byte can become three, and every 73 output bytes may need a soft break (=CRLF).
    this.out = Buffer.alloc(inputLength * 3 + Math.ceil((inputLength * 3) / 73) * 3 + 16);
  }

  /** Writes one encoded byte; `isLastOfLine` lets it use column 76, as no soft break follows it. */
  writeByte(byte: number, literal: boolean, isLastOfLine: boolean): void {
    const width = literal ? 1 : 3;
    const room = isLastOfLine ? QP_MAX_LINE : QP_MAX_LINE - 1;
    if (this.column + width > room) {
      this.out[this.length++] = EQUALS;
      this.writeRaw(this.eol);
    }
    if (literal) {
      this.out[this.length++] = byte;
    } else {
      this.out[this.length++] = EQUALS;
      this.out[this.length++] = HEX[byte >> 4]!;
      this.out[this.length++] = HEX[byte & 15]!;
    }
    this.column += width;
  }

  /** Writes a hard line break (or the soft break's line end) and starts a new line. */
  writeRaw(bytes: Buffer): void {
    bytes.copy(this.out, this.length);
    this.length += bytes.length;
    this.column = 0;
  }

  result(): Buffer {
    return this.out.subarray(0, this.length);
  }
}

/** Encodes one line of data (line breaks in it are escaped as data) with soft breaks. */
function encodeQpLine(line: Buffer, writer: QpWriter): void {
  const last = line.length - 1;
  for (let i = 0; i <= last; i++) {
    const byte = line[i]!;
    // A blank at the end of a line would be stripped by the decoder, so it is escaped.
    const literal = isLiteralQp(byte) && !(i === last && (byte === SPACE || byte === TAB));
    writer.writeByte(byte, literal, i === last);
  }
}

/**
 * Quoted-printable encoding. When `lineBreaksAreText` (ASCII-compatible charsets), each eol in
 * the data is a hard line break; any other CR or LF is escaped, so the output never mixes line
 * ending styles (strict MTAs refuse bare LF). For UTF-16/32 every CR and LF byte is data and is
 * escaped. Soft breaks use eol.
 */
export function encodeQuotedPrintable(data: Buffer, eol: Eol, lineBreaksAreText: boolean): Buffer {
  const writer = new QpWriter(data.length, eol);
  if (!lineBreaksAreText) {
    encodeQpLine(data, writer);
    return writer.result();
  }
  const hardBreak = Buffer.from(eol, 'latin1');
  let pos = 0;
  for (let hit = data.indexOf(hardBreak, pos); hit !== -1; hit = data.indexOf(hardBreak, pos)) {
    encodeQpLine(data.subarray(pos, hit), writer);
    writer.writeRaw(hardBreak);
    pos = hit + hardBreak.length;
  }
  encodeQpLine(data.subarray(pos), writer);
  return writer.result();
}
