/**
 * Rewrites one candidate part: decode (transfer encoding, charset), transform, re-encode, and
 * say which bytes to replace. Any reason not to touch the part ends up in its report.
 */
import { isWideUnicode, lookupCharset, type Charset } from './charset.js';
import { encodePart } from './encode-part.js';
import type { Entity } from './entity.js';
import { detectEol } from './eol.js';
import type { Candidate } from './locate.js';
import { transferEncodingEdits, type Edit } from './body-edits.js';
import { base64Ambiguity, decodeQuotedPrintable, decodeTransfer, SUPPORTED_ENCODINGS, type Eol } from './transfer.js';
import type { HeaderField, MimeLimits, PartReport, PartTransform, BodyRewriteOptions, PartSkip } from './types.js';

export interface PartOutcome {
  report: PartReport;
  /** Replacement of the part's content; absent when the part stays as it is. */
  contentEdit?: Edit;
  /** In-body header edits (non-root part whose transfer encoding changed). */
  headerEdits: Edit[];
  /** Root header changes (root part whose transfer encoding changed). */
  rootHeaderChanges: HeaderField[];
}

interface Decoded {
  charset: Charset;
  text: string;
}

/**
 * Raw bytes at the end of the content that are line structure, not data: the final line break(s) after
 * base64, and those of a UTF-16/32 part, which cannot be characters of it. Blanks just before them
 * (or ending a message cut short) are not kept: after our last base64 line they would make it a line
 * that is not base64, and a long run of them one over 998 octets.
 */
function contentTail(entity: Entity, raw: Buffer): Buffer {
  if (entity.info.cte === 'base64') return raw.subarray(trailingLineBreaksStart(raw));
  if (!isWideUnicode(entity.info.charset)) return raw.subarray(raw.length);
  let start = trailingLineBreaksStart(raw);
  // In quoted-printable, a line break after `=` ends a soft break: it encodes nothing and goes with
  // the `=`. Kept as the tail, it would follow our last line as a hard break, a CRLF of data.
  if (entity.info.cte === 'quoted-printable' && start < raw.length && raw[start - 1] === 0x3d) start += raw[start] === 0x0d ? 2 : 1;
  return raw.subarray(start);
}

/**
 * Start of the trailing run of CRLF or LF line breaks (a lone CR is not one). Walking back from the
 * end, not a `...*$` regex: that one retries from every position of a long run inside the part, which
 * a hostile message turns into seconds of blocked event loop.
 */
function trailingLineBreaksStart(raw: Buffer): number {
  let i = raw.length;
  while (i > 0 && raw[i - 1] === 0x0a) i -= i > 1 && raw[i - 2] === 0x0d ? 2 : 1;
  return i;
}

function initialReport(candidate: Candidate): PartReport {
  const { info, content, isRoot } = candidate.entity;
  return {
    kind: candidate.kind,
    contentType: info.type,
    charset: info.charset ?? 'us-ascii',
    cte: info.cte,
    start: content.start,
    end: content.end,
    isRoot,
    changed: false,
  };
}

function skipped(report: PartReport, reason: PartSkip): PartOutcome {
  return { report: { ...report, skipped: reason }, headerEdits: [], rootHeaderChanges: [] };
}

/** Checks that rule out a part before decoding it. */
function precheck(entity: Entity, limits: MimeLimits): PartSkip | undefined {
  const size = entity.content.end - entity.content.start;
  if (entity.headerBlock?.malformed) return { code: 'malformed-headers', detail: entity.headerBlock.malformed };
  // Without the blank line, new content could not be told apart from the part's headers.
  if (entity.headerBlock && !entity.headerBlock.hasSeparator) return { code: 'no-body-separator', detail: 'part has no blank line after its headers' };
  if (entity.info.ambiguous) return { code: 'ambiguous-headers', detail: entity.info.ambiguous };
  if (size > limits.maxPartBytes) return { code: 'part-too-large', detail: `${size} bytes > ${limits.maxPartBytes}` };
  if (!SUPPORTED_ENCODINGS.has(entity.info.cte)) return { code: 'unsupported-transfer-encoding', detail: entity.info.cte };
  return undefined;
}

// Decoded bytes are read and dropped before the next decoding: a part's, turned into its text at once,
// and the self-check's, compared at once. Parts up to DECODE_SCRATCH_LIMIT bytes decode into this one
// buffer (grown as they come) instead of a new one each, twice per part rewritten.
const DECODE_SCRATCH_LIMIT = 1 << 20;
let decodeScratch = Buffer.allocUnsafe(0);

/** decodeTransfer, its result good only until the next call: nothing may keep it. */
function decodeTransient(cte: string, bytes: Buffer): Buffer {
  if (cte !== 'quoted-printable' || bytes.length > DECODE_SCRATCH_LIMIT) return decodeTransfer(cte, bytes);
  if (decodeScratch.length < bytes.length) decodeScratch = Buffer.allocUnsafe(Math.min(Math.max(bytes.length, 2 * decodeScratch.length), DECODE_SCRATCH_LIMIT));
  return decodeQuotedPrintable(bytes, decodeScratch);
}

