/**
 * RFC 2046 multipart splitting over the raw body Buffer, keeping byte offsets. Only the
 * boundary lines are interpreted; preamble, epilogue and part bytes are never copied.
 */
import type { ByteRange } from './types.js';

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;
const SPACE = 0x20;
const TAB = 0x09;

interface MultipartLayout {
  /** Each body part, from just after its delimiter line to just before the line break that precedes the next delimiter. */
  parts: ByteRange[];
  /** Bytes before the first delimiter. */
  preamble: ByteRange;
  /** Bytes after the close delimiter line (empty when there is none). */
  epilogue: ByteRange;
  /** False when the close delimiter is missing: the last part then runs to the end of the container. */
  closed: boolean;
}

interface Delimiter {
  /** Where the delimiter "owns" the bytes from: the line break before it, or its own start. */
  ownStart: number;
  /** First byte after the delimiter line (after its line break). */
  next: number;
  isClose: boolean;
}

/** Whether `pos` (where "--boundary" starts) begins a line within [start, ...). */
function atLineStart(buf: Buffer, pos: number, start: number): boolean {
  return pos === start || buf[pos - 1] === LF;
}

/**
 * Checks the rest of a candidate delimiter line: an optional "--", then only transport padding
 * (blanks) up to the line break. Anything else means a different, longer boundary.
 */
function readDelimiter(buf: Buffer, pos: number, markerEnd: number, start: number, end: number): Delimiter | null {
  let p = markerEnd;
  const isClose = p + 1 < end && buf[p] === DASH && buf[p + 1] === DASH;
  if (isClose) p += 2;
  while (p < end && (buf[p] === SPACE || buf[p] === TAB)) p++;
  if (p < end && buf[p] === CR && p + 1 < end && buf[p + 1] === LF) p += 2;
  else if (p < end && buf[p] === LF) p += 1;
  else if (p < end) return null;
  let ownStart = pos;
  if (pos > start && buf[pos - 1] === LF) ownStart = pos > start + 1 && buf[pos - 2] === CR ? pos - 2 : pos - 1;
  return { ownStart, next: p, isClose };
}

function findDelimiter(buf: Buffer, marker: Buffer, from: number, start: number, end: number): Delimiter | null {
  let pos = from;
  while (pos < end) {
    const hit = buf.indexOf(marker, pos);
    if (hit === -1 || hit + marker.length > end) return null;
    if (atLineStart(buf, hit, start)) {
      const delimiter = readDelimiter(buf, hit, hit + marker.length, start, end);
      if (delimiter) return delimiter;
    }
    pos = hit + 1;
  }
  return null;
}

/** Splits the multipart content [start, end) on `boundary`; null when no delimiter line exists. */
export function splitMultipart(buf: Buffer, start: number, end: number, boundary: string): MultipartLayout | null {
  const marker = Buffer.from(`--${boundary}`, 'latin1');
  const first = findDelimiter(buf, marker, start, start, end);
  if (!first) return null;
  const parts: ByteRange[] = [];
  const preamble = { start, end: first.ownStart };
  let current = first;
  while (!current.isClose) {
    const partStart = current.next;
    const following = findDelimiter(buf, marker, partStart, start, end);
    if (!following) {
      parts.push({ start: partStart, end });
      return { parts, preamble, epilogue: { start: end, end }, closed: false };
    }
    // An empty part: the delimiter's own line break is also the one "before" the next delimiter.
    parts.push({ start: partStart, end: Math.max(partStart, following.ownStart) });
    current = following;
  }
  return { parts, preamble, epilogue: { start: current.next, end }, closed: true };
}
