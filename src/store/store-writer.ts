/**
 * The store's writer: what recordMessage and recordEvents become (checked and encoded on the caller's
 * turn, so a bad record fails only its own call), and the one LevelDB batch each group of them is
 * written as. URL rows a send already wrote recently are skipped (./recent-rows.ts); events of one send
 * are packed into batch records (./keys.ts, layout 2).
 */
import type { LevelDatabase, LevelDel, LevelOperation, LevelPut } from '../level/database.js';
import {
  checkSendId,
  checkTimeMs,
  encodeSendId,
  encodeTime,
  encodeTimeMs,
  EVENT_BATCH_SPAN_MS,
  eventBatchKey,
  eventBatchRetentionKey,
  idBytes,
  messageKey,
  messageRetentionKey,
  sendMessageKey,
  sendUrlKey,
  urlRetentionKey,
  urlRowKey,
  verdictKey,
  verdictRetentionKey,
} from './keys.js';
import { byTimeThenId } from './event-heap.js';
import type { RecentRows } from './recent-rows.js';
import type { MessageRecord, TrackEvent, UrlRow } from './types.js';
import { encodeSuppression, normalizeAddress, suppressingSource, suppressionKey, type SuppressionChange } from './suppressions.js';
import { encodeEvent, encodeEventBatch, encodeMessage, encodeUrlRow, type EncodedEvent } from './values.js';

/**
 * A URL row checked at submit time (so a bad one fails only its own call) and encoded only if its group
 * decides to write it: in the steady state of a send every row is known and encoding would be waste.
 */
interface PendingRow {
  id: Buffer;
  sendId: Buffer;
  row: UrlRow;
  time: Date;
  timeKey: Buffer;
}

/** A swept URL row: deleted unless a message rewrote it after the sweep read it. */
export interface ExpiredRow {
  id: Buffer;
  timeMs: number;
  ops: LevelDel[];
}

/** An event encoded at submit time; its group decides which batch record it joins. */
interface PendingEvent extends EncodedEvent {
  sendId: string;
  event: TrackEvent;
}

export type WriteItem =
  /** value: the message record as written (ops[0]), for the read cache once it is on disk. */
  | { kind: 'message'; ops: LevelPut[]; rows: PendingRow[]; message: MessageRecord; id: Buffer; value: Buffer }
  /** ops: the suppressions its unsubscribe events imply, written in the same batch. */
  | { kind: 'events'; events: PendingEvent[]; ops: LevelPut[] }
  | { kind: 'suppressions'; ops: LevelOperation[] }
  /** events: the reclassified events, each with its new verdict (the aggregates are corrected with them). */
  | { kind: 'verdicts'; ops: LevelPut[]; events: TrackEvent[] }
  | { kind: 'delete'; ops: LevelOperation[]; expiredRows: ExpiredRow[]; rowsDeleted: number }
  /** Sends whose running aggregates are recomputed from their records (after a sweep). */
  | { kind: 'rebuild'; sendIds: string[] };

/**
 * Folds a group's messages and events into the running aggregates (./send-aggregates.ts), and
 * corrects them for the group's later verdicts.
 */
export type AggregateFold = (
  messages: readonly MessageRecord[],
  events: readonly TrackEvent[],
  rebuild: readonly string[],
  corrections: readonly TrackEvent[],
) => Promise<{ ops: LevelOperation[]; commit: () => void }>;

export const EMPTY = Buffer.alloc(0);

/** A record as it went into LevelDB: its id and its encoded value. */
export interface WrittenRecord {
  id: Buffer;
  value: Buffer;
}

/** What a group put on disk that a later read would find: the read cache keeps it (level-store.ts). */
export interface WrittenRecords {
  /** URL rows written (new, or rewritten with a new time). */
  rows: WrittenRecord[];
  messages: WrittenRecord[];
}

