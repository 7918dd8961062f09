/** Test helpers: split .eml files, and check the invariants of a BodyRewrite. */
import { expect } from 'vitest';
import { isWideUnicode, lookupCharset } from '../../src/mime/charset.js';
import { decodeTransfer } from '../../src/mime/transfer.js';
import type { BodyRewrite, ByteRange, HeaderField, MimeLimits, PartReport } from '../../src/mime/index.js';

export const LIMITS: MimeLimits = { maxDepth: 20, maxParts: 500, maxPartBytes: 10 * 1024 * 1024 };

/** Splits a raw message at the first blank line into MTA-style header fields and the body. */
export function splitMessage(raw: Buffer): { headers: HeaderField[]; body: Buffer } {
  const text = raw.toString('latin1');
  const match = /\r?\n\r?\n/.exec(text);
  const headerEnd = match ? match.index : text.length;
  const bodyStart = match ? match.index + match[0].length : text.length;
  const headers: HeaderField[] = [];
  for (const line of text.slice(0, headerEnd).split(/\r?\n/)) {
    const last = headers[headers.length - 1];
    if (/^[ \t]/.test(line) && last) last.value += `\r\n${line}`;
    else if (line.includes(':')) headers.push({ name: line.slice(0, line.indexOf(':')), value: line.slice(line.indexOf(':') + 1) });
  }
  return { headers, body: raw.subarray(bodyStart) };
}

/** Builds headers + body from a message written with "\n" line ends, converted to `eol`. */
export function message(text: string, eol: '\r\n' | '\n' = '\r\n'): { headers: HeaderField[]; body: Buffer } {
  return splitMessage(Buffer.from(text.replace(/\r?\n/g, eol), 'latin1'));
}

/** Decodes the rewritten content of a part from the output body. */
export function decodeOutputPart(out: Buffer, part: PartReport): string {
  const range = part.output!;
  let raw = out.subarray(range.start, range.end);
  // In UTF-16/32 a raw final line break is line structure, not text.
  if (isWideUnicode(part.charset)) raw = raw.subarray(0, raw.length - /(?:\r?\n)*$/.exec(raw.toString('latin1'))![0].length);
  const data = decodeTransfer(part.newCte ?? part.cte, raw);
  const charset = lookupCharset(part.charset, data)!;
  return charset.decode(data)!;
}

/** Every byte outside the reported edits (content and header lines) is unchanged. */
export function expectUntouchedOutsideEdits(input: Buffer, result: BodyRewrite): void {
  const out = result.body!;
  const edits: Array<{ input: ByteRange; output: ByteRange }> = [];
  for (const part of result.parts) {
    if (!part.output) continue;
    edits.push({ input: { start: part.start, end: part.end }, output: part.output });
    for (const h of part.headerEdits ?? []) {
      edits.push(h);
      expect(out.toString('latin1', h.output.start, h.output.end)).toMatch(/^(Content-Transfer-Encoding: )?quoted-printable(\r?\n)?$/);
    }
  }
  edits.sort((a, b) => a.input.start - b.input.start);
  let inPos = 0;
  let outPos = 0;
  for (const edit of edits) {
    expect(edit.input.start - inPos).toBe(edit.output.start - outPos);
    expect(out.subarray(outPos, edit.output.start).equals(input.subarray(inPos, edit.input.start))).toBe(true);
    inPos = edit.input.end;
    outPos = edit.output.end;
  }
  expect(out.subarray(outPos).equals(input.subarray(inPos))).toBe(true);
}

/** Length of the longest line of a buffer, without its line break. */
export function longestLineOf(data: Buffer): number {
  return Math.max(
    0,
    ...data
      .toString('latin1')
      .split('\n')
      .map((l) => l.replace(/\r$/, '').length),
  );
}
