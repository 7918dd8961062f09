/**
 * The tracking store on classic-level (LevelDB on disk): its public face. Key layout: ./keys.ts;
 * values: ./values.ts; writes: ./store-writer.ts; the retention sweep: ./store-sweep.ts; the read
 * caches: ./read-cache.ts; lifecycle, preflight, error codes and group commit: ../level/database.ts.
 *
 * Durability: every write goes through one group committer as LevelDB batches, which are atomic. With
 * `sync: false` (the default) a batch is in the OS's page cache when its callers' promises resolve: a
 * crash or SIGKILL of this process loses nothing acknowledged, a power loss or kernel crash can lose the
 * last seconds. `sync: true` fsyncs each batch, so acknowledged means on the platter, at the price of
 * one fsync per group (group commit is what keeps that affordable).
 */
import type { ClassicLevel } from 'classic-level';
import { LevelDatabase } from '../level/database.js';
import { CodedError } from '../util/errors.js';
import { invalidError, storeErrors, StoreErrorCode } from './errors.js';
import { EventHeap } from './event-heap.js';
import {
  encodeSendId,
  encodeTimeMs,
  eventBatchRange,
  eventRange,
  firstTimeOfEventBatchKey,
  idBytes,
  idFromSendUrlKey,
  LAYOUT_VERSION,
  messageKey,
  parseEventKey,
  READABLE_LAYOUT_VERSIONS,
  sendMessageRange,
  sendUrlRange,
  urlRowKey,
  verdictMatchKey,
  verdictRange,
  VERSION_KEY,
} from './keys.js';
import { ReadCache } from './read-cache.js';
import { RecentRows } from './recent-rows.js';
import { eventsItem, messageItem, StoreWriter, suppressionsItem, verdictsItem, type WriteItem } from './store-writer.js';
import { decodeSuppression, SuppressionCache, suppressionKey, suppressionRange, type Suppression, type SuppressionChange } from './suppressions.js';
import { sweepStore } from './store-sweep.js';
import { SendAggregates, sendIdsOnRecord, type AggregateSource } from './send-aggregates.js';
import type { EventQuery, MessageRecord, RecordId, StoredUrlRow, StoreStats, SweepResult, TrackEvent, TrackStore, UrlRow } from './types.js';
import { decodeEncodedEvent, decodeEvent, decodeMessage, decodeUrlRow, splitEventBatch } from './values.js';

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
   * URL rows and message records kept in memory once read or written (each kind up to this many), so
   * the clicks and opens of a send do not each read LevelDB. Emptied by every sweep. Default 100,000;
   * 0: none.
   */
  readCacheEntries?: number;
  /** Running-aggregate records kept in memory between groups (./send-aggregates.ts). Default 200,000. */
  aggregateCacheEntries?: number;
  /**
   * Read every record at open, so damaged table files are found at start rather than at the first
   * read that touches them. Costs a full scan. Default false.
   */
  verifyOnOpen?: boolean;
}

const GET_MANY_CHUNK = 256;

export class LevelTrackStore implements TrackStore {
  private readonly level: LevelDatabase<WriteItem>;
  private readonly writer: StoreWriter;
  private readonly verifyOnOpen: boolean;
  private readonly aggregateCacheEntries: number;
  /** Running totals per send and time bucket (./send-aggregates.ts), written with the events. */
  aggregates!: SendAggregates;
  /** Read-through caches of getUrlRow and getMessage (./read-cache.ts). */
  private readonly cachedRows: ReadCache<StoredUrlRow>;
  private readonly cachedMessages: ReadCache<MessageRecord>;
  /** Suppressions found and absent (./suppressions.ts), in front of the milter's per-message check. */
  private readonly suppressionCache: SuppressionCache;

