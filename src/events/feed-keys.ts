/**
 * Key layout of the event feed's own LevelDB (a directory apart from the tracking store):
 *
 *   o!<seq>               -> feed entry   {"a": appended at (ms), "e": EventJson}
 *   n!                    -> <seq>        the highest sequence number ever assigned
 *   c!<sink>              -> <seq>        the last sequence number the sink has delivered
 *   d!<sink>!<seq>        -> dead letter  {"a", "e", "deadAt", "attempts", "reason"}
 *
 * <seq> is an unsigned 64-bit big-endian integer, so entries sort in append order. Sequence numbers are
 * contiguous from 1 and never reused: `n!` is written with every append because trimming may delete
 * every `o!` entry. Sink names cannot contain `!`, so `d!<sink>!` ranges of two sinks never overlap.
 */
const ENTRY = Buffer.from('o!');
const LAST_SEQ = Buffer.from('n!');
const CURSOR = Buffer.from('c!');
const DEAD = Buffer.from('d!');

export const SINK_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

export function encodeSeq(seq: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeBigUInt64BE(BigInt(seq));
  return out;
}

export function decodeSeq(bytes: Buffer, offset = 0): number {
  return Number(bytes.readBigUInt64BE(offset));
}

export const lastSeqKey = (): Buffer => LAST_SEQ;
export const entryKey = (seq: number): Buffer => Buffer.concat([ENTRY, encodeSeq(seq)]);
export const seqOfEntryKey = (key: Buffer): number => decodeSeq(key, ENTRY.length);
export const cursorKey = (sink: string): Buffer => Buffer.concat([CURSOR, Buffer.from(sink)]);
export const deadLetterKey = (sink: string, seq: number): Buffer => Buffer.concat([DEAD, Buffer.from(`${sink}!`), encodeSeq(seq)]);

/** Entries with after < seq <= through. */
export function entryRange(after: number, through = Number.MAX_SAFE_INTEGER): { gt: Buffer; lte: Buffer } {
  return { gt: entryKey(after), lte: entryKey(through) };
}

export function deadLetterRange(sink: string): { gte: Buffer; lt: Buffer } {
  const prefix = Buffer.concat([DEAD, Buffer.from(`${sink}!`)]);
  // '"' is the byte after '!': the end of the prefix range.
  return { gte: prefix, lt: Buffer.concat([DEAD, Buffer.from(`${sink}"`)]) };
}
