/**
 * The tracking store on classic-level (LevelDB on disk). Key layout: ./keys.ts; values: ./values.ts.
 *
 * Durability: every write goes through one group committer (./group-commit.ts) as LevelDB batches,
 * which are atomic. With `sync: false` (the default) a batch is in the OS's page cache when its callers'
 * promises resolve: a crash or SIGKILL of this process loses nothing acknowledged, a power loss or
 * kernel crash can lose the last seconds. `sync: true` fsyncs each batch, so acknowledged means on the
 * platter, at the price of one fsync per group (group commit is what keeps that affordable).
 */
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { CodedError } from '../util/errors.js';
import { closedError, corruptError, invalidError, openError, operationError, StoreErrorCode } from './errors.js';
import { GroupCommitter } from '../level/group-commit.js';
import {
  checkSendId,
  checkTimeMs,
  encodeSendId,
  encodeTime,
  encodeTimeMs,
  EVENT_BATCH_SPAN_MS,
  eventBatchKey,
  eventBatchKeyFromRetentionKey,
  eventBatchRange,
  eventBatchRetentionKey,
  eventKeyFromRetentionKey,
  eventRange,
  firstTimeOfEventBatchKey,
  idBytes,
  idFromSendUrlKey,
  LAYOUT_VERSION,
  messageKey,
  messageKeysFromRetentionKey,
  sendMessageKey,
  sendMessageRange,
  messageRetentionKey,
  parseEventKey,
  parseRetentionKey,
  READABLE_LAYOUT_VERSIONS,
  retentionRanges,
  sendIdOfEventBatchRetentionKey,
  sendUrlKey,
  sendUrlRange,
  urlRetentionKey,
  urlRowKey,
  VERSION_KEY,
} from './keys.js';
import { byTimeThenId, EventHeap } from './event-heap.js';
import { preflightDamage } from '../level/preflight.js';
import { ReadCache } from './read-cache.js';
import { RecentRows } from './recent-rows.js';
import type {
  EventQuery,
  MessageRecord,
  RecordId,
  StoredUrlRow,
  StoreStats,
  SweepResult,
  TrackEvent,
  TrackStore,
  UrlRow,
} from './types.js';
import {
  decodeEncodedEvent,
  decodeEvent,
  decodeMessage,
  decodeUrlRow,
  encodeEvent,
  encodeEventBatch,
  encodeMessage,
  encodeUrlRow,
  splitEventBatch,
  type EncodedEvent,
} from './values.js';

export interface LevelStoreOptions {
  /** fsync every batch (see the top of this file). Default false. */
  sync?: boolean;
  /** How many recently written URL row ids to remember. Default 100,000. */
  recentRowCapacity?: number;
  /**
   * Rewrite a known URL row after this long, so a send still mailing keeps its rows from being swept.
   * Must be well below the retention age. Default one day.
   */
  rowRefreshMs?: number;
  /** Most calls merged into one batch. Default 1,000. */
  maxGroupSize?: number;
  /**
   * URL rows and message records kept in memory once read (each kind up to this many), so the clicks
   * and opens of a send do not each read LevelDB. Emptied by every sweep. Default 100,000; 0: none.
   */
  readCacheEntries?: number;
  /**
   * Read every record at open, so damaged table files are found at start rather than at the first
   * read that touches them. Costs a full scan. Default false.
   */
  verifyOnOpen?: boolean;
}

type Put = { type: 'put'; key: Buffer; value: Buffer };
type Del = { type: 'del'; key: Buffer };
type Operation = Put | Del;

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

/** The writes that remove what a chunk of index keys points at, and how many records that is (default: one per key). */
type SweepDeletes = { ops: Operation[]; expiredRows: ExpiredRow[]; removed?: number };

/** A swept URL row: deleted unless a message rewrote it after the sweep read it. */
interface ExpiredRow {
  id: Buffer;
  timeMs: number;
  ops: Del[];
}