  constructor(
    readonly dir: string,
    options: LevelStoreOptions = {},
  ) {
    this.verifyOnOpen = options.verifyOnOpen ?? false;
    this.aggregateCacheEntries = options.aggregateCacheEntries ?? 200_000;
    this.cachedRows = new ReadCache(options.readCacheEntries ?? 100_000);
    this.cachedMessages = new ReadCache(options.readCacheEntries ?? 100_000);
    this.suppressionCache = new SuppressionCache(options.readCacheEntries ?? 100_000);
    this.level = new LevelDatabase<WriteItem>(dir, {
      errors: storeErrors(dir),
      writeGroup: (items) => this.writer.writeGroup(items),
      sync: options.sync ?? false,
      maxGroupSize: options.maxGroupSize ?? 1000,
    });
    const recentRows = new RecentRows(options.recentRowCapacity ?? 100_000, options.rowRefreshMs ?? 86_400_000);
    // What this process writes is what its redirector serves first: a send's first clicks and opens
    // come soon after its messages are recorded, and find them here rather than in LevelDB. A refreshed
    // row has a new time, and replaces the one cached.
    this.writer = new StoreWriter(
      this.level,
      recentRows,
      ({ rows, messages }) => {
        for (const { id, value } of rows) this.cachedRows.written(id.toString('latin1'), () => decodeUrlRow(Buffer.from(id), value));
        for (const { id, value } of messages) this.cachedMessages.written(id.toString('latin1'), () => decodeMessage(Buffer.from(id), value));
      },
      (ops) => {
        for (const op of ops) this.suppressionCache.written(op.key, op.type === 'put');
      },
      (messages, events, rebuild, corrections) => this.aggregates.prepare(messages, events, rebuild, this.aggregateSource(), corrections),
    );
  }

  async open(): Promise<void> {
    await this.level.open(async (db) => {
      await this.checkLayoutVersion(db);
      if (this.verifyOnOpen) await this.readEverything(db);
      this.aggregates = new SendAggregates(db, this.aggregateCacheEntries);
    });
    // A store written before aggregates existed gets every send folded once, before anyone writes.
    try {
      if (!(await this.aggregates.isBuilt())) await this.aggregates.buildAll(await sendIdsOnRecord(this.level.db), this.aggregateSource());
    } catch (err) {
      await this.level.close().catch(() => undefined);
      throw this.level.translate(err, 'open');
    }
  }

  /** Where a rebuild or a correction of a send's aggregates reads: the send's events and its messages. */
  private aggregateSource(): AggregateSource {
    // eventsBySendId: with their later verdicts, so a rebuild counts each event as it is judged now.
    return {
      events: (sendId) => this.eventsBySendId(sendId),
      messages: (sendId) => this.countMessages(sendId),
      counted: (event) => this.eventOnRecord(event),
    };
  }

  /** The recorded event with this one's send, time and id, with its latest verdict; undefined if none. */
  private async eventOnRecord(event: TrackEvent): Promise<TrackEvent | undefined> {
    const id = Buffer.from(event.id);
    const at = event.time.getTime();
    for await (const e of this.eventsBySendId(event.sendId, { since: event.time, until: new Date(at + 1) }))
      if (e.time.getTime() === at && id.equals(Buffer.from(e.id))) return e;
    return undefined;
  }

  async close(): Promise<void> {
    return this.level.close();
  }

  recordMessage(message: MessageRecord, urlRows: readonly UrlRow[]): Promise<void> {
    return this.submit(() => messageItem(message, urlRows));
  }

  recordEvents(events: readonly TrackEvent[]): Promise<void> {
    return this.submit(() => eventsItem(events));
  }

  /** Adds and removes suppressions in one batch. */
  changeSuppressions(changes: readonly SuppressionChange[]): Promise<void> {
    return this.submit(() => suppressionsItem(changes));
  }

  /**
   * Which of these addresses (as given) are suppressed from the list. Answered from the suppression
   * cache where it can be; the rest in one LevelDB read. An address no key can hold is not suppressed.
   */
  async suppressedAmong(listId: string, addresses: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    if (listId === '' || addresses.length === 0) return found;
    if (!this.level.isOpen) throw storeErrors(this.dir).closed();
    const unknown: Array<{ address: string; key: Buffer }> = [];
    for (const address of addresses) {
      let key: Buffer;
      try {
        key = suppressionKey(listId, address);
      } catch {
        continue;
      }
      const known = this.suppressionCache.lookup(key);
      if (known === true) found.add(address);
      else if (known === undefined) unknown.push({ address, key });
    }
    if (unknown.length === 0) return found;
    const keys = unknown.map((u) => u.key);
    const lookup = this.suppressionCache.startLookup(keys);
    let values: Array<Buffer | undefined> | undefined;
    try {
      values = await this.level.read((db) => db.getMany(keys));
    } finally {
      // A failed read leaves the cache as it was (an empty list keeps nothing).
      const read = values;
      lookup.finish(read ? keys.map((_, i) => read[i] !== undefined) : []);
    }
    values.forEach((value, i) => {
      if (value !== undefined) found.add(unknown[i]!.address);
    });
    return found;
  }

