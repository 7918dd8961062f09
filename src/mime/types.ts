/** Shared types of the MIME module; index.ts re-exports the public ones. */
import type { HeaderField } from '../util/header-field.js';

export type { HeaderField };

export type PartKind = 'html' | 'text';

/** Given the decoded text of a part, return the new text, or null to leave the part untouched. */
export type PartTransform = (kind: PartKind, text: string) => string | null;

export interface MimeLimits {
  maxDepth: number;
  maxParts: number;
  maxPartBytes: number;
}

export interface PartSkip {
  code: string;
  detail: string;
}

/** A byte range [start, end) of the body Buffer. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PartReport {
  kind: PartKind;
  /** Lower-cased type/subtype as declared (or the RFC 2045 default). */
  contentType: string;
  /** Charset as declared, lower-cased ('us-ascii' when absent). */
  charset: string;
  /** Transfer encoding as declared, normalised ('7bit' when absent). */
  cte: string;
  /** The part's content (after its header block) in the input body. */
  start: number;
  end: number;
  /** True for the message's root part (its headers came from the MTA, not the body). */
  isRoot: boolean;
  changed: boolean;
  /** Transfer encoding of the rewritten part, when it differs from `cte`. */
  newCte?: string;
  /** Where the rewritten content sits in the output body (only when changed). */
  output?: ByteRange;
  /** In-body header edits that declare newCte (non-root parts): input range and output range. */
  headerEdits?: Array<{ input: ByteRange; output: ByteRange }>;
  skipped?: PartSkip;
}

export interface BodyRewrite {
  /** null: nothing changed, pass the body through untouched. */
  body: Buffer | null;
  /** Changes to the ROOT headers (the caller applies them with CHGHEADER; index 1 adds a missing header). */
  headerChanges: HeaderField[];
  parts: PartReport[];
  /** Whole-message skip; the message then passes unchanged. */
  skipped?: PartSkip;
}

export interface BodyRewriteOptions {
  /**
   * Re-encode and splice a part even when the transform returns the same text. Used by tests to
   * prove that the splice path is byte-exact for canonically encoded parts.
   */
  forceReencode?: boolean;
}