/** An event encoded at submit time; its group decides which batch record it joins. */
interface PendingEvent extends EncodedEvent {
  sendId: string;
}

type WriteItem =
  | { kind: 'message'; ops: Put[]; rows: PendingRow[] }
  | { kind: 'events'; events: PendingEvent[] }
  | { kind: 'delete'; ops: Operation[]; expiredRows: ExpiredRow[]; rowsDeleted: number };

const EMPTY = Buffer.alloc(0);
const SWEEP_CHUNK = 1000;
const GET_MANY_CHUNK = 256;

export class LevelTrackStore implements TrackStore {
  /**
   * Created in open(), after the preflight check: abstract-level starts opening a database from its
   * constructor, and opening is what recovers (and on damage, silently truncates) the logs.
   */
  private db!: ClassicLevel<Buffer, Buffer>;
  private readonly sync: boolean;
  private readonly verifyOnOpen: boolean;
  private readonly recentRows: RecentRows;
  /** Read-through caches of getUrlRow and getMessage (./read-cache.ts). */
  private readonly cachedRows: ReadCache<StoredUrlRow>;
  private readonly cachedMessages: ReadCache<MessageRecord>;
  private readonly committer: GroupCommitter<WriteItem>;
  private state: 'new' | 'opening' | 'open' | 'closing' | 'closed' = 'new';
  private readonly counts = { messages: 0, events: 0, urlRowsWritten: 0, urlRowsSkipped: 0 };

  constructor(
    readonly dir: string,
    options: LevelStoreOptions = {},
  ) {
    this.sync = options.sync ?? false;
    this.verifyOnOpen = options.verifyOnOpen ?? false;
    this.recentRows = new RecentRows(options.recentRowCapacity ?? 100_000, options.rowRefreshMs ?? 86_400_000);
    this.cachedRows = new ReadCache(options.readCacheEntries ?? 100_000);
    this.cachedMessages = new ReadCache(options.readCacheEntries ?? 100_000);
    this.committer = new GroupCommitter((items) => this.writeGroup(items), options.maxGroupSize ?? 1000);
  }

