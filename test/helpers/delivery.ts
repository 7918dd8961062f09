/**
 * Compares what smtp-sink received with what a test sent, message by message, and lists every
 * difference in words (an empty list means every message arrived once, marked as expected, intact).
 */
import { normalizeLineEndings, splitMessage, type DeliveredMessage } from './postfix-lab.js';
import type { OutgoingMessage } from './smtp.js';

/** A header field the milter adds to every message it handles: exactly once, with this value. */
export interface AddedHeader {
  name: string;
  /** The exact value, or a pattern the (unfolded) value must match. */
  value: string | RegExp;
}

/**
 * What the milter must have done to each message's header: `added` (each field exactly once, no
 * other change), or `{ absentOf }` (none of these fields: the message went through untouched).
 */
export type HeaderExpectation = { added: AddedHeader[] } | { absentOf: AddedHeader[] };

/**
 * Undoes link tracking for comparison: replaces, in order, each `ORIGIN/c/TOKEN` (compact style;
 * the query string stays in the rewritten link) with the part before `?` of the matching original
 * link. A tracked link that was not rewritten, or one too many, leaves a difference behind.
 */
export function restoreTrackedLinks(body: Buffer, originals: string[], origin: string): Buffer {
  // The token runs up to the query string or the end of the link (its alphabet is the daemon's business).
  const pattern = new RegExp(`${origin.replace(/[.]/g, '\\.')}/c/[^?\\s"'<>]+`, 'g');
  let k = 0;
  const restored = body.toString('latin1').replace(pattern, (tracked) => {
    const original = originals[k++];
    return original === undefined ? tracked : original.split('?')[0]!;
  });
  return Buffer.from(restored, 'latin1');
}

/** Index of the first differing byte, or -1 when equal. */
export function firstDifference(a: Buffer, b: Buffer): number {
  const length = Math.min(a.length, b.length);
  // compare in 64 KB slices: fast, and precise where it matters
  for (let start = 0; start < length; start += 65536) {
    const end = Math.min(length, start + 65536);
    if (a.subarray(start, end).equals(b.subarray(start, end))) continue;
    for (let i = start; i < end; i++) if (a[i] !== b[i]) return i;
  }
  return a.length === b.length ? -1 : length;
}

function describeBodyDifference(expected: Buffer, actual: Buffer): string | undefined {
  const at = firstDifference(expected, actual);
  if (at < 0) return undefined;
  const show = (buffer: Buffer) => JSON.stringify(buffer.subarray(Math.max(0, at - 20), at + 20).toString('latin1'));
  return `body differs at byte ${at} (sent ${expected.length} bytes, delivered ${actual.length}): sent ${show(expected)}, delivered ${show(actual)}`;
}

/** The value of X-Test-Id, the key the e2e messages carry. */
export function testIdOf(message: DeliveredMessage): string | undefined {
  return message.header('X-Test-Id')[0]?.trim();
}

export function testIdOfOutgoing(message: OutgoingMessage): string {
  const { headerBlock } = splitMessage(normalizeLineEndings(message.data));
  const match = /^X-Test-Id: *(.*)$/im.exec(headerBlock);
  if (!match) throw new Error('outgoing test message without X-Test-Id');
  return match[1]!.trim();
}

/**
 * Lists every way the delivered messages fall short of the sent ones: missing, duplicated or
 * unexpected messages, a missing or wrong added header (or one present where `absentOf` says there
 * must be none), any other header change, a changed body or envelope.
 */
