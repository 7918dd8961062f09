/**
 * Lenient parsing of the MIME headers that decide how a part is handled: Content-Type,
 * Content-Transfer-Encoding and Content-Disposition. Part headers are read straight from the body
 * Buffer with byte offsets, so that a single header line can later be replaced in place.
 */
import libmime from 'libmime';
import type { HeaderField } from './types.js';

const LF = 0x0a;
const CR = 0x0d;

/** One header field; offsets are only known for fields read from the body. */
export interface RawField {
  /** Lower-cased field name. */
  name: string;
  /** Raw value after the colon, folding kept. */
  value: string;
  /** Byte offset just after the colon. */
  valueStart?: number;
  /** Byte offset of the end of the field's last line (before its line break). */
  end?: number;
}

export interface HeaderBlock {
  fields: RawField[];
  /** Where the part's content starts (after the blank line). */
  contentStart: number;
  /** Offset of the blank line that ends the block: where a new header line can be inserted. */
  insertAt: number;
  /** False when the part had no blank line, so no header can be inserted. */
  hasSeparator: boolean;
  /** Set when a line in the header block is not a header: the part is not safe to rewrite. */
  malformed?: string;
}

/** Field line: a name of printable characters other than colon, optional blanks, then a colon. */
const FIELD_LINE = /^([!-9;-~]+)[ \t]*:/;

interface Line {
  start: number;
  textEnd: number;
  next: number;
}

function readLine(buf: Buffer, start: number, limit: number): Line {
  const lf = buf.indexOf(LF, start);
  if (lf === -1 || lf >= limit) return { start, textEnd: limit, next: limit };
  const textEnd = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
  return { start, textEnd, next: lf + 1 };
}

/** Reads the header block of a body part that occupies [start, end) of the body. */
export function parseHeaderBlock(buf: Buffer, start: number, end: number): HeaderBlock {
  const fields: RawField[] = [];
  let pos = start;
  while (pos < end) {
    const line = readLine(buf, pos, end);
    if (line.textEnd === line.start) {
      return { fields, contentStart: line.next, insertAt: line.start, hasSeparator: true };
    }
    const text = buf.toString('latin1', line.start, line.textEnd);
    const first = text.charCodeAt(0);
    const isContinuation = first === 0x20 || first === 0x09;
    const match = FIELD_LINE.exec(text);
    if (isContinuation && fields.length > 0) {
      const field = fields[fields.length - 1]!;
      field.value += buf.toString('latin1', field.end, line.textEnd);
      field.end = line.textEnd;
    } else if (match) {
      fields.push({
        name: match[1]!.toLowerCase(),
        value: text.slice(match[0].length),
        valueStart: line.start + match[0].length,
        end: line.textEnd,
      });
    } else if (fields.length === 0) {
      // RFC 2046 allows a part without headers only with a blank first line; treat a part that
      // starts straight with content as headerless rather than guessing where headers end.
      return { fields, contentStart: start, insertAt: start, hasSeparator: false };
    } else {
      return {
        fields,
        contentStart: line.start,
        insertAt: line.start,
        hasSeparator: false,
        malformed: `not a header line: ${JSON.stringify(text.slice(0, 40))}`,
      };
    }
    pos = line.next;
  }
  return { fields, contentStart: end, insertAt: end, hasSeparator: false };
}

/** Root headers as the MTA sent them (no byte offsets: they are not in the body). */
export function fieldsFromHeaderList(headers: HeaderField[]): RawField[] {
  return headers.map((h) => ({ name: h.name.trim().toLowerCase(), value: h.value }));
}

function unfold(value: string): string {
  return value.replace(/\r?\n(?=[ \t])/g, '').trim();
}

/** Values of every field with this name, unfolded. */
function valuesOf(fields: RawField[], name: string): string[] {
  return fields.filter((f) => f.name === name).map((f) => unfold(f.value));
}

export interface ContentInfo {
  /** Lower-cased type/subtype; 'invalid' when the field could not be read. */
  type: string;
  params: Record<string, string>;
  charset?: string;
  boundary?: string;
  /** Normalised transfer encoding ('7bit' when absent or empty). */
  cte: string;
  isAttachment: boolean;
  /** Set when duplicate fields disagree: nobody can say which one a reader honours. */
  ambiguous?: string;
}

const TYPE_TOKEN = /^([!#$%&'*+.^_`|~0-9a-z-]+)\/([!#$%&'*+.^_`|~0-9a-z-]+)/i;

function parseParams(value: string): Record<string, string> {
  const parsed = libmime.parseHeaderValue(value);
  const params: Record<string, string> = {};
  for (const [key, v] of Object.entries(parsed.params)) {
    if (typeof v === 'string') params[key.toLowerCase()] = v;
  }
  return params;
}

/** Transfer encodings written in odd but unambiguous ways by real mailers. */
const CTE_ALIASES: Record<string, string> = { '8bits': '8bit', '7bits': '7bit', quoted_printable: 'quoted-printable' };

function normaliseTransferEncoding(value: string | undefined): string {
  const token = (value ?? '').trim().toLowerCase().split(/[\s;]/)[0] ?? '';
  if (token === '') return '7bit';
  return CTE_ALIASES[token] ?? token;
}

function distinct(values: string[], normalise: (v: string) => string): boolean {
  return new Set(values.map(normalise)).size > 1;
}

function hasFilename(params: Record<string, string>, prefix: string): boolean {
  return Object.keys(params).some((k) => k === prefix || k.startsWith(`${prefix}*`));
}

/**
 * Reads the fields that matter for rewriting. `defaultType` is the RFC 2045/2046 default for an
 * entity without Content-Type (text/plain, or message/rfc822 inside multipart/digest).
 */
export function readContentInfo(fields: RawField[], defaultType: string): ContentInfo {
  const types = valuesOf(fields, 'content-type');
  const ctes = valuesOf(fields, 'content-transfer-encoding');
  const dispositions = valuesOf(fields, 'content-disposition');
  const typeValue = types[0];
  let type = defaultType;
  let params: Record<string, string> = {};
  if (typeValue !== undefined) {
    const match = TYPE_TOKEN.exec(typeValue);
    // A syntactically broken Content-Type is not guessed at: the part is left alone.
    type = match ? `${match[1]}/${match[2]}`.toLowerCase() : 'invalid';
    params = parseParams(typeValue);
  }
  const dispositionParams = dispositions[0] === undefined ? {} : parseParams(dispositions[0]);
  const dispositionType = (dispositions[0] ?? '').split(';')[0]!.trim().toLowerCase();
  const info: ContentInfo = {
    type,
    params,
    cte: normaliseTransferEncoding(ctes[0]),
    isAttachment: dispositionType === 'attachment' || hasFilename(dispositionParams, 'filename') || hasFilename(params, 'name'),
  };
  if (params.charset !== undefined) info.charset = params.charset.trim().toLowerCase();
  if (params.boundary !== undefined) info.boundary = params.boundary;
  const ambiguous = ambiguity(types, ctes);
  if (ambiguous) info.ambiguous = ambiguous;
  return info;
}

function ambiguity(types: string[], ctes: string[]): string | undefined {
  if (distinct(types, (v) => v.toLowerCase().replace(/\s+/g, ''))) return `conflicting Content-Type fields: ${types.join(' | ')}`;
  if (distinct(ctes, normaliseTransferEncoding)) return `conflicting Content-Transfer-Encoding fields: ${ctes.join(' | ')}`;
  return undefined;
}
