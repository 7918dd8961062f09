/**
 * Records kept by the tracking store and the interface every store implements.
 *
 * Ids are opaque bytes chosen by the caller: URL row ids are a keyed hash of the row's content (computed
 * in src/tokens, so rewriting never needs a database read), message ids likewise, event ids are random.
 * Bytes rather than strings because they go into keys and tokens as they are, with no text encoding.
 */

import type { Suppression, SuppressionChange } from './suppressions.js';
import type { SendAggregates } from './send-aggregates.js';

/** What readers of a store's aggregates use (LevelDB keeps them running; PostgreSQL computes them). */
export type AggregateReader = Pick<SendAggregates, 'totals' | 'allTotals' | 'links' | 'positions' | 'buckets' | 'keepHtml' | 'hasHtml' | 'html'>;

/** An opaque record id of 1 to 64 bytes (8 to 16 in practice). */
export type RecordId = Uint8Array;

/** One distinct link of a send, as GreenArrow's clickthrough_urls: the URL is cut at `?`. */
export interface UrlRow {
  id: RecordId;
  sendId: string;
  listId: string;
  /** The URL up to (not including) `?`; the empty string is the row that opens are counted against. */
  url: string;
  /** `data-msys-linkname`, or the empty string. */
  linkName: string;
}

/** A stored URL row with the time it was last written (retention counts from it). */
export interface StoredUrlRow extends UrlRow {
  /** The time of the message that last (re)wrote the row. */
  time: Date;
}

/** One message as the milter saw it. */
export interface MessageRecord {
  id: RecordId;
  /** Envelope recipients; the per-link email is only meaningful when there is exactly one. */
  recipients: string[];
  emailCode: string;
  sendId: string;
  listId: string;
  queueId: string;
  time: Date;
}

export const EVENT_TYPES = ['click', 'open', 'bounce', 'complaint', 'unsubscribe'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Which part a link was in: `h` html, `t` text, the empty string when not applicable (bounces). */
export type EventPart = 'h' | 't' | '';

export interface TrackEvent {
  id: RecordId;
  time: Date;
  type: EventType;
  sendId: string;
  listId: string;
  recipient: string;
  emailCode: string;
  url: string;
  linkName: string;
  /** Ordinal position of the link in its part; 0 when not applicable. */
  position: number;
  part: EventPart;
  ip: string;
  userAgent: string;
  /** A scanner, prefetcher, privacy proxy or HEAD request rather than a person. */
  machine: boolean;
  machineReason?: string;
  /** What only some event types have, e.g. a bounce's status, classification and diagnostic. */
  details?: Record<string, string>;
}

export interface EventQuery {
  /** Inclusive lower bound on event time. */
  since?: Date;
  /** Exclusive upper bound on event time. */
  until?: Date;
  limit?: number;
}

export interface SweepResult {
  events: number;
  urlRows: number;
  messages: number;
}

/** Counters since open; cheap, synchronous, for metrics and tests. */
export interface StoreStats {
  /** LevelDB batches written by the group committer (one per merged group of calls). */
  batches: number;
  /** Calls to recordMessage/recordEvents that have been written. */
  writeCalls: number;
  messages: number;
  events: number;
  urlRowsWritten: number;
  /** URL rows not written because this process wrote the same id recently. */
  urlRowsSkipped: number;
  /** The most calls merged into one batch. */
  largestGroup: number;
  /** Calls waiting for, or inside, a batch not yet written. */
  pendingCalls: number;
  /** The read caches in front of getUrlRow and getMessage (`store.read_cache_entries`). */
  readCache: { rows: ReadCacheStats; messages: ReadCacheStats };
  /** The cache of suppression lookups (found and absent), in front of the milter's per-message check. */
  suppressionCache: ReadCacheStats;
}

export interface ReadCacheStats {
  /** Reads answered from the cache. */
  hits: number;
  /** Reads that went to LevelDB (found there or not). */
  misses: number;
  /** Records held now. */
  entries: number;
}

/** Whether the store's database is usable now (PostgreSQL; LevelDB has no such state). */
export interface StoreHealth {
  available: boolean;
  /** Since when unavailable, ms since the epoch. */
  downSince?: number;
  /** Calls that failed since open, by error code. */
  errors: Record<string, number>;
  /** The local outbox of events waiting for the database, when there is one. */
  outbox?: StoreOutboxStats;
}

export interface StoreOutboxStats {
  /** Entries (events, verdict changes) waiting to be written to the database. */
  waiting: number;
  /** When the oldest waiting entry was appended, ms since the epoch. */
  oldestAt?: number;
  /** At one of its limits: appends are refused. */
  full: boolean;
  /** Entries written to the database since open. */
  written: number;
  /** Entries the database refused, set aside since open. */
  rejected: number;
  /** Entries set aside in all (kept on disk across restarts). */
  setAside: number;
  /** Appends refused because the outbox was at a limit, since open. */
  refused: number;
}

/**
 * The tracking store. Few methods; every failure is a CodedError with an ESTORE_* code
 * (see ./errors.ts) and the LevelDB error as its cause.
 */
export interface TrackStore {
  open(): Promise<void>;
  /** Writes everything already handed in, then closes. */
  close(): Promise<void>;
  /**
   * Records a message and its URL rows in one batch. Rows whose id this process wrote recently are
   * not written again. Resolves once the batch holding them is written (readable, and durable to the
   * degree the `sync` option gives).
   */
  recordMessage(message: MessageRecord, urlRows: readonly UrlRow[]): Promise<void>;
  recordEvents(events: readonly TrackEvent[]): Promise<void>;
  /**
   * Later verdicts of recorded events (the same id, time and sendId, with machine and machineReason as
   * they are now): eventsBySendId returns them with these. Recording one for an event not on record
   * is harmless (nothing reads it).
   */
  recordVerdicts(events: readonly TrackEvent[]): Promise<void>;
  getUrlRow(id: RecordId): Promise<StoredUrlRow | undefined>;
  getMessage(id: RecordId): Promise<MessageRecord | undefined>;
  /**
   * The row or message if the read cache holds it, synchronously: a click on a link of a send already
   * being clicked is answered without a promise. Undefined when not cached (or not open): then read it
   * with getUrlRow / getMessage.
   */
  peekUrlRow(id: RecordId): StoredUrlRow | undefined;
  peekMessage(id: RecordId): MessageRecord | undefined;
  /** Events of one send in time order (ties by id). */
  eventsBySendId(sendId: string, query?: EventQuery): AsyncIterable<TrackEvent>;
  /** How many messages of a send are on record. */
  countMessages(sendId: string): Promise<number>;
  urlRowsBySendId(sendId: string): AsyncIterable<StoredUrlRow>;
  /** Removes events, URL rows and messages whose time is before `olderThan`. */
  sweep(olderThan: Date): Promise<SweepResult>;
  stats(): StoreStats;
  /** Running totals per send and time bucket, and the send's HTML for the click map. */
  readonly aggregates: AggregateReader;
  /**
   * Suppressions (./suppressions.ts). An unsubscribe event with a ListID and a recipient, recorded
   * through recordEvents, adds one in the same batch; these add and remove them directly.
   */
  changeSuppressions(changes: readonly SuppressionChange[]): Promise<void>;
  /** The addresses (as given) suppressed from the list; cached, so cheap per message. */
  suppressedAmong(listId: string, addresses: readonly string[]): Promise<Set<string>>;
  suppressions(listId?: string): AsyncIterable<Suppression>;
  /** Whether the database is usable now and what failed (stores on a server: PostgreSQL). */
  health?(): StoreHealth;
}