  async open(): Promise<void> {
    if (this.state !== 'new') throw new CodedError(StoreErrorCode.IO, `store ${this.dir} can be opened only once`);
    this.state = 'opening';
    try {
      await mkdir(this.dir, { recursive: true });
      const damage = await preflightDamage(this.dir);
      if (damage) throw corruptError(this.dir, damage);
      this.db = new ClassicLevel<Buffer, Buffer>(this.dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      try {
        await this.db.open({ createIfMissing: true });
      } catch (err) {
        throw openError(this.dir, err);
      }
      try {
        await this.checkLayoutVersion();
        if (this.verifyOnOpen) await this.readEverything();
      } catch (err) {
        await this.db.close().catch(() => undefined);
        throw err;
      }
      this.state = 'open';
    } catch (err) {
      this.state = 'closed';
      throw err instanceof CodedError ? err : operationError(this.dir, err);
    }
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    await this.committer.drain();
    this.state = 'closed';
    await this.db.close();
  }

  recordMessage(message: MessageRecord, urlRows: readonly UrlRow[]): Promise<void> {
    return this.submit(() => {
      const time = encodeTime(message.time);
      const sendId = encodeSendId(message.sendId);
      const ops: Put[] = [
        { type: 'put', key: messageKey(message.id), value: encodeMessage(message) },
        { type: 'put', key: sendMessageKey(sendId, time, message.id), value: EMPTY },
        { type: 'put', key: messageRetentionKey(time, sendId, message.id), value: EMPTY },
      ];
      const sendIds = new SendIdCache();
      const rows = urlRows.map((row) => checkRow(row, sendIds.encode(row.sendId), message.time, time));
      return { kind: 'message', ops, rows };
    });
  }

  recordEvents(events: readonly TrackEvent[]): Promise<void> {
    return this.submit(() => {
      const pending = events.map((event): PendingEvent => {
        // Checked here, so a bad record fails only its own call; the send is encoded once per group.
        const timeMs = event.time.getTime();
        checkTimeMs(timeMs);
        checkSendId(event.sendId);
        return { sendId: event.sendId, id: idBytes(event.id), timeMs, value: encodeEvent(event) };
      });
      return { kind: 'events', events: pending };
    });
  }

  /** What these two return may be the cached object itself: callers read it, never change it. */
  getUrlRow(id: RecordId): Promise<StoredUrlRow | undefined> {
    return this.readThroughCache(this.cachedRows, id, urlRowKey, decodeUrlRow);
  }

  getMessage(id: RecordId): Promise<MessageRecord | undefined> {
    return this.readThroughCache(this.cachedMessages, id, messageKey, decodeMessage);
  }

  peekUrlRow(id: RecordId): StoredUrlRow | undefined {
    return this.peekCache(this.cachedRows, id);
  }

  peekMessage(id: RecordId): MessageRecord | undefined {
    return this.peekCache(this.cachedMessages, id);
  }

  async *eventsBySendId(sendId: string, query: EventQuery = {}): AsyncIterable<TrackEvent> {
    let left = query.limit ?? Infinity;
    if (left <= 0) return;
    for await (const event of this.eventsInOrder(sendId, query.since, query.until)) {
      yield event;
      if (--left === 0) return; // leaving the loop closes the LevelDB iterator
    }
  }

  /** Layout 1's per-event records first (all written before layout 2), then the batch records. */
  private async *eventsInOrder(sendId: string, since?: Date, until?: Date): AsyncIterable<TrackEvent> {
    const ranges = await this.read(() => {
      const key = encodeSendId(sendId);
      return { single: eventRange(key, since, until), batches: eventBatchRange(key, since, until) };
    });
    try {
      for await (const [key, value] of this.db.iterator(ranges.single)) yield decodeEvent(parseEventKey(key), sendId, value);
      // Records come in order of their first event and span less than EVENT_BATCH_SPAN_MS, so they may
      // overlap: once a record starting at T is read, no event before T is still to come.
      const sinceMs = since?.getTime() ?? -Infinity;
      const untilMs = until?.getTime() ?? Infinity;
      const waiting = new EventHeap();
      for await (const [key, value] of this.db.iterator(ranges.batches)) {
        const startsAt = firstTimeOfEventBatchKey(key);
        while (waiting.size > 0 && waiting.peek().timeMs < startsAt) yield decodeEncodedEvent(sendId, waiting.pop());
        for (const event of splitEventBatch(value)) if (event.timeMs >= sinceMs && event.timeMs < untilMs) waiting.push(event);
      }
      while (waiting.size > 0) yield decodeEncodedEvent(sendId, waiting.pop());
    } catch (err) {
      throw operationError(this.dir, err);
    }
  }

  async countMessages(sendId: string): Promise<number> {
    const range = await this.read(() => sendMessageRange(encodeSendId(sendId)));
    let count = 0;
    try {
      for await (const _key of this.db.keys(range)) count++;
    } catch (err) {
      throw operationError(this.dir, err);
    }
    return count;
  }

  async *urlRowsBySendId(sendId: string): AsyncIterable<StoredUrlRow> {
    const range = await this.read(() => sendUrlRange(encodeSendId(sendId)));
    try {
      let ids: Buffer[] = [];
      for await (const key of this.db.keys(range)) {
        ids.push(idFromSendUrlKey(key));
        if (ids.length === GET_MANY_CHUNK) {
          yield* await this.rowsOf(ids);
          ids = [];
        }
      }
      yield* await this.rowsOf(ids);
    } catch (err) {
      throw operationError(this.dir, err);
    }
  }

  async sweep(olderThan: Date): Promise<SweepResult> {
    await this.read(() => encodeTime(olderThan));
    const cutoff = olderThan.getTime();
    const batches = await this.sweepIndex(retentionRanges.eventBatches(olderThan), async (keys) => {
      const recordKeys = keys.map(eventBatchKeyFromRetentionKey);
      const values = await this.db.getMany(recordKeys);
      const ops: Operation[] = [];
      let removed = 0;
      keys.forEach((key, i) => {
        ops.push(del(key), del(recordKeys[i]!));
        const value = values[i];
        if (value === undefined) return;
        // A record with events on both sides of the cutoff is written again with the newer ones.
        const events = splitEventBatch(value);
        const kept = events.filter((e) => e.timeMs >= cutoff);
        removed += events.length - kept.length;
        if (kept.length > 0) ops.push(...eventBatchPuts(sendIdOfEventBatchRetentionKey(key), kept));
      });
      return { ops, expiredRows: [], removed };
    });
    const singles = await this.sweepIndex(retentionRanges.events(olderThan), (keys) => ({
      ops: keys.flatMap((key) => [del(key), del(eventKeyFromRetentionKey(key))]),
      expiredRows: [],
    }));
    const messages = await this.sweepIndex(retentionRanges.messages(olderThan), (keys) => ({
      ops: keys.flatMap((key) => {
        const { id, sendMessageKey: indexKey } = messageKeysFromRetentionKey(key);
        return [del(key), del(messageKey(id)), del(indexKey)];
      }),
      expiredRows: [],
    }));
    const urlRows = await this.sweepIndex(retentionRanges.urlRows(olderThan), async (keys) => {
      const entries = keys.map(parseRetentionKey);
      const values = await this.db.getMany(entries.map((e) => urlRowKey(e.id)));
      const expiredRows: ExpiredRow[] = [];
      entries.forEach((entry, i) => {
        const value = values[i];
        if (value === undefined) return;
        const row = decodeUrlRow(entry.id, value);
        // A row rewritten since this entry was made has a newer entry of its own; keep it.
        if (row.time.getTime() > entry.time.getTime()) return;
        expiredRows.push({
          id: entry.id,
          timeMs: row.time.getTime(),
          ops: [del(urlRowKey(entry.id)), del(sendUrlKey(encodeSendId(row.sendId), entry.id))],
        });
      });
      return { ops: keys.map(del), expiredRows };
    });
    // What was swept must stop resolving, cached or not.
    this.cachedRows.clear();
    this.cachedMessages.clear();
    return { events: batches.entries + singles.entries, messages: messages.entries, urlRows: urlRows.rowsDeleted };
  }

  stats(): StoreStats {
    const group = this.committer.stats;
    return {
      batches: group.groups,
      writeCalls: group.calls,
      largestGroup: group.largestGroup,
      pendingCalls: this.committer.pending,
      ...this.counts,
      readCache: { rows: this.cachedRows.stats(), messages: this.cachedMessages.stats() },
    };
  }

  /**
   * One atomic LevelDB write. A chained batch, because abstract-level's array form copies every
   * operation into a fresh object with the call's options spread in: about 6 µs of main thread per
   * operation against 1 µs chained (batches of 64 puts, classic-level 3.0), and the redirector writes
   * two operations per click: bench:redirect went from about 41k to 50k requests/s with this alone.
   */
  private async writeBatch(ops: readonly Operation[]): Promise<void> {
    const batch = this.db.batch();
    try {
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
      }
    } catch (err) {
      await batch.close();
      throw err;
    }
    await batch.write({ sync: this.sync });
  }

