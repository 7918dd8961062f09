/**
 * Builds the new body from the original and a list of byte-range replacements; every byte
 * outside the replaced ranges is copied unchanged.
 */
import type { HeaderBlock } from './headers.js';
import type { Eol } from './transfer.js';
import type { ByteRange } from './types.js';

export interface Edit extends ByteRange {
  bytes: Buffer;
}

interface Spliced {
  body: Buffer;
  outputRanges: ByteRange[];
}

/** Applies non-overlapping edits; outputRanges[i] is where edits[i]'s bytes landed. */
export function applyEdits(body: Buffer, edits: Edit[]): Spliced {
  const order = edits.map((_, i) => i).sort((a, b) => edits[a]!.start - edits[b]!.start || edits[a]!.end - edits[b]!.end);
  const pieces: Buffer[] = [];
  const outputRanges: ByteRange[] = new Array<ByteRange>(edits.length);
  let copiedTo = 0;
  let outLength = 0;
  for (const index of order) {
    const edit = edits[index]!;
    if (edit.start < copiedTo) throw new Error(`overlapping edits at ${edit.start}`);
    pieces.push(body.subarray(copiedTo, edit.start), edit.bytes);
    outLength += edit.start - copiedTo;
    outputRanges[index] = { start: outLength, end: outLength + edit.bytes.length };
    outLength += edit.bytes.length;
    copiedTo = edit.end;
  }
  pieces.push(body.subarray(copiedTo));
  return { body: Buffer.concat(pieces), outputRanges };
}

const CTE_NAME = 'Content-Transfer-Encoding';

/**
 * Edits that set a body part's transfer encoding: the value of each existing
 * Content-Transfer-Encoding line is replaced (its name and the blanks after the colon stay), or a
 * line is inserted at the end of the header block. Null when the part has no header block.
 */
export function transferEncodingEdits(block: HeaderBlock, cte: string, eol: Eol): Edit[] | null {
  const fields = block.fields.filter((f) => f.name === 'content-transfer-encoding');
  if (fields.length === 0) {
    if (!block.hasSeparator) return null;
    return [{ start: block.insertAt, end: block.insertAt, bytes: Buffer.from(`${CTE_NAME}: ${cte}${eol}`, 'latin1') }];
  }
  return fields.map((field) => {
    const leadingBlanks = /^[ \t]*/.exec(field.value)![0].length;
    const start = field.valueStart! + leadingBlanks;
    return { start, end: field.end!, bytes: Buffer.from(cte, 'latin1') };
  });
}
