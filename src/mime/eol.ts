/** Line-ending style and line-length checks over raw bytes. */
import type { Eol } from './transfer.js';
import type { ByteRange } from './types.js';

const LF = 0x0a;
const CR = 0x0d;

/** SMTP's limit on a line, without its CRLF (RFC 5321 4.5.3.1.6). */
export const MAX_LINE_OCTETS = 998;

function eolAt(buf: Buffer, lf: number, floor: number): Eol {
  return lf > floor && buf[lf - 1] === CR ? '\r\n' : '\n';
}

/**
 * The line-ending style of a part: its content's first line break, else the break that ends its
 * header block, else the body's first, else CRLF.
 */
export function detectEol(body: Buffer, content: ByteRange): Eol {
  const lf = body.indexOf(LF, content.start);
  if (lf !== -1 && lf < content.end) return eolAt(body, lf, content.start);
  if (content.start > 0 && body[content.start - 1] === LF) return eolAt(body, content.start - 1, 0);
  const first = body.indexOf(LF);
  return first === -1 ? '\r\n' : eolAt(body, first, 0);
}

/** The longest line in bytes, not counting CR LF or LF. */
export function longestLine(data: Buffer): number {
  let longest = 0;
  let pos = 0;
  while (pos <= data.length) {
    const lf = data.indexOf(LF, pos);
    const end = lf === -1 ? data.length : lf;
    const textEnd = end > pos && data[end - 1] === CR && lf !== -1 ? end - 1 : end;
    longest = Math.max(longest, textEnd - pos);
    if (lf === -1) break;
    pos = lf + 1;
  }
  return longest;
}

/** True when every line break is the part's own style: no bare CR anywhere, and no bare LF in a CRLF part. */
export function hasOnlyLineBreaksOfStyle(data: Buffer, eol: Eol): boolean {
  for (let cr = data.indexOf(CR); cr !== -1; cr = data.indexOf(CR, cr + 1)) {
    if (data[cr + 1] !== LF) return false;
  }
  if (eol === '\n') return true;
  for (let lf = data.indexOf(LF); lf !== -1; lf = data.indexOf(LF, lf + 1)) {
    if (lf === 0 || data[lf - 1] !== CR) return false;
  }
  return true;
}
