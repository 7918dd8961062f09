/**
 * The MIME structure of a report, read leniently: every body part with its headers, type and
 * transfer-decoded content. Reports come from many generators, several of them broken, so nothing
 * here refuses input; whatever cannot be read becomes a part of type `invalid` or is left out.
 * `message/*` parts are leaves: a returned message's own structure never matters, only its headers.
 */
import { parseHeaderBlock, readContentInfo, type ContentInfo, type RawField } from '../mime/headers.js';
import { splitMultipart } from '../mime/multipart.js';
import { lookupCharset } from '../mime/charset.js';
import { decodeTransfer } from '../mime/transfer.js';

/** Bounds that keep a hostile or broken report from costing more than a normal one. */
const PART_LIMITS = { maxDepth: 12, maxParts: 300, maxTextBytes: 2 * 1024 * 1024 };

export interface ReportPart {
  /** Lower-cased type/subtype ('text/plain' when absent, 'invalid' when unreadable). */
  type: string;
  info: ContentInfo;
  fields: RawField[];
  /** The content with its transfer encoding removed. */
  content: Buffer;
  depth: number;
}

interface ReportTree {
  root: ReportPart;
  /** Every part in document order (the root first), not descending into message/* parts. */
  parts: ReportPart[];
}

const MBOX_FROM_LINE = /^From [^\r\n]*\r?\n/;

/** Reads a header block; a leading mbox "From " line (no colon) is not a header and is skipped. */
export function readHeaderBlock(buf: Buffer): { fields: RawField[]; bodyStart: number } {
  const head = buf.toString('latin1', 0, Math.min(buf.length, 1024));
  const skip = MBOX_FROM_LINE.exec(head)?.[0].length ?? 0;
  const block = parseHeaderBlock(buf, skip, buf.length);
  return { fields: block.fields, bodyStart: block.contentStart };
}

interface WalkState {
  parts: ReportPart[];
}

function readEntity(buf: Buffer, depth: number, defaultType: string, state: WalkState): void {
  if (state.parts.length >= PART_LIMITS.maxParts) return;
  const { fields, bodyStart } = readHeaderBlock(buf);
  const info = readContentInfo(fields, defaultType);
  const raw = buf.subarray(bodyStart);
  const part: ReportPart = { type: info.type, info, fields, content: decodeTransfer(info.cte, raw), depth };
  state.parts.push(part);
  if (!info.type.startsWith('multipart/') || !info.boundary || depth >= PART_LIMITS.maxDepth) return;
  // Multipart content is never transfer-encoded (RFC 2045 6.4); splitting the raw bytes is right.
  const layout = splitMultipart(raw, 0, raw.length, info.boundary);
  if (!layout) return;
  const childType = info.type === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
  for (const range of layout.parts) readEntity(raw.subarray(range.start, range.end), depth + 1, childType, state);
}

export function readReportTree(raw: Buffer): ReportTree {
  const state: WalkState = { parts: [] };
  readEntity(raw, 0, 'text/plain', state);
  return { root: state.parts[0]!, parts: state.parts };
}

/** A part's text in its declared charset; unknown charsets read as Latin-1 (ASCII survives either way). */
export function partText(part: ReportPart): string {
  const bytes = part.content.length > PART_LIMITS.maxTextBytes ? part.content.subarray(0, PART_LIMITS.maxTextBytes) : part.content;
  const charset = lookupCharset(part.info.charset ?? (part.type.startsWith('message/global') ? 'utf-8' : undefined), bytes);
  return charset?.decode(bytes) ?? bytes.toString('latin1');
}

/** Values of a header field, unfolded, in order. */
export function fieldValues(fields: RawField[], name: string): string[] {
  return fields.filter((f) => f.name === name).map((f) => f.value.replace(/\r?\n(?=[ \t])/g, '').trim());
}

const BLOCK_END = /<\s*(?:br|\/p|\/div|\/tr|\/li|\/h[1-6]|\/table)\b[^>]*>/gi;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * Just enough HTML-to-text for finding quoted header lines in an HTML-only notice: block ends
 * become line breaks, tags go, common entities are decoded. Not a renderer.
 */
export function htmlToText(html: string): string {
  return html
    .replace(/\r?\n/g, ' ')
    .replace(BLOCK_END, '\n')
    .replace(/<[^<>]*>/g, '')
    .replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6});/gi, (whole, name: string) => {
      if (name[0] !== '#') return ENTITIES[name.toLowerCase()] ?? whole;
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    });
}