/** A message record, its send and retention index entries, and its URL rows, checked. Throws on a bad record. */
export function messageItem(message: MessageRecord, urlRows: readonly UrlRow[]): WriteItem {
  const time = encodeTime(message.time);
  const sendId = encodeSendId(message.sendId);
  const id = idBytes(message.id);
  const value = encodeMessage(message);
  const ops: LevelPut[] = [
    { type: 'put', key: messageKey(id), value },
    { type: 'put', key: sendMessageKey(sendId, time, message.id), value: EMPTY },
    { type: 'put', key: messageRetentionKey(time, sendId, message.id), value: EMPTY },
  ];
  const sendIds = new SendIdCache();
  const rows = urlRows.map((row): PendingRow => ({ id: idBytes(row.id), sendId: sendIds.encode(row.sendId), row, time: message.time, timeKey: time }));
  return { kind: 'message', ops, rows, message, id, value };
}

/** Events, checked and encoded; the send is encoded once per group. Throws on a bad record. */
export function eventsItem(events: readonly TrackEvent[]): WriteItem {
  const pending = events.map((event): PendingEvent => {
    const timeMs = event.time.getTime();
    checkTimeMs(timeMs);
    checkSendId(event.sendId);
    return { sendId: event.sendId, id: idBytes(event.id), timeMs, value: encodeEvent(event), event };
  });
  // An unsubscribe of a named person from a list suppresses them, atomically with its event.
  const ops: LevelPut[] = [];
  for (const event of events) {
    const source = suppressingSource(event);
    if (source === null) continue;
    let key: Buffer;
    try {
      key = suppressionKey(event.listId, event.recipient);
    } catch {
      continue; // an address no key can hold: the event is still recorded
    }
    const suppression = { listId: event.listId, address: normalizeAddress(event.recipient), time: event.time, source, sendId: event.sendId };
    ops.push({ type: 'put', key, value: encodeSuppression(suppression) });
  }
  return { kind: 'events', events: pending, ops };
}

/** Suppressions added and removed by hand, checked. Throws on one no key can hold. */
export function suppressionsItem(changes: readonly SuppressionChange[]): WriteItem {
  return {
    kind: 'suppressions',
    ops: changes.map((c): LevelOperation =>
      c.op === 'add'
        ? { type: 'put', key: suppressionKey(c.suppression.listId, c.suppression.address), value: encodeSuppression(c.suppression) }
        : { type: 'del', key: suppressionKey(c.listId, c.address) },
    ),
  };
}

/**
 * Later verdicts of recorded events (src/truth), each beside its event's key, with a retention entry:
 * the value is the machineReason, empty for a person. Throws on a bad record.
 */
export function verdictsItem(events: readonly TrackEvent[]): WriteItem {
  const ops: LevelPut[] = [];
  for (const event of events) {
    const key = verdictKey(encodeSendId(event.sendId), encodeTime(event.time), event.id);
    const verdict = event.machine ? (event.machineReason ?? 'machine') : '';
    ops.push({ type: 'put', key, value: Buffer.from(verdict, 'utf8') }, { type: 'put', key: verdictRetentionKey(key), value: EMPTY });
  }
  return { kind: 'verdicts', ops, events: [...events] };
}

export interface WriterCounts {
  messages: number;
  events: number;
  urlRowsWritten: number;
  urlRowsSkipped: number;
}

export class StoreWriter {
  readonly counts: WriterCounts = { messages: 0, events: 0, urlRowsWritten: 0, urlRowsSkipped: 0 };

  constructor(
    private readonly level: LevelDatabase<WriteItem>,
    private readonly recentRows: RecentRows,
    /** Told of the URL rows and message records a group wrote, once they are on disk (the read cache keeps them). */
    private readonly recordsWritten: (written: WrittenRecords) => void,
    /** Told of suppressions put or deleted, once they are on disk (the suppression cache follows). */
    private readonly suppressionsWritten: (ops: readonly LevelOperation[]) => void = () => undefined,
    /** The running aggregates' share of each group, written in the same batch (none: no aggregates). */
    private readonly fold: AggregateFold = () => Promise.resolve({ ops: [], commit: () => undefined }),
  ) {}

