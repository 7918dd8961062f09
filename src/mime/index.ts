/**
 * Entry point of the MIME layer: find the top text/html and text/plain parts, decode them, let
 * the caller transform their text, re-encode and splice the result into the original bytes.
 * Pure (no I/O) and never throws: whatever cannot be handled passes through with a reason.
 */
import { buildTree, MimeSkip, type Entity } from './entity.js';
import { fieldsFromHeaderList } from './headers.js';
import { locateTopParts, type Candidate } from './locate.js';
import { rewritePart, type PartOutcome } from './part.js';
import { applyEdits, type Edit } from './body-edits.js';
import type { BodyRewrite, HeaderField, MimeLimits, PartTransform, BodyRewriteOptions, PartSkip } from './types.js';

export type { BodyRewrite, ByteRange, HeaderField, MimeLimits, PartKind, PartReport } from './types.js';

function unchanged(skipped?: PartSkip, parts: BodyRewrite['parts'] = []): BodyRewrite {
  return skipped ? { body: null, headerChanges: [], parts, skipped } : { body: null, headerChanges: [], parts };
}

/** Reasons to leave the whole message alone, read from the root. */
function rootSkip(root: Entity): PartSkip | undefined {
  if (root.info.ambiguous) return { code: 'ambiguous-headers', detail: root.info.ambiguous };
  switch (root.notEntered) {
    case undefined:
      return undefined;
    case 'signed':
    case 'encrypted':
      return { code: root.notEntered, detail: `root is ${root.info.type}` };
    default:
      return { code: 'malformed-multipart', detail: `root ${root.info.type}: ${root.notEntered}` };
  }
}

function spliceOutcomes(body: Buffer, outcomes: PartOutcome[]): BodyRewrite {
  const edits: Edit[] = [];
  const contentEditIndex = new Map<PartOutcome, number>();
  for (const outcome of outcomes) {
    if (!outcome.contentEdit) continue;
    contentEditIndex.set(outcome, edits.length);
    edits.push(outcome.contentEdit, ...outcome.headerEdits);
  }
  const parts = outcomes.map((o) => o.report);
  if (edits.length === 0) return unchanged(undefined, parts);
  const spliced = applyEdits(body, edits);
  for (const [outcome, index] of contentEditIndex) {
    outcome.report.output = spliced.outputRanges[index]!;
    if (outcome.headerEdits.length === 0) continue;
    outcome.report.headerEdits = outcome.headerEdits.map((edit, i) => ({
      input: { start: edit.start, end: edit.end },
      output: spliced.outputRanges[index + 1 + i]!,
    }));
  }
  // A loop, not flatMap, which takes V8's generic path (see src/tracking/plan-rewrite.ts).
  const headerChanges: HeaderField[] = [];
  for (const outcome of outcomes) for (const change of outcome.rootHeaderChanges) headerChanges.push(change);
  return { body: spliced.body, headerChanges, parts };
}

function rewrite(headers: HeaderField[], body: Buffer, transform: PartTransform, limits: MimeLimits, options: BodyRewriteOptions): BodyRewrite {
  const root = buildTree(fieldsFromHeaderList(headers), body, limits);
  const skipped = rootSkip(root);
  if (skipped) return unchanged(skipped);
  const candidates: Candidate[] = locateTopParts(root);
  const outcomes = candidates.map((c) => rewritePart(c, body, transform, limits, options));
  return spliceOutcomes(body, outcomes);
}

/**
 * Rewrites the top text/html and text/plain parts of a message with `transform`.
 * `options` is for tests (see BodyRewriteOptions); production callers leave it out.
 */
export function rewriteBody(headers: HeaderField[], body: Buffer, transform: PartTransform, limits: MimeLimits, options: BodyRewriteOptions = {}): BodyRewrite {
  try {
    return rewrite(headers, body, transform, limits, options);
  } catch (err) {
    if (err instanceof MimeSkip) return unchanged(err.reason);
    // A bug here must never cost a message: report it and let the body through.
    return unchanged({ code: 'internal-error', detail: err instanceof Error ? err.message : String(err) });
  }
}