function decodePart(entity: Entity, raw: Buffer): Decoded | PartSkip {
  const encoded = raw.subarray(0, raw.length - contentTail(entity, raw).length);
  // Rewriting such a part would write our reading of it for every reader, changing what some saw outside the links.
  const ambiguity = entity.info.cte === 'base64' ? base64Ambiguity(encoded) : undefined;
  if (ambiguity) return { code: 'ambiguous-base64', detail: ambiguity };
  const data = decodeTransient(entity.info.cte, encoded);
  const charset = lookupCharset(entity.info.charset, data);
  if (!charset) return { code: 'unknown-charset', detail: entity.info.charset ?? '' };
  const text = charset.decode(data);
  if (text === null) return { code: 'charset-decode-error', detail: `bytes are not valid ${charset.name}` };
  // Writing back bytes that did not survive decoding (invalid sequences, ambiguous mappings) would alter the part.
  if (!(charset.reversible ? charset.reversible(data) : charset.encode(text)?.equals(data)))
    return { code: 'charset-not-reversible', detail: `${charset.name} bytes do not survive a decode/encode round trip` };
  return { charset, text };
}

function applyTransform(transform: PartTransform, candidate: Candidate, text: string): string | null | PartSkip {
  try {
    return transform(candidate.kind, text);
  } catch (err) {
    return { code: 'transform-error', detail: err instanceof Error ? err.message : String(err) };
  }
}

function isSkip(value: unknown): value is PartSkip {
  return typeof value === 'object' && value !== null && 'code' in value;
}

/**
 * Guards against an encoder bug ever reaching a recipient: the new bytes must decode to exactly the new
 * text. They are held to the new text's charset bytes (`data`), not decoded back into a second copy of
 * the text: a charset's encode gives bytes only when they decode to the text (Charset.encode), so
 * bytes that come back as `data` decode to the new text, and a byte compare costs no string.
 */
function decodesTo(bytes: Buffer, cte: string, data: Buffer): boolean {
  return decodeTransient(cte, bytes).equals(data);
}

/** Where the new transfer encoding has to be declared when it changes. */
function declareEncoding(entity: Entity, cte: string, eol: Eol): Pick<PartOutcome, 'headerEdits' | 'rootHeaderChanges'> | null {
  if (entity.isRoot) return { headerEdits: [], rootHeaderChanges: [{ name: 'Content-Transfer-Encoding', value: cte }] };
  const edits = transferEncodingEdits(entity.headerBlock!, cte, eol);
  return edits ? { headerEdits: edits, rootHeaderChanges: [] } : null;
}

/** Encodes the new text and works out how the part's declared encoding must follow. */
function reencode(entity: Entity, body: Buffer, raw: Buffer, decoded: Decoded, newText: string): (Omit<PartOutcome, 'report'> & { cte: string }) | PartSkip {
  const eol = detectEol(body, entity.content);
  const tail = contentTail(entity, raw);
  const encoded = encodePart(newText, { charset: decoded.charset, cte: entity.info.cte, eol, tail });
  if ('skip' in encoded) return encoded.skip;
  if (!decodesTo(encoded.bytes.subarray(0, encoded.bytes.length - tail.length), encoded.cte, encoded.data)) {
    return { code: 'self-check-failed', detail: `re-encoded ${encoded.cte} part does not decode to the new text` };
  }
  const declared = encoded.cte === entity.info.cte ? { headerEdits: [], rootHeaderChanges: [] } : declareEncoding(entity, encoded.cte, eol);
  if (!declared) return { code: 'cannot-declare-encoding', detail: `part has no header block to declare ${encoded.cte}` };
  return { contentEdit: { ...entity.content, bytes: encoded.bytes }, cte: encoded.cte, ...declared };
}

export function rewritePart(candidate: Candidate, body: Buffer, transform: PartTransform, limits: MimeLimits, options: BodyRewriteOptions): PartOutcome {
  const { entity } = candidate;
  const report = initialReport(candidate);
  const early = precheck(entity, limits);
  if (early) return skipped(report, early);
  const raw = body.subarray(entity.content.start, entity.content.end);
  const decoded = decodePart(entity, raw);
  if (isSkip(decoded)) return skipped(report, decoded);
  const newText = applyTransform(transform, candidate, decoded.text);
  if (isSkip(newText)) return skipped(report, newText);
  if (newText === null || (newText === decoded.text && !options.forceReencode)) return { report, headerEdits: [], rootHeaderChanges: [] };
  const result = reencode(entity, body, raw, decoded, newText);
  if (isSkip(result)) return skipped(report, result);
  const { cte, ...edits } = result;
  const cteChanged = cte !== entity.info.cte;
  const changed = cteChanged || !edits.contentEdit!.bytes.equals(raw);
  return { report: { ...report, changed, ...(cteChanged ? { newCte: cte } : {}) }, ...edits };
}
