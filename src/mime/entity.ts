/**
 * Builds the MIME entity tree of a message: the root (headers from the MTA, content = the whole
 * body) and, below each multipart container it may enter, the body parts with their byte ranges.
 * Containers whose content must stay untouched (signed, encrypted, message/*) are never split.
 */
import { parseHeaderBlock, readContentInfo, type ContentInfo, type HeaderBlock, type RawField } from './headers.js';
import { splitMultipart } from './multipart.js';
import type { ByteRange, MimeLimits, PartSkip } from './types.js';

export interface Entity {
  info: ContentInfo;
  isRoot: boolean;
  depth: number;
  /** The part's own header block in the body; absent for the root. */
  headerBlock?: HeaderBlock;
  content: ByteRange;
  children: Entity[];
  /** Why a multipart container was not split (its content is then opaque). */
  notEntered?: string;
}

/** Raised inside the tree walk when a limit is exceeded; rewriteBody turns it into a skip. */
export class MimeSkip extends Error {
  constructor(readonly reason: PartSkip) {
    super(reason.detail);
  }
}

/** Containers whose content is protected by a signature or is ciphertext. */
const PROTECTED: Record<string, string> = { 'multipart/signed': 'signed', 'multipart/encrypted': 'encrypted' };

interface WalkState {
  body: Buffer;
  limits: MimeLimits;
  partCount: number;
}

function childDefaultType(parentType: string): string {
  return parentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
}

function whyNotEntered(info: ContentInfo): string | undefined {
  const protectedKind = PROTECTED[info.type];
  if (protectedKind) return protectedKind;
  if (info.ambiguous) return 'ambiguous-headers';
  if (info.boundary === undefined || info.boundary === '') return 'no-boundary';
  return undefined;
}

function splitChildren(entity: Entity, state: WalkState): void {
  const reason = whyNotEntered(entity.info);
  if (reason) {
    entity.notEntered = reason;
    return;
  }
  const layout = splitMultipart(state.body, entity.content.start, entity.content.end, entity.info.boundary!);
  if (!layout) {
    entity.notEntered = 'no-delimiter';
    return;
  }
  for (const range of layout.parts) {
    entity.children.push(readPart(range, entity, state));
  }
}

function readPart(range: ByteRange, parent: Entity, state: WalkState): Entity {
  state.partCount++;
  if (state.partCount > state.limits.maxParts) {
    throw new MimeSkip({ code: 'part-limit', detail: `more than ${state.limits.maxParts} MIME parts` });
  }
  const depth = parent.depth + 1;
  if (depth > state.limits.maxDepth) {
    throw new MimeSkip({ code: 'depth-limit', detail: `MIME nesting deeper than ${state.limits.maxDepth}` });
  }
  const headerBlock = parseHeaderBlock(state.body, range.start, range.end);
  const info = readContentInfo(headerBlock.fields, childDefaultType(parent.info.type));
  const entity: Entity = { info, isRoot: false, depth, headerBlock, content: { start: headerBlock.contentStart, end: range.end }, children: [] };
  if (info.type.startsWith('multipart/') && !headerBlock.malformed) splitChildren(entity, state);
  return entity;
}

/** The root entity and everything below it; throws MimeSkip when a limit is exceeded. */
export function buildTree(rootFields: RawField[], body: Buffer, limits: MimeLimits): Entity {
  const state: WalkState = { body, limits, partCount: 0 };
  const info = readContentInfo(rootFields, 'text/plain');
  const root: Entity = { info, isRoot: true, depth: 0, content: { start: 0, end: body.length }, children: [] };
  if (info.type.startsWith('multipart/')) splitChildren(root, state);
  return root;
}