export function findDeliveryProblems(
  sent: OutgoingMessage[],
  delivered: DeliveredMessage[],
  expectation: HeaderExpectation,
  options: { restoreBody?: (id: string, body: Buffer) => Buffer } = {},
): string[] {
  const problems: string[] = [];
  const byId = new Map<string, DeliveredMessage[]>();
  for (const message of delivered) {
    const id = testIdOf(message);
    if (id === undefined) {
      problems.push(`${message.file}: delivered message without X-Test-Id`);
      continue;
    }
    byId.set(id, [...(byId.get(id) ?? []), message]);
  }
  const sentIds = new Set<string>();
  for (const message of sent) {
    const id = testIdOfOutgoing(message);
    sentIds.add(id);
    const copies = byId.get(id) ?? [];
    if (copies.length === 0) {
      problems.push(`${id}: never delivered`);
      continue;
    }
    if (copies.length > 1) problems.push(`${id}: delivered ${copies.length} times`);
    const copy = copies[0]!;
    const expected = splitMessage(normalizeLineEndings(message.data));
    const fields = 'added' in expectation ? expectation.added : expectation.absentOf;
    for (const field of fields) {
      const values = copy.header(field.name);
      if ('absentOf' in expectation) {
        if (values.length > 0) problems.push(`${id}: ${field.name} is ${JSON.stringify(values)}, expected none`);
      } else if (values.length !== 1 || !(typeof field.value === 'string' ? values[0] === field.value : field.value.test(values[0]!))) {
        problems.push(
          `${id}: ${field.name} is ${JSON.stringify(values)}, expected exactly one ${field.value instanceof RegExp ? `matching ${field.value}` : JSON.stringify(field.value)}`,
        );
      }
    }
    const headerProblem = describeHeaderDifference(
      expected.headerBlock,
      copy.headerBlock,
      fields.map((field) => field.name),
    );
    const deliveredBody = options.restoreBody ? options.restoreBody(id, copy.body) : copy.body;
    const bodyProblem = describeBodyDifference(expected.body, deliveredBody);
    if (bodyProblem) problems.push(`${id}: ${bodyProblem}`);
    if (headerProblem) problems.push(`${id}: ${headerProblem}`);
    const wantRcpts = [...message.envelope.to].sort().join(',');
    const gotRcpts = [...copy.rcptTo].sort().join(',');
    if (wantRcpts !== gotRcpts) problems.push(`${id}: envelope recipients ${gotRcpts}, sent ${wantRcpts}`);
    if (copy.mailFrom !== message.envelope.from) problems.push(`${id}: envelope sender ${copy.mailFrom}, sent ${message.envelope.from}`);
  }
  for (const id of byId.keys()) if (!sentIds.has(id)) problems.push(`${id}: delivered but not sent in this round`);
  return problems;
}

/** Header fields (folded lines kept) of a header block with LF line ends. */
function headerFields(headerBlock: string): string[] {
  return headerBlock.length === 0 ? [] : headerBlock.split(/\n(?![ \t])/);
}

/**
 * The sent header fields must arrive unchanged and in order. Postfix prepends its Received field;
 * the milter adds the fields named in `addedNames`; nothing else may differ.
 */
function describeHeaderDifference(sentBlock: string, deliveredBlock: string, addedNames: string[]): string | undefined {
  const sent = headerFields(sentBlock);
  const delivered = headerFields(deliveredBlock);
  if (/^Received: [^\n]*\n?[^]*\(Postfix/.test(delivered[0] ?? '')) delivered.shift();
  const addedPrefixes = addedNames.map((name) => `${name.toLowerCase()}:`);
  const rest = delivered.filter((field) => !addedPrefixes.some((prefix) => field.toLowerCase().startsWith(prefix)));
  for (let i = 0; i < Math.max(sent.length, rest.length); i++) {
    if (sent[i] !== rest[i]) {
      return `header field ${i + 1} differs: sent ${JSON.stringify(sent[i]?.slice(0, 200))}, delivered ${JSON.stringify(rest[i]?.slice(0, 200))}`;
    }
  }
  return undefined;
}

/** Postfix's queue id of a delivered message, from the Received header Postfix added. */
export function postfixQueueIdOf(message: DeliveredMessage): string | undefined {
  for (const received of message.header('Received')) {
    // SMTP: "by host (Postfix) with ESMTP id QUEUEID"; sendmail(1): "by host (Postfix, from userid 0) id QUEUEID"
    const match = /\(Postfix[^)]*\)(?: with E?SMTPS?A?)? id ([0-9A-Za-z]+)/.exec(received);
    if (match) return match[1];
  }
  return undefined;
}
