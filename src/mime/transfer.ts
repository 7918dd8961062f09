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

/** Decodes one QP line (without its line break) into out; returns true if it ended in a soft break. */
function decodeQpLine(line: Buffer, out: number[]): boolean {
  let end = line.length;
  // Trailing blanks were possibly added in transport and are not part of the data (RFC 2045 6.7).
  while (end > 0 && (line[end - 1] === SPACE || line[end - 1] === TAB)) end--;
  const soft = end > 0 && line[end - 1] === EQUALS;
  if (soft) end--;
  for (let i = 0; i < end; i++) {
    const byte = line[i]!;
    if (byte === EQUALS) {
      const hi = hexValue(line[i + 1]);
      const lo = hexValue(line[i + 2]);
      if (hi >= 0 && lo >= 0 && i + 2 < end) {
        out.push(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    // A stray "=" or a byte that should have been escaped is kept as it is.
    out.push(byte);
  }
  return soft;
}

/** Quoted-printable decoding; hard line breaks are kept exactly as they were (CRLF or LF). */
export function decodeQuotedPrintable(data: Buffer): Buffer {
  const out: number[] = [];
  let pos = 0;
  while (pos < data.length) {
    const lf = data.indexOf(LF, pos);
    const lineEnd = lf === -1 ? data.length : lf > pos && data[lf - 1] === CR ? lf - 1 : lf;
    const soft = decodeQpLine(data.subarray(pos, lineEnd), out);
    if (lf === -1) break;
    if (!soft) for (let i = lineEnd; i <= lf; i++) out.push(data[i]!);
    pos = lf + 1;
  }
  return Buffer.from(out);
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

const HEX = '0123456789ABCDEF';

function escapeQp(byte: number): string {
  return `=${HEX[byte >> 4]}${HEX[byte & 15]}`;
}

/** Encodes one line of data (no line breaks in it) as QP, wrapped with soft breaks. */
function encodeQpLine(line: Buffer, eol: Eol): string {
  const tokens: string[] = [];
  for (let i = 0; i < line.length; i++) {
    const byte = line[i]!;
    const isLast = i === line.length - 1;
    // A blank at the end of a line would be stripped by the decoder, so it is escaped.
    const literal = isLiteralQp(byte) && !(isLast && (byte === SPACE || byte === TAB));
    tokens.push(literal ? String.fromCharCode(byte) : escapeQp(byte));
  }
  let out = '';
  let lineLength = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const isLast = i === tokens.length - 1;
    // The final token may use column 76; any other must leave room for the soft-break "=".
    const room = isLast ? QP_MAX_LINE : QP_MAX_LINE - 1;
    if (lineLength + token.length > room) {
      out += `=${eol}`;
      lineLength = 0;
    }
    out += token;
    lineLength += token.length;
  }
  return out;
}

/**
 * Quoted-printable encoding. When `lineBreaksAreText` (ASCII-compatible charsets), each eol in
 * the data is a hard line break; any other CR or LF is escaped, so the output never mixes line
 * ending styles (strict MTAs refuse bare LF). For UTF-16/32 every CR and LF byte is data and is
 * escaped. Soft breaks use eol.
 */
export function encodeQuotedPrintable(data: Buffer, eol: Eol, lineBreaksAreText: boolean): Buffer {
  if (!lineBreaksAreText) return Buffer.from(encodeQpLine(data, eol), 'latin1');
  const lines: string[] = [];
  let pos = 0;
  for (let hit = data.indexOf(eol, pos, 'latin1'); hit !== -1; hit = data.indexOf(eol, pos, 'latin1')) {
    lines.push(encodeQpLine(data.subarray(pos, hit), eol));
    pos = hit + eol.length;
  }
  lines.push(encodeQpLine(data.subarray(pos), eol));
  return Buffer.from(lines.join(eol), 'latin1');
}
