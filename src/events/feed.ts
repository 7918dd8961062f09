/**
 * The event feed: a durable, ordered outbox of recorded events, read by each sink from its own cursor.
 *
 * It is a LevelDB of its own (a directory such as <data>/outbox), not part of the tracking store, so sinks
 * can be added or removed without touching the store's layout. Keys: ./feed-keys.ts.
 *
 * Guarantees:
 * - append() resolves once its events are written as one atomic LevelDB batch (group commit: appends
 *   made while a batch is being written share the next one). Sequence numbers are assigned at write time,
 *   so feed order is write order, contiguous and never reused.
 * - A sink delivers entries after its cursor, then advance()s the cursor in a batch of its own. SIGKILL
 *   between a delivery and its advance means the entries are delivered again after restart: a
 *   redelivery, never a loss. Receivers drop duplicates by the event id (a follow-up marked
 *   `reclassified` carries an earlier id on purpose: see ./event-json.ts).
 * - Entries are deleted once every attached sink's cursor has passed them. A sink attached for the
 *   first time starts at the oldest entry still kept; a sink no longer attached holds nothing back.
 * - With `sync: false` (default) an acknowledged write survives a crash or SIGKILL of the process (it is
 *   in the OS page cache); `sync: true` fsyncs every batch so it survives power loss too.
 *
 * The daemon appends every event it records in the tracking store and acknowledges (for a click, sends
 * the redirect) only after both writes resolve: `await Promise.all([store.recordEvents(e), feed.append(e)])`.
 */
import { LevelDatabase, type LevelErrors, type LevelPut } from '../level/database.js';
import { CodedError, errorMessage } from '../util/errors.js';
import { EventsErrorCode, eventsError } from './errors.js';
import { toEventJson, type EventJson, type SinkEvent } from './event-json.js';
import { cursorKey, deadLetterKey, deadLetterRange, decodeSeq, encodeSeq, entryKey, entryRange, lastSeqKey, seqOfEntryKey, SINK_NAME } from './feed-keys.js';

export interface EventFeedOptions {
  /** fsync every batch (see the top of this file). Default false. */
  sync?: boolean;
  /** Most append() calls merged into one batch. Default 1,000. */
  maxGroupSize?: number;
}

export interface FeedEntry {
  seq: number;
  /** When the entry was written to the feed, ms since the epoch (dead-letter ages count from it). */
  appendedAt: number;
  event: EventJson;
}

export interface DeadLetter extends FeedEntry {
  /** When delivery gave up, ms since the epoch. */
  deadAt: number;
  attempts: number;
  reason: string;
}

export interface FeedStats {
  /** The highest sequence number written. */
  lastSeq: number;
  /** Events and batches appended since open. */
  appendedEvents: number;
  appendBatches: number;
  /** Entries kept because some attached sink has not delivered them. */
  retained: number;
}

interface StoredEntry {
  a: number;
  e: EventJson;
}

type Waiter = () => void;

export class EventFeed {
  private readonly level: LevelDatabase<string[]>;
  private last = 0;
  private readonly cursors = new Map<string, number>();
  private attached: ReadonlySet<string> = new Set();
  /** Entries up to here are deleted (or being deleted). */
  private trimmedThrough = 0;
  private waiters = new Set<Waiter>();
  private readonly counts = { appendedEvents: 0, appendBatches: 0 };

  constructor(
    readonly dir: string,
    options: EventFeedOptions = {},
  ) {
    this.level = new LevelDatabase(dir, {
      errors: feedErrors(dir),
      writeGroup: (items) => this.writeGroup(items),
      ...(options.sync !== undefined ? { sync: options.sync } : {}),
      ...(options.maxGroupSize !== undefined ? { maxGroupSize: options.maxGroupSize } : {}),
    });
  }

  /** Opens after the damage preflight: recovering a damaged log, LevelDB would drop queued events silently. */
  async open(): Promise<void> {
    await this.level.open(async (db) => {
      const last = await db.get(lastSeqKey());
      this.last = last === undefined ? 0 : decodeSeq(last);
      for await (const [key, value] of db.iterator({ gte: cursorKey(''), lt: Buffer.from('c"') })) {
        this.cursors.set(key.subarray(2).toString(), decodeSeq(value));
      }
    });
  }

  /** Writes everything already appended, then closes. Stop the sinks first. */
  async close(): Promise<void> {
    await this.level.close();
    this.wakeAll();
  }

  /** Resolves once the events are written, in this order, after every event appended before. */
  append(events: readonly SinkEvent[]): Promise<void> {
    if (!this.level.isOpen) return Promise.reject(this.closedError());
    let values: string[];
    try {
      // Encoded on the caller's turn so a bad event fails its own call, not its whole group.
      values = events.map((event) => JSON.stringify(toEventJson(event)));
    } catch (err) {
      return Promise.reject(err instanceof CodedError ? err : eventsError(EventsErrorCode.INVALID, errorMessage(err), err));
    }
    if (values.length === 0) return Promise.resolve();
    return this.level.submit(values);
  }

  /**
   * Declares the sinks that read this feed. Entries are trimmed only past all their cursors, so call it
   * once, with every configured sink, before any of them advances.
   */
  attachSinks(names: readonly string[]): void {
    for (const name of names) {
      if (!SINK_NAME.test(name)) throw eventsError(EventsErrorCode.INVALID, `bad sink name ${JSON.stringify(name)}: use 1 to 100 of A-Z a-z 0-9 _ . : -`);
    }
    if (new Set(names).size !== names.length) throw eventsError(EventsErrorCode.INVALID, 'sink names must be unique');
    this.attached = new Set(names);
  }

