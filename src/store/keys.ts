/**
 * Key layout of the tracking store. Keys are bytes; LevelDB orders them bytewise.
 *
 *   v!                                 -> layout version ("3": with the y! aggregates)
 *   u!<id>                             -> URL row            {s,l,u,n,t}
 *   s!<sendId><id>                     -> (empty)            URL rows of a send
 *   m!<id>                             -> message record     {r,c,s,l,q,t}
 *   n!<sendId><time><id>               -> (empty)            messages of a send (report counts)
 *   b!<sendId><time><id>               -> event batch        the events of one send written in one batch
 *   e!<sendId><time><id>               -> event              {y,l,r,c,u,n,p,a,i,g,m,w}   (layout 1, read only)
 *   r!<sendId><time><id>               -> machineReason      a later verdict of the event with this time and id (layout 3)
 *   t!u!<time><id>                     -> (empty)            URL row retention index
 *   t!m!<time><sendId><id>             -> (empty)            message retention index
 *   t!b!<time><sendId><id>             -> (empty)            event batch retention index
 *   t!e!<time><sendId><id>             -> (empty)            event retention index (layout 1, read only)
 *   t!r!<time><sendId><id>             -> (empty)            verdict retention index
 *   y!...                              -> running aggregates per send (see send-aggregates.ts)
 *
 * <time> is milliseconds since the epoch as 6 bytes big-endian (sorts as a number, good to year 10889).
 * <sendId> is its UTF-8 bytes behind a 2-byte big-endian length, so no send's keys are a prefix range of
 * another's (`a1` and `a10` differ in the length bytes) and the parts after it can be found again.
 * <id> is the caller's opaque id, always last, so it needs no length. The `!` after the one-letter
 * namespaces is only for people reading a dump.
 *
 * Events are stored in batches: all events of one send that one group commit writes go into a single
 * `b!` record keyed by its first event's time and id, with one retention entry keyed the same way (a
 * sweep rewrites a record that holds events on both sides of its cutoff). A click then costs the
 * redirector a share of two puts instead of two puts of its own (bench:redirect). A record spans less
 * than EVENT_BATCH_SPAN_MS, so a query from time T starts its scan that much earlier, filters, and
 * merges records in time order. Layout 1 wrote one `e!` record per event; those are still read and
 * swept.
 *
 * Events are keyed by send then time so a report is one range scan in time order. Retention indexes are
 * keyed by time first so a sweep reads only what it removes. A URL row rewritten later gets a second
 * retention entry; the sweep drops the stale one when the row's own time is newer (see level-store.ts).
 */

/** Bytes of a time in keys and batch records: ms since the epoch, big-endian. */
export const TIME_BYTES = 6;
const MAX_TIME = 2 ** (8 * TIME_BYTES) - 1;
export const MAX_SEND_ID_BYTES = 0xffff;
export const MAX_ID_BYTES = 64;

export const VERSION_KEY = Buffer.from('v!');
/** The layout this code writes; it also reads (and upgrades in place) the versions before it. */
export const LAYOUT_VERSION = '3';
/**
 * 3 adds the y! aggregates: an older release would write events without folding them, so it must
 * refuse the directory; a version 1 or 2 store gets its sends folded once at open. It also adds the
 * r! verdicts (reclassified events), which it ignores as well.
 */
export const READABLE_LAYOUT_VERSIONS: readonly string[] = ['1', '2', '3'];

/** Events of one send further apart than this go into separate batch records. */
export const EVENT_BATCH_SPAN_MS = 1_000;

const URL_ROW = Buffer.from('u!');
const SEND_URL = Buffer.from('s!');
const MESSAGE = Buffer.from('m!');
const SEND_MESSAGE = Buffer.from('n!');
const EVENT_BATCH = Buffer.from('b!');
const EVENT = Buffer.from('e!');
const RETAIN_URL = Buffer.from('t!u!');
const RETAIN_MESSAGE = Buffer.from('t!m!');
const RETAIN_EVENT = Buffer.from('t!e!');
const RETAIN_EVENT_BATCH = Buffer.from('t!b!');
const VERDICT = Buffer.from('r!');
const RETAIN_VERDICT = Buffer.from('t!r!');

/** Byte prefixes of the namespaces a sweep walks, with their ranges (gte/lt). */
export const retentionRanges = {
  urlRows: (before: Date) => ({ gte: RETAIN_URL, lt: Buffer.concat([RETAIN_URL, encodeTime(before)]) }),
  messages: (before: Date) => ({ gte: RETAIN_MESSAGE, lt: Buffer.concat([RETAIN_MESSAGE, encodeTime(before)]) }),
  events: (before: Date) => ({ gte: RETAIN_EVENT, lt: Buffer.concat([RETAIN_EVENT, encodeTime(before)]) }),
  eventBatches: (before: Date) => ({ gte: RETAIN_EVENT_BATCH, lt: Buffer.concat([RETAIN_EVENT_BATCH, encodeTime(before)]) }),
  verdicts: (before: Date) => ({ gte: RETAIN_VERDICT, lt: Buffer.concat([RETAIN_VERDICT, encodeTime(before)]) }),
};