  /** Encodes on the caller's turn (so a bad record fails only its own call), then joins a group. */
  private submit(prepare: () => WriteItem): Promise<void> {
    if (this.state !== 'open') return Promise.reject(closedError(this.dir));
    let item: WriteItem;
    try {
      item = prepare();
    } catch (err) {
      return Promise.reject(invalidError(err));
    }
    return this.committer.submit(item);
  }

  private async writeGroup(items: WriteItem[]): Promise<void> {
    const ops: Operation[] = [];
    const rowsWritten: Buffer[] = [];
    let messages = 0;
    let events = 0;
    let skipped = 0;
    const eventsBySend = new Map<string, PendingEvent[]>();
    for (const item of items) {
      if (item.kind === 'events') {
        events += item.events.length;
        for (const event of item.events) {
          const send = eventsBySend.get(event.sendId);
          if (send) send.push(event);
          else eventsBySend.set(event.sendId, [event]);
        }
        continue;
      }
      ops.push(...item.ops);
      if (item.kind === 'delete') {
        item.rowsDeleted = 0;
        for (const row of item.expiredRows) {
          // Between the sweep's read and now a message may have rewritten the row: it lives on.
          if (this.recentRows.writtenAfter(row.id, row.timeMs)) continue;
          this.recentRows.forget(row.id);
          ops.push(...row.ops);
          item.rowsDeleted += 1;
        }
      }
      if (item.kind !== 'message') continue;
      messages += 1;
      for (const row of item.rows) {
        // Decided here, not at submit, so a failed group cannot leave rows marked written that are not.
        const timeMs = row.time.getTime();
        if (!this.recentRows.needsWrite(row.id, timeMs)) {
          skipped += 1;
          continue;
        }
        this.recentRows.remember(row.id, timeMs);
        rowsWritten.push(row.id);
        ops.push(
          { type: 'put', key: urlRowKey(row.id), value: encodeUrlRow(row.row, row.time) },
          { type: 'put', key: sendUrlKey(row.sendId, row.id), value: EMPTY },
          { type: 'put', key: urlRetentionKey(row.timeKey, row.id), value: EMPTY },
        );
      }
    }
    for (const [sendId, events] of eventsBySend) ops.push(...eventBatchPuts(encodeSendId(sendId), events));
    try {
      await this.writeBatch(ops);
    } catch (err) {
      for (const id of rowsWritten) this.recentRows.forget(id);
      throw operationError(this.dir, err);
    }
    // A refreshed row has a new time: the next read takes it from LevelDB.
    for (const id of rowsWritten) this.cachedRows.invalidate(id.toString('latin1'));
    this.counts.messages += messages;
    this.counts.events += events;
    this.counts.urlRowsWritten += rowsWritten.length;
    this.counts.urlRowsSkipped += skipped;
  }