  /** The last sequence number a sink has delivered (0: none). */
  cursor(sink: string): number {
    return this.cursors.get(sink) ?? 0;
  }

  get lastSeq(): number {
    return this.last;
  }

  /** Up to `limit` entries with sequence numbers after `after`, in order. */
  async read(after: number, limit: number): Promise<FeedEntry[]> {
    const rows = await this.level.read((db) => db.iterator({ ...entryRange(after), limit }).all());
    return rows.map(([key, value]) => decodeEntry(seqOfEntryKey(key), value));
  }

  /**
   * Moves a sink's cursor to `through`, storing `deadLetters` (entries it gave up on) in the same atomic
   * batch, then deletes entries every attached sink has passed.
   */
  async advance(sink: string, through: number, deadLetters: readonly DeadLetter[] = []): Promise<void> {
    this.checkOpen();
    if (through <= this.cursor(sink)) return;
    const ops: LevelPut[] = [{ type: 'put', key: cursorKey(sink), value: encodeSeq(through) }];
    for (const letter of deadLetters) {
      const { seq, ...rest } = letter;
      ops.push({ type: 'put', key: deadLetterKey(sink, seq), value: Buffer.from(JSON.stringify({ ...rest, seq })) });
    }
    try {
      await this.level.writeBatch(ops);
    } catch (err) {
      throw this.ioError('advance a cursor in', err);
    }
    this.cursors.set(sink, through);
    await this.trim();
  }

  /** The entries a sink gave up on, oldest first. */
  async *deadLetters(sink: string): AsyncIterable<DeadLetter> {
    for await (const value of this.level.db.values(deadLetterRange(sink))) {
      yield JSON.parse(value.toString()) as DeadLetter;
    }
  }

  /**
   * Resolves when an entry after `after` exists, `timeoutMs` passes, `signal` aborts or the feed closes,
   * whichever comes first. Never rejects: the caller looks again.
   */
  waitForEntries(after: number, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
    if (this.last > after || !this.level.isOpen || options.signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        this.waiters.delete(check);
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', done);
        resolve();
      };
      const check = (): void => {
        if (this.last > after || !this.level.isOpen) done();
      };
      this.waiters.add(check);
      if (options.timeoutMs !== undefined) timer = setTimeout(done, options.timeoutMs);
      options.signal?.addEventListener('abort', done, { once: true });
    });
  }

  stats(): FeedStats {
    return { lastSeq: this.last, ...this.counts, retained: this.last - this.oldestCursor() };
  }

  private async writeGroup(groups: string[][]): Promise<void> {
    const appendedAt = Date.now();
    const ops: LevelPut[] = [];
    let seq = this.last;
    for (const values of groups) {
      for (const json of values) {
        seq += 1;
        ops.push({ type: 'put', key: entryKey(seq), value: Buffer.from(`{"a":${appendedAt},"e":${json}}`) });
      }
    }
    ops.push({ type: 'put', key: lastSeqKey(), value: encodeSeq(seq) });
    try {
      await this.level.writeBatch(ops);
    } catch (err) {
      throw this.ioError('append to', err);
    }
    this.counts.appendedEvents += seq - this.last;
    this.counts.appendBatches += 1;
    this.last = seq;
    this.wakeAll();
  }

  /**
   * Deletes entries every attached sink has delivered. Not atomic with the cursor write: a crash in
   * between leaves entries behind, which the next trim of a later open removes.
   */
  private async trim(): Promise<void> {
    if (this.attached.size === 0) return;
    const through = this.oldestCursor();
    if (through <= this.trimmedThrough) return;
    const from = this.trimmedThrough;
    this.trimmedThrough = through;
    try {
      await this.level.db.clear(entryRange(from, through));
    } catch (err) {
      throw this.ioError('trim', err);
    }
  }

  /** The cursor furthest behind among the attached sinks (0 when none is attached). */
  private oldestCursor(): number {
    if (this.attached.size === 0) return 0;
    return Math.min(...[...this.attached].map((name) => this.cursor(name)));
  }

  private wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }

  private checkOpen(): void {
    if (!this.level.isOpen) throw this.closedError();
  }

  private closedError(): CodedError {
    return feedErrors(this.dir).closed();
  }

  private ioError(doing: string, err: unknown): CodedError {
    return this.level.translate(err, doing);
  }
}

/** The outbox's failures in the events module's codes. */
function feedErrors(dir: string): LevelErrors {
  return {
    locked: (cause) => eventsError(EventsErrorCode.FEED_IO, `cannot open event feed ${dir} (locked: is another trackmilter running on it?)`, cause),
    corrupt: (detail, cause) => corruptFeedError(dir, detail, cause),
    closed: (cause) => eventsError(EventsErrorCode.CLOSED, `event feed ${dir} is not open`, cause),
    invalid: (cause) => eventsError(EventsErrorCode.INVALID, `event feed ${dir}: ${errorMessage(cause)}`, cause),
    io: (doing, detail, cause) => eventsError(EventsErrorCode.FEED_IO, `cannot ${doing} event feed ${dir}: ${detail}`, cause),
  };
}

function decodeEntry(seq: number, value: Buffer): FeedEntry {
  const stored = JSON.parse(value.toString()) as StoredEntry;
  return { seq, appendedAt: stored.a, event: stored.e };
}

function corruptFeedError(dir: string, detail: string, cause?: unknown): CodedError {
  return eventsError(
    EventsErrorCode.FEED_CORRUPT,
    `event outbox ${dir} is damaged: ${detail}. It was not changed. Its events are in the store (reports show them) ` +
      'but some may not have reached the sinks yet: restore the directory from a backup, or move it aside to start ' +
      'with an empty outbox (what it held is then not delivered).',
    cause,
  );
}