/**
 * A later verdict of one event (src/truth: a burst or honeypot hit seen after it), keyed like the event
 * so a send's verdicts are one range scan. The event's own record is never rewritten.
 */
export const verdictKey = (sendId: Buffer, time: Buffer, id: Uint8Array): Buffer => Buffer.concat([VERDICT, sendId, time, idBytes(id)]);
export const verdictRetentionKey = (verdict: Buffer): Buffer => swapSendAndTime(verdict, VERDICT, RETAIN_VERDICT);
export const verdictKeyFromRetentionKey = (key: Buffer): Buffer => swapTimeAndSend(key, RETAIN_VERDICT, VERDICT);

/** The verdicts of a send's events with since <= time < until. */
export function verdictRange(sendId: Buffer, since?: Date, until?: Date): { gte: Buffer; lt: Buffer } {
  const prefix = Buffer.concat([VERDICT, sendId]);
  return {
    gte: since ? Buffer.concat([prefix, encodeTime(since)]) : prefix,
    lt: until ? Buffer.concat([prefix, encodeTime(until)]) : prefixEnd(prefix),
  };
}

/** Time and id of a verdict key, as one string: what an event is matched to its verdict by. */
export function verdictMatchKey(key: Buffer): string {
  const timeAt = VERDICT.length + sendIdLength(key, VERDICT.length);
  return key.subarray(timeAt).toString('latin1');
}

export function encodeTime(time: Date): Buffer {
  return encodeTimeMs(time.getTime());
}

/** Throws RangeError unless `ms` is a time the keys can hold. */
export function checkTimeMs(ms: number): void {
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_TIME) throw new RangeError(`time out of range: ${String(ms)}`);
}

export function encodeTimeMs(ms: number): Buffer {
  checkTimeMs(ms);
  const out = Buffer.allocUnsafe(TIME_BYTES);
  out.writeUIntBE(ms, 0, TIME_BYTES);
  return out;
}

function decodeTime(bytes: Buffer, offset: number): Date {
  return new Date(bytes.readUIntBE(offset, TIME_BYTES));
}

/** Throws RangeError for a sendId too long for the keys (what encodeSendId checks, without encoding). */
export function checkSendId(sendId: string): void {
  if (Buffer.byteLength(sendId, 'utf8') > MAX_SEND_ID_BYTES) throw new RangeError(`sendId longer than ${MAX_SEND_ID_BYTES} bytes`);
}

export function encodeSendId(sendId: string): Buffer {
  const text = Buffer.from(sendId, 'utf8');
  if (text.length > MAX_SEND_ID_BYTES) throw new RangeError(`sendId longer than ${MAX_SEND_ID_BYTES} bytes`);
  const out = Buffer.allocUnsafe(2 + text.length);
  out.writeUInt16BE(text.length, 0);
  text.copy(out, 2);
  return out;
}

function sendIdLength(bytes: Buffer, offset: number): number {
  return 2 + bytes.readUInt16BE(offset);
}

export function idBytes(id: Uint8Array): Buffer {
  if (!(id instanceof Uint8Array) || id.length === 0 || id.length > MAX_ID_BYTES) {
    throw new RangeError(`record id must be 1 to ${MAX_ID_BYTES} bytes`);
  }
  return Buffer.isBuffer(id) ? id : Buffer.from(id.buffer, id.byteOffset, id.length);
}

export const urlRowKey = (id: Uint8Array): Buffer => Buffer.concat([URL_ROW, idBytes(id)]);
export const messageKey = (id: Uint8Array): Buffer => Buffer.concat([MESSAGE, idBytes(id)]);

export const sendUrlKey = (sendId: Buffer, id: Uint8Array): Buffer => Buffer.concat([SEND_URL, sendId, idBytes(id)]);
export const sendUrlRange = (sendId: Buffer) => prefixRange(Buffer.concat([SEND_URL, sendId]));
export const idFromSendUrlKey = (key: Buffer): Buffer => key.subarray(SEND_URL.length + sendIdLength(key, SEND_URL.length));

export const eventBatchKey = (sendId: Buffer, firstTime: Buffer, firstId: Uint8Array): Buffer =>
  Buffer.concat([EVENT_BATCH, sendId, firstTime, idBytes(firstId)]);

/** The batch records that may hold a send's events with since <= time < until (filter each event). */
export function eventBatchRange(sendId: Buffer, since?: Date, until?: Date): { gte: Buffer; lt: Buffer } {
  const prefix = Buffer.concat([EVENT_BATCH, sendId]);
  const from = since ? Math.max(0, since.getTime() - EVENT_BATCH_SPAN_MS) : undefined;
  return {
    gte: from !== undefined ? Buffer.concat([prefix, encodeTimeMs(from)]) : prefix,
    lt: until ? Buffer.concat([prefix, encodeTime(until)]) : prefixEnd(prefix),
  };
}

/** The time of a batch record's first event, from its key. */
export function firstTimeOfEventBatchKey(key: Buffer): number {
  return key.readUIntBE(EVENT_BATCH.length + sendIdLength(key, EVENT_BATCH.length), TIME_BYTES);
}