  /** Every suppression in key order (by list, then address), or one list's. */
  async *suppressions(listId?: string): AsyncIterable<Suppression> {
    if (!this.level.isOpen) throw storeErrors(this.dir).closed();
    const range = suppressionRange(listId);
    const iterator = this.level.db.iterator(range);
    try {
      for await (const [key, value] of iterator) yield decodeSuppression(key, value);
    } catch (err) {
      throw this.level.translate(err, 'read suppressions');
    }
  }

  /** Later verdicts, with the aggregates corrected for them in the same batch (./send-aggregates.ts). */
  recordVerdicts(events: readonly TrackEvent[]): Promise<void> {
    return this.submit(() => verdictsItem(events));
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
    const verdicts = await this.verdictsOf(sendId, query.since, query.until);
    for await (const event of this.eventsInOrder(sendId, query.since, query.until)) {
      if (verdicts.size > 0) applyVerdict(event, verdicts);
      yield event;
      if (--left === 0) return; // leaving the loop closes the LevelDB iterator
    }
  }

  /** Layout 1's per-event records first (all written before layout 2), then the batch records. */
  private async *eventsInOrder(sendId: string, since?: Date, until?: Date): AsyncIterable<TrackEvent> {
    const ranges = await this.level.read(() => {
      const key = encodeSendId(sendId);
      return { single: eventRange(key, since, until), batches: eventBatchRange(key, since, until) };
    });
    try {
      for await (const [key, value] of this.level.db.iterator(ranges.single)) yield decodeEvent(parseEventKey(key), sendId, value);
      // Records come in order of their first event and span less than EVENT_BATCH_SPAN_MS, so they may
      // overlap: once a record starting at T is read, no event before T is still to come.
      const sinceMs = since?.getTime() ?? -Infinity;
      const untilMs = until?.getTime() ?? Infinity;
      const waiting = new EventHeap();
      for await (const [key, value] of this.level.db.iterator(ranges.batches)) {
        const startsAt = firstTimeOfEventBatchKey(key);
        while (waiting.size > 0 && waiting.peek().timeMs < startsAt) yield decodeEncodedEvent(sendId, waiting.pop());
        for (const event of splitEventBatch(value)) if (event.timeMs >= sinceMs && event.timeMs < untilMs) waiting.push(event);
      }
      while (waiting.size > 0) yield decodeEncodedEvent(sendId, waiting.pop());
    } catch (err) {
      throw this.level.translate(err, 'read');
    }
  }

  /**
   * The later verdicts of a send's events in a time range, by event time and id. Held in memory while
   * the events are read: only events whose verdict changed have one (a share of the machine events).
   */
  private async verdictsOf(sendId: string, since?: Date, until?: Date): Promise<Map<string, string>> {
    const range = await this.level.read(() => verdictRange(encodeSendId(sendId), since, until));
    const verdicts = new Map<string, string>();
    try {
      for await (const [key, value] of this.level.db.iterator(range)) verdicts.set(verdictMatchKey(key), value.toString('utf8'));
    } catch (err) {
      throw this.level.translate(err, 'read');
    }
    return verdicts;
  }

  async countMessages(sendId: string): Promise<number> {
    const range = await this.level.read(() => sendMessageRange(encodeSendId(sendId)));
    let count = 0;
    try {
      for await (const _key of this.level.db.keys(range)) count++;
    } catch (err) {
      throw this.level.translate(err, 'read');
    }
    return count;
  }

