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
import { GroupCommitter } from './group-commit.js';
import {
  encodeSendId,
  encodeTime,
  eventKey,
  eventKeyFromRetentionKey,
  eventRange,
  eventRetentionKey,
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
  retentionRanges,
  sendUrlKey,
  sendUrlRange,
  urlRetentionKey,
  urlRowKey,
  VERSION_KEY,
} from './keys.js';
import { preflightDamage } from './preflight.js';
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
import { decodeEvent, decodeMessage, decodeUrlRow, encodeEvent, encodeMessage, encodeUrlRow } from './values.js';

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

/** A swept URL row: deleted unless a message rewrote it after the sweep read it. */
interface ExpiredRow {
  id: Buffer;
  timeMs: number;
  ops: Del[];
}

type WriteItem =
  | { kind: 'message'; ops: Put[]; rows: PendingRow[] }
  | { kind: 'events'; ops: Put[]; count: number }
  | { kind: 'delete'; ops: Del[]; expiredRows: ExpiredRow[]; rowsDeleted: number };

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
      const ops: Put[] = [];
      for (const event of events) {
        const time = encodeTime(event.time);
        const sendId = encodeSendId(event.sendId);
        ops.push(
          { type: 'put', key: eventKey(sendId, time, event.id), value: encodeEvent(event) },
          { type: 'put', key: eventRetentionKey(time, sendId, event.id), value: EMPTY },
        );
      }
      return { kind: 'events', ops, count: events.length };
    });
  }

  async getUrlRow(id: RecordId): Promise<StoredUrlRow | undefined> {
    const value = await this.read(() => this.db.get(urlRowKey(id)));
    return value === undefined ? undefined : decodeUrlRow(idBytes(id), value);
  }

  async getMessage(id: RecordId): Promise<MessageRecord | undefined> {
    const value = await this.read(() => this.db.get(messageKey(id)));
    return value === undefined ? undefined : decodeMessage(idBytes(id), value);
  }

  async *eventsBySendId(sendId: string, query: EventQuery = {}): AsyncIterable<TrackEvent> {
    const range = await this.read(async () => eventRange(encodeSendId(sendId), query.since, query.until));
    try {
      for await (const [key, value] of this.db.iterator({ ...range, limit: query.limit ?? -1 })) {
        yield decodeEvent(parseEventKey(key), sendId, value);
      }
    } catch (err) {
      throw operationError(this.dir, err);
    }
  }

  async countMessages(sendId: string): Promise<number> {
    const range = await this.read(async () => sendMessageRange(encodeSendId(sendId)));
    let count = 0;
    try {
      for await (const _key of this.db.keys(range)) count++;
    } catch (err) {
      throw operationError(this.dir, err);
    }
    return count;
  }

  async *urlRowsBySendId(sendId: string): AsyncIterable<StoredUrlRow> {
    const range = await this.read(async () => sendUrlRange(encodeSendId(sendId)));
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
    await this.read(async () => encodeTime(olderThan));
    const events = await this.sweepIndex(retentionRanges.events(olderThan), async (keys) => ({
      ops: keys.flatMap((key) => [del(key), del(eventKeyFromRetentionKey(key))]),
      expiredRows: [],
    }));
    const messages = await this.sweepIndex(retentionRanges.messages(olderThan), async (keys) => ({
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
    return { events: events.entries, messages: messages.entries, urlRows: urlRows.rowsDeleted };
  }

  stats(): StoreStats {
    const group = this.committer.stats;
    return {
      batches: group.groups,
      writeCalls: group.calls,
      largestGroup: group.largestGroup,
      pendingCalls: this.committer.pending,
      ...this.counts,
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
    for (const item of items) {
      ops.push(...item.ops);
      if (item.kind === 'events') events += item.count;
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
    try {
      await this.writeBatch(ops);
    } catch (err) {
      for (const id of rowsWritten) this.recentRows.forget(id);
      throw operationError(this.dir, err);
    }
    this.counts.messages += messages;
    this.counts.events += events;
    this.counts.urlRowsWritten += rowsWritten.length;
    this.counts.urlRowsSkipped += skipped;
  }

  /** Runs a read, refusing when not open, with LevelDB's errors translated. */
  private async read<T>(operation: () => Promise<T>): Promise<T> {
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
    deletesFor: (keys: Buffer[]) => Promise<{ ops: Del[]; expiredRows: ExpiredRow[] }>,
  ): Promise<{ entries: number; rowsDeleted: number }> {
    const swept = { entries: 0, rowsDeleted: 0 };
    for (;;) {
      const keys = await this.read(() => this.db.keys({ ...range, limit: SWEEP_CHUNK }).all());
      if (keys.length === 0) return swept;
      const deletes = await this.read(() => deletesFor(keys));
      const item = { kind: 'delete' as const, ...deletes, rowsDeleted: 0 };
      await this.submit(() => item);
      swept.entries += keys.length;
      swept.rowsDeleted += item.rowsDeleted;
      if (keys.length < SWEEP_CHUNK) return swept;
    }
  }

  private async checkLayoutVersion(): Promise<void> {
    const stored = await this.db.get(VERSION_KEY);
    if (stored === undefined) {
      await this.db.put(VERSION_KEY, Buffer.from(LAYOUT_VERSION), { sync: true });
      return;
    }
    if (stored.toString() !== LAYOUT_VERSION) {
      throw new CodedError(
        StoreErrorCode.VERSION,
        `store directory ${this.dir} has layout version ${stored.toString()}; this trackmilter reads version ${LAYOUT_VERSION}`,
      );
    }
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