  private peekCache<T>(cache: ReadCache<T>, id: RecordId): T | undefined {
    if (this.state !== 'open') return undefined;
    let bytes: Buffer;
    try {
      bytes = idBytes(id);
    } catch {
      return undefined; // the read that follows reports the bad id
    }
    return cache.peek(bytes.toString('latin1'));
  }

  /** A record from the cache, or read from LevelDB and cached when found. */
  private async readThroughCache<T>(
    cache: ReadCache<T>,
    id: RecordId,
    keyOf: (id: Buffer) => Buffer,
    decode: (id: Buffer, value: Buffer) => T,
  ): Promise<T | undefined> {
    if (this.state !== 'open') throw closedError(this.dir);
    let bytes: Buffer;
    try {
      bytes = idBytes(id);
    } catch (err) {
      throw invalidError(err);
    }
    return cache.read(bytes.toString('latin1'), async () => {
      const value = await this.read(() => this.db.get(keyOf(bytes)));
      return value === undefined ? undefined : decode(bytes, value);
    });
  }

  /** Runs a read, refusing when not open, with LevelDB's errors translated. */
  private async read<T>(operation: () => T | Promise<T>): Promise<T> {
    if (this.state !== 'open') throw closedError(this.dir);
    try {
      return await operation();
    } catch (err) {
      if (err instanceof RangeError) throw invalidError(err);
      throw operationError(this.dir, err);
    }
  }