  async *urlRowsBySendId(sendId: string): AsyncIterable<StoredUrlRow> {
    const range = await this.level.read(() => sendUrlRange(encodeSendId(sendId)));
    try {
      let ids: Buffer[] = [];
      for await (const key of this.level.db.keys(range)) {
        ids.push(idFromSendUrlKey(key));
        if (ids.length === GET_MANY_CHUNK) {
          yield* await this.rowsOf(ids);
          ids = [];
        }
      }
      yield* await this.rowsOf(ids);
    } catch (err) {
      throw this.level.translate(err, 'read');
    }
  }

  async sweep(olderThan: Date): Promise<SweepResult> {
    const result = await sweepStore(this.level, olderThan);
    // What was swept must stop resolving, cached or not.
    this.cachedRows.clear();
    this.cachedMessages.clear();
    return result;
  }

  stats(): StoreStats {
    const group = this.level.groupStats;
    return {
      batches: group.groups,
      writeCalls: group.calls,
      largestGroup: group.largestGroup,
      pendingCalls: this.level.pendingWrites,
      ...this.writer.counts,
      readCache: { rows: this.cachedRows.stats(), messages: this.cachedMessages.stats() },
      suppressionCache: { hits: this.suppressionCache.hits, misses: this.suppressionCache.misses, entries: this.suppressionCache.size },
    };
  }

  /** Encodes on the caller's turn (so a bad record fails only its own call), then joins a group. */
  private submit(prepare: () => WriteItem): Promise<void> {
    if (!this.level.isOpen) return Promise.reject(storeErrors(this.dir).closed());
    let item: WriteItem;
    try {
      item = prepare();
    } catch (err) {
      return Promise.reject(invalidError(err));
    }
    return this.level.submit(item);
  }

  private peekCache<T>(cache: ReadCache<T>, id: RecordId): T | undefined {
    return this.level.isOpen ? cache.peekId(id) : undefined;
  }

  /** A record from the cache, or read from LevelDB and cached when found. */
  private readThroughCache<T>(
    cache: ReadCache<T>,
    id: RecordId,
    keyOf: (id: Buffer) => Buffer,
    decode: (id: Buffer, value: Buffer) => T,
  ): Promise<T | undefined> {
    if (!this.level.isOpen) return Promise.reject(storeErrors(this.dir).closed());
    return cache.readId(id, async (bytes) => {
      const value = await this.level.read((db) => db.get(keyOf(bytes)));
      return value === undefined ? undefined : decode(bytes, value);
    });
  }

  private async rowsOf(ids: Buffer[]): Promise<StoredUrlRow[]> {
    if (ids.length === 0) return [];
    const values = await this.level.db.getMany(ids.map(urlRowKey));
    const rows: StoredUrlRow[] = [];
    values.forEach((value, i) => {
      if (value !== undefined) rows.push(decodeUrlRow(ids[i]!, value));
    });
    return rows;
  }

  private async checkLayoutVersion(db: ClassicLevel<Buffer, Buffer>): Promise<void> {
    const stored = (await db.get(VERSION_KEY))?.toString();
    if (stored === LAYOUT_VERSION) return;
    if (stored !== undefined && !READABLE_LAYOUT_VERSIONS.includes(stored)) {
      throw new CodedError(
        StoreErrorCode.VERSION,
        `store directory ${this.dir} has layout version ${stored}; this trackmilter reads versions ${READABLE_LAYOUT_VERSIONS.join(' and ')}`,
      );
    }
    // An older layout is read as it is; the new number keeps an older trackmilter from missing what we add.
    await db.put(VERSION_KEY, Buffer.from(LAYOUT_VERSION), { sync: true });
  }

  private async readEverything(db: ClassicLevel<Buffer, Buffer>): Promise<void> {
    try {
      for await (const _entry of db.iterator({ fillCache: false })) {
        // reading is the check
      }
    } catch (err) {
      throw this.level.translate(err, 'read');
    }
  }
}

/** An event with its later verdict, when it has one ('' means a person). */
function applyVerdict(event: TrackEvent, verdicts: Map<string, string>): void {
  const verdict = verdicts.get(encodeTimeMs(event.time.getTime()).toString('latin1') + idBytes(event.id).toString('latin1'));
  if (verdict === undefined) return;
  event.machine = verdict !== '';
  if (verdict === '') delete event.machineReason;
  else event.machineReason = verdict;
}