/** A batch record's retention entry, keyed by its first event's time: a sweep finds every record with an expired event. */
export const eventBatchRetentionKey = (batchKey: Buffer): Buffer => swapSendAndTime(batchKey, EVENT_BATCH, RETAIN_EVENT_BATCH);

export const eventBatchKeyFromRetentionKey = (key: Buffer): Buffer => swapTimeAndSend(key, RETAIN_EVENT_BATCH, EVENT_BATCH);

/** The send (with its length bytes) a `t!b!` entry's record belongs to. */
export function sendIdOfEventBatchRetentionKey(key: Buffer): Buffer {
  const sendIdAt = RETAIN_EVENT_BATCH.length + TIME_BYTES;
  return key.subarray(sendIdAt, sendIdAt + sendIdLength(key, sendIdAt));
}

/** <from><sendId><time><rest> -> <to><time><sendId><rest> */
function swapSendAndTime(key: Buffer, from: Buffer, to: Buffer): Buffer {
  const sendIdAt = from.length;
  const timeAt = sendIdAt + sendIdLength(key, sendIdAt);
  return Buffer.concat([to, key.subarray(timeAt, timeAt + TIME_BYTES), key.subarray(sendIdAt, timeAt), key.subarray(timeAt + TIME_BYTES)]);
}

/** <from><time><sendId><rest> -> <to><sendId><time><rest> */
function swapTimeAndSend(key: Buffer, from: Buffer, to: Buffer): Buffer {
  const timeAt = from.length;
  const sendIdAt = timeAt + TIME_BYTES;
  const restAt = sendIdAt + sendIdLength(key, sendIdAt);
  return Buffer.concat([to, key.subarray(sendIdAt, restAt), key.subarray(timeAt, sendIdAt), key.subarray(restAt)]);
}

/** Layout 1's per-event key: read, never written. */
export const eventKey = (sendId: Buffer, time: Buffer, id: Uint8Array): Buffer => Buffer.concat([EVENT, sendId, time, idBytes(id)]);

/** The range of a send's events with since <= time < until. */
export function eventRange(sendId: Buffer, since?: Date, until?: Date): { gte: Buffer; lt: Buffer } {
  const prefix = Buffer.concat([EVENT, sendId]);
  return {
    gte: since ? Buffer.concat([prefix, encodeTime(since)]) : prefix,
    lt: until ? Buffer.concat([prefix, encodeTime(until)]) : prefixEnd(prefix),
  };
}

export function parseEventKey(key: Buffer): { sendIdLength: number; time: Date; id: Buffer } {
  const sendIdAt = EVENT.length;
  const timeAt = sendIdAt + sendIdLength(key, sendIdAt);
  return { sendIdLength: timeAt - sendIdAt, time: decodeTime(key, timeAt), id: key.subarray(timeAt + TIME_BYTES) };
}

export const urlRetentionKey = (time: Buffer, id: Uint8Array): Buffer => Buffer.concat([RETAIN_URL, time, idBytes(id)]);
export const messageRetentionKey = (time: Buffer, sendId: Buffer, id: Uint8Array): Buffer => Buffer.concat([RETAIN_MESSAGE, time, sendId, idBytes(id)]);

export const sendMessageKey = (sendId: Buffer, time: Buffer, id: Uint8Array): Buffer => Buffer.concat([SEND_MESSAGE, sendId, time, idBytes(id)]);
export const sendMessageRange = (sendId: Buffer) => prefixRange(Buffer.concat([SEND_MESSAGE, sendId]));

/** The message id and the `n!` index key a `t!m!` entry points at. */
export function messageKeysFromRetentionKey(key: Buffer): { id: Buffer; sendMessageKey: Buffer } {
  const timeAt = RETAIN_MESSAGE.length;
  const sendIdAt = timeAt + TIME_BYTES;
  const idAt = sendIdAt + sendIdLength(key, sendIdAt);
  const id = key.subarray(idAt);
  return { id, sendMessageKey: Buffer.concat([SEND_MESSAGE, key.subarray(sendIdAt, idAt), key.subarray(timeAt, sendIdAt), id]) };
}
export const eventRetentionKey = (time: Buffer, sendId: Buffer, id: Uint8Array): Buffer => Buffer.concat([RETAIN_EVENT, time, sendId, idBytes(id)]);

/** Time and id of a `t!u!` entry. */
export function parseRetentionKey(key: Buffer): { time: Date; id: Buffer } {
  return { time: decodeTime(key, RETAIN_URL.length), id: key.subarray(RETAIN_URL.length + TIME_BYTES) };
}

/** The event key a `t!e!` entry points at. */
export function eventKeyFromRetentionKey(key: Buffer): Buffer {
  return swapTimeAndSend(key, RETAIN_EVENT, EVENT);
}

function prefixRange(prefix: Buffer): { gte: Buffer; lt: Buffer } {
  return { gte: prefix, lt: prefixEnd(prefix) };
}

/** The smallest key greater than every key that starts with `prefix`. */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] !== 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  throw new RangeError('prefix has no upper bound');
}
