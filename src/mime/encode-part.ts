/**
 * Turns a part's new text back into content bytes: same charset, and the same transfer encoding
 * when that encoding can carry the result; otherwise quoted-printable.
 */
import type { Charset } from './charset.js';
import { hasOnlyLineBreaksOfStyle, longestLine, MAX_LINE_OCTETS } from './eol.js';
import { encodeBase64, encodeQuotedPrintable, type Eol } from './transfer.js';
import type { PartSkip } from './types.js';

interface PartEncoding {
  charset: Charset;
  /** The part's transfer encoding as declared. */
  cte: string;
  eol: Eol;
  /** Line breaks (and blanks) after the encoded data, kept so the part ends exactly as before. */
  tail: Buffer;
}

/** `bytes`: the content, tail included; `data`: the new text in the part's charset, what `bytes` less the tail must decode to. */
type EncodeResult = { bytes: Buffer; cte: string; data: Buffer } | { skip: PartSkip };

/** Whether 7bit/8bit can carry the data as it is (RFC 2045 2.7, 2.8). */
function fitsAsIs(data: Buffer, cte: '7bit' | '8bit', eol: Eol): boolean {
  if (longestLine(data) > MAX_LINE_OCTETS || data.includes(0) || !hasOnlyLineBreaksOfStyle(data, eol)) return false;
  return cte === '8bit' || data.every((b) => b < 0x80);
}

/** Quoted-printable, the tail after it: the encoder writes both, with no concatenation after. */
function quotedPrintable(data: Buffer, encoding: PartEncoding): Buffer {
  return encodeQuotedPrintable(data, encoding.eol, encoding.charset.lineBreaksAreText, encoding.tail);
}

function withTail(bytes: Buffer, encoding: PartEncoding): Buffer {
  return Buffer.concat([bytes, encoding.tail]);
}

/** The part's new content bytes, the tail included, and `data`, what they must decode to without it. */
export function encodePart(text: string, encoding: PartEncoding): EncodeResult {
  const data = encoding.charset.encode(text);
  if (data === null) {
    return { skip: { code: 'unrepresentable', detail: `new text has characters that ${encoding.charset.name} cannot represent` } };
  }
  switch (encoding.cte) {
    case 'base64':
      return { bytes: withTail(encodeBase64(data, encoding.eol), encoding), cte: 'base64', data };
    case 'quoted-printable':
      return { bytes: quotedPrintable(data, encoding), cte: 'quoted-printable', data };
    case 'binary':
      return { bytes: withTail(data, encoding), cte: 'binary', data };
    case '7bit':
    case '8bit':
      if (fitsAsIs(data, encoding.cte, encoding.eol)) return { bytes: withTail(data, encoding), cte: encoding.cte, data };
      return { bytes: quotedPrintable(data, encoding), cte: 'quoted-printable', data };
    default:
      return { skip: { code: 'unsupported-transfer-encoding', detail: encoding.cte } };
  }
}