  /** One group of submitted items as one atomic batch. */
  async writeGroup(items: WriteItem[]): Promise<void> {
    const ops: LevelOperation[] = [];
    const rowsWritten: WrittenRecord[] = [];
    const messagesWritten: WrittenRecord[] = [];
    let messages = 0;
    let events = 0;
    let skipped = 0;
    const eventsBySend = new Map<string, PendingEvent[]>();
    const suppressionOps: LevelOperation[] = [];
    const recorded = { messages: [] as MessageRecord[], events: [] as TrackEvent[], rebuild: [] as string[], corrections: [] as TrackEvent[] };
    for (const item of items) {
      if (item.kind === 'rebuild') {
        recorded.rebuild.push(...item.sendIds);
        continue;
      }
      if (item.kind === 'suppressions') {
        ops.push(...item.ops);
        suppressionOps.push(...item.ops);
        continue;
      }
      if (item.kind === 'events') {
        ops.push(...item.ops);
        suppressionOps.push(...item.ops);
        events += item.events.length;
        for (const event of item.events) {
          recorded.events.push(event.event);
          const send = eventsBySend.get(event.sendId);
          if (send) send.push(event);
          else eventsBySend.set(event.sendId, [event]);
        }
        continue;
      }
      ops.push(...item.ops);
      if (item.kind === 'verdicts') {
        recorded.corrections.push(...item.events);
        continue;
      }
      if (item.kind === 'delete') {
        item.rowsDeleted = 0;
        for (const row of item.expiredRows) {
          // Between the sweep's read and now a message may have rewritten the row: it lives on.
          if (this.recentRows.writtenAfter(row.id, row.timeMs)) continue;
          this.recentRows.forget(row.id);
          ops.push(...row.ops);
          item.rowsDeleted += 1;
        }
        continue;
      }
      messages += 1;
      recorded.messages.push(item.message);
      messagesWritten.push({ id: item.id, value: item.value });
      for (const row of item.rows) {
        // Decided here, not at submit, so a failed group cannot leave rows marked written that are not.
        const timeMs = row.time.getTime();
        if (!this.recentRows.needsWrite(row.id, timeMs)) {
          skipped += 1;
          continue;
        }
        this.recentRows.remember(row.id, timeMs);
        const value = encodeUrlRow(row.row, row.time);
        rowsWritten.push({ id: row.id, value });
        ops.push(
          { type: 'put', key: urlRowKey(row.id), value },
          { type: 'put', key: sendUrlKey(row.sendId, row.id), value: EMPTY },
          { type: 'put', key: urlRetentionKey(row.timeKey, row.id), value: EMPTY },
        );
      }
    }
    for (const [sendId, sendEvents] of eventsBySend) ops.push(...eventBatchPuts(encodeSendId(sendId), sendEvents));
    let folded: Awaited<ReturnType<AggregateFold>>;
    try {
      folded = await this.fold(recorded.messages, recorded.events, recorded.rebuild, recorded.corrections);
      ops.push(...folded.ops);
      await this.level.writeBatch(ops);
    } catch (err) {
      for (const row of rowsWritten) this.recentRows.forget(row.id);
      throw err;
    }
    folded.commit();
    this.recordsWritten({ rows: rowsWritten, messages: messagesWritten });
    this.suppressionsWritten(suppressionOps);
    this.counts.messages += messages;
    this.counts.events += events;
    this.counts.urlRowsWritten += rowsWritten.length;
    this.counts.urlRowsSkipped += skipped;
  }
}

/**
 * The puts for one send's events from one group: records of events less than EVENT_BATCH_SPAN_MS
 * apart, each in (time, id) order, and a retention entry per record.
 */
export function eventBatchPuts(sendIdKey: Buffer, events: EncodedEvent[]): LevelPut[] {
  events.sort(byTimeThenId);
  const puts: LevelPut[] = [];
  let start = 0;
  for (let i = 1; i <= events.length; i++) {
    if (i < events.length && events[i]!.timeMs - events[start]!.timeMs < EVENT_BATCH_SPAN_MS) continue;
    const first = events[start]!;
    const key = eventBatchKey(sendIdKey, encodeTimeMs(first.timeMs), first.id);
    puts.push({ type: 'put', key, value: encodeEventBatch(events.slice(start, i)) }, { type: 'put', key: eventBatchRetentionKey(key), value: EMPTY });
    start = i;
  }
  return puts;
}

/** The rows of one message nearly always share its sendId: encode it once. */
class SendIdCache {
  private last: { text: string; bytes: Buffer } | undefined;

  encode(sendId: string): Buffer {
    if (this.last?.text !== sendId) this.last = { text: sendId, bytes: encodeSendId(sendId) };
    return this.last.bytes;
  }
}