  private async rowsOf(ids: Buffer[]): Promise<StoredUrlRow[]> {
    if (ids.length === 0) return [];
    const values = await this.db.getMany(ids.map(urlRowKey));
    const rows: StoredUrlRow[] = [];
    values.forEach((value, i) => {
      if (value !== undefined) rows.push(decodeUrlRow(ids[i]!, value));
    });
    return rows;
  }

  /**
   * Deletes an index range chunk by chunk, through the committer so deletes are ordered with writes.
   * Every key read is deleted, so each pass starts at the range's beginning again.
   */
  private async sweepIndex(
    range: { gte: Buffer; lt: Buffer },
    deletesFor: (keys: Buffer[]) => SweepDeletes | Promise<SweepDeletes>,
  ): Promise<{ entries: number; rowsDeleted: number }> {
    const swept = { entries: 0, rowsDeleted: 0 };
    for (;;) {
      const keys = await this.read(() => this.db.keys({ ...range, limit: SWEEP_CHUNK }).all());
      if (keys.length === 0) return swept;
      const { removed, ...deletes } = await this.read(() => deletesFor(keys));
      const item = { kind: 'delete' as const, ...deletes, rowsDeleted: 0 };
      await this.submit(() => item);
      swept.entries += removed ?? keys.length;
      swept.rowsDeleted += item.rowsDeleted;
      if (keys.length < SWEEP_CHUNK) return swept;
    }
  }

  private async checkLayoutVersion(): Promise<void> {
    const stored = (await this.db.get(VERSION_KEY))?.toString();
    if (stored === LAYOUT_VERSION) return;
    if (stored !== undefined && !READABLE_LAYOUT_VERSIONS.includes(stored)) {
      throw new CodedError(
        StoreErrorCode.VERSION,
        `store directory ${this.dir} has layout version ${stored}; this trackmilter reads versions ${READABLE_LAYOUT_VERSIONS.join(' and ')}`,
      );
    }
    // An older layout is read as it is; the new number keeps an older trackmilter from missing what we add.
    await this.db.put(VERSION_KEY, Buffer.from(LAYOUT_VERSION), { sync: true });
  }

  private async readEverything(): Promise<void> {
    try {
      for await (const _entry of this.db.iterator({ fillCache: false })) {
        // reading is the check
      }
    } catch (err) {
      throw operationError(this.dir, err);
    }
  }
}

/**
 * The puts for one send's events from one group: records of events less than EVENT_BATCH_SPAN_MS
 * apart, each in (time, id) order, and a retention entry per record.
 */
function eventBatchPuts(sendIdKey: Buffer, events: EncodedEvent[]): Put[] {
  events.sort(byTimeThenId);
  const puts: Put[] = [];
  let start = 0;
  for (let i = 1; i <= events.length; i++) {
    if (i < events.length && events[i]!.timeMs - events[start]!.timeMs < EVENT_BATCH_SPAN_MS) continue;
    const first = events[start]!;
    const key = eventBatchKey(sendIdKey, encodeTimeMs(first.timeMs), first.id);
    puts.push(
      { type: 'put', key, value: encodeEventBatch(events.slice(start, i)) },
      { type: 'put', key: eventBatchRetentionKey(key), value: EMPTY },
    );
    start = i;
  }
  return puts;
}

function checkRow(row: UrlRow, sendId: Buffer, time: Date, timeKey: Buffer): PendingRow {
  return { id: idBytes(row.id), sendId, row, time, timeKey };
}

/** The rows of one message nearly always share its sendId: encode it once. */
class SendIdCache {
  private last: { text: string; bytes: Buffer } | undefined;

  encode(sendId: string): Buffer {
    if (this.last?.text !== sendId) this.last = { text: sendId, bytes: encodeSendId(sendId) };
    return this.last.bytes;
  }
}

function del(key: Buffer): Del {
  return { type: 'del', key };
}
