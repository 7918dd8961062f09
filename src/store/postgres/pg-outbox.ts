/**
 * The local durable outbox of events (and later verdicts) recorded while PostgreSQL is unavailable: a
 * LevelDB of its own under data.dir, written with group commit (../../level/database.ts), so a click is
 * acknowledged (redirected) only once its event is on this host's disk. When PostgreSQL is back, the
 * entries are written to it in the order they came, in batches, each batch deleted once committed.
 *
 * - Nothing acknowledged is lost: an entry is deleted only after the transaction holding it committed;
 *   a crash in between writes it again after restart (events are inserted ON CONFLICT DO NOTHING by id).
 * - A record PostgreSQL refuses for another reason than being unavailable (a data error, a missing
 *   table) does not block the rest: its batch is retried one entry at a time, and the entry refused is
 *   set aside under its own keys (kept, logged with ESTORE_OUTBOX_REJECTED, counted).
 * - Limits: at `maxEvents` waiting, or when the oldest waiting is older than `maxAgeMs`, appends are
 *   refused (ESTORE_OUTBOX_FULL), logged once each time the outbox fills.
 *
 * Keys: `e` + sequence (8 bytes, big-endian) for waiting entries, `x` + sequence for those set aside,
 * `n` for the last sequence given. Waiting entries are contiguous: only the oldest are ever removed.
 */
import { LevelDatabase, type LevelErrors, type LevelOperation } from '../../level/database.js';
import { CodedError, errorCode, errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { StoreErrorCode } from '../errors.js';
import type { StoreOutboxStats, TrackEvent } from '../types.js';
import { isUnavailable } from './pg-errors.js';
import type { PgWriteItem } from './pg-writer.js';

export type OutboxKind = 'events' | 'verdicts';
type CheckedEvent = TrackEvent & { id: Buffer };

export interface PgOutboxOptions {
  /** Writes a group to PostgreSQL as one transaction (PgTrackStore.writeItems). */
  write: (items: PgWriteItem[]) => Promise<void>;
  /** Resolves when PostgreSQL is available again (at once when it is). */
  whenAvailable: () => Promise<void>;
  /** After a failure that left PostgreSQL marked available (a lock timeout), wait this long. Default 1,000 ms. */
  retryMs?: number;
  /** Refuse appends at this many waiting entries. Default 1,000,000. */
  maxEvents?: number;
  /** Refuse appends while the oldest waiting entry is older than this. Default 24 h. */
  maxAgeMs?: number;
  /** Entries written to PostgreSQL per transaction. Default 500. */
  batchSize?: number;
  /** fsync every LevelDB batch. Default false. */
  sync?: boolean;
  logger?: Logger;
}

interface StoredEntry {
  /** Appended at, ms since the epoch. */
  a: number;
  k: 'e' | 'v';
  ev: EncodedEvent;
}

type EncodedEvent = Omit<TrackEvent, 'id' | 'time'> & { id: string; time: number };

const WAITING = 0x65; // 'e'
const ASIDE = 0x78; // 'x'
const LAST_KEY = Buffer.from('n');

function seqKey(prefix: number, seq: number): Buffer {
  const key = Buffer.alloc(9);
  key[0] = prefix;
  key.writeBigUInt64BE(BigInt(seq), 1);
  return key;
}

function seqOf(key: Buffer): number {
  return Number(key.readBigUInt64BE(1));
}

function range(prefix: number): { gte: Buffer; lt: Buffer } {
  return { gte: Buffer.from([prefix]), lt: Buffer.from([prefix + 1]) };
}

export class PgOutbox {
  private readonly level: LevelDatabase<Buffer[]>;
  private last = 0;
  /** The sequence of the oldest waiting entry (last + 1 when none waits). */
  private head = 1;
  private oldestAt: number | undefined;
  private readonly counts = { written: 0, rejected: 0, setAside: 0, refused: 0 };
  private full = false;
  private stopped = false;
  private draining: Promise<void> | undefined;
  /** Wakes the drain loop waiting for entries. */
  private wake: (() => void) | undefined;
  /** Ends a pause early (on close only). */
  private endPause: (() => void) | undefined;
  private readonly maxEvents: number;
  private readonly maxAgeMs: number;
  private readonly batchSize: number;
  private readonly retryMs: number;

  constructor(
    readonly dir: string,
    private readonly options: PgOutboxOptions,
  ) {
    this.maxEvents = options.maxEvents ?? 1_000_000;
    this.maxAgeMs = options.maxAgeMs ?? 86_400_000;
    this.batchSize = options.batchSize ?? 500;
    this.retryMs = options.retryMs ?? 1000;
    this.level = new LevelDatabase(dir, {
      errors: outboxErrors(dir),
      writeGroup: (groups) => this.writeGroup(groups),
      ...(options.sync !== undefined ? { sync: options.sync } : {}),
    });
  }

  /** Opens (after the damage preflight) and finds what waits from before a restart. */
  async open(): Promise<void> {
    await this.level.open(async (db) => {
      const last = await db.get(LAST_KEY);
      this.last = last === undefined ? 0 : Number(last.readBigUInt64BE(0));
      const first = await db.iterator({ ...range(WAITING), limit: 1 }).all();
      this.head = first[0] ? seqOf(first[0][0]) : this.last + 1;
      if (first[0]) this.oldestAt = (JSON.parse(first[0][1].toString()) as StoredEntry).a;
      this.counts.setAside = (await db.keys(range(ASIDE)).all()).length;
    });
  }

  /** Starts writing what waits to PostgreSQL, now and whenever more comes. */
  start(): void {
    if (!this.draining) this.draining = this.drainLoop();
  }

  /** Stops writing (what waits stays for the next start), then closes. */
  async close(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.endPause?.();
    await this.draining;
    await this.level.close();
  }

  get waiting(): number {
    return this.last + 1 - this.head;
  }

  /** Waiting entries and appends not yet on disk: while any, new events queue behind them. */
  get holding(): number {
    return this.waiting + this.level.pendingWrites;
  }

  stats(): StoreOutboxStats {
    return { waiting: this.waiting, ...(this.oldestAt === undefined ? {} : { oldestAt: this.oldestAt }), full: this.limitReached(1) !== null, ...this.counts };
  }

  /** Resolves once the events are on disk, after everything appended before; rejects at a limit. */
  append(kind: OutboxKind, events: readonly CheckedEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const refusal = this.limitReached(events.length);
    if (refusal) {
      this.counts.refused += events.length;
      if (!this.full) {
        this.full = true;
        this.options.logger?.error({ code: refusal.code, err: refusal.message, waiting: this.waiting }, 'store outbox full: events not recorded');
      }
      return Promise.reject(refusal);
    }
    if (this.full) {
      this.full = false;
      this.options.logger?.info({ waiting: this.waiting }, 'store outbox accepting events again');
    }
    const now = Date.now();
    const k = kind === 'events' ? 'e' : 'v';
    return this.level.submit(events.map((event) => Buffer.from(JSON.stringify({ a: now, k, ev: encodeEvent(event) } satisfies StoredEntry))));
  }

  private limitReached(adding: number): CodedError | null {
    if (this.waiting + adding > this.maxEvents) {
      return new CodedError(
        StoreErrorCode.OUTBOX_FULL,
        `store outbox ${this.dir} holds ${this.waiting} events, its limit (store.outbox_max_events) is ${this.maxEvents}`,
      );
    }
    if (this.oldestAt !== undefined && Date.now() - this.oldestAt > this.maxAgeMs) {
      const hours = ((Date.now() - this.oldestAt) / 3_600_000).toFixed(1);
      return new CodedError(
        StoreErrorCode.OUTBOX_FULL,
        `store outbox ${this.dir}: its oldest event has waited ${hours} h for PostgreSQL, over store.outbox_max_age_hours`,
      );
    }
    return null;
  }

  private async writeGroup(groups: Buffer[][]): Promise<void> {
    const ops: LevelOperation[] = [];
    let seq = this.last;
    for (const values of groups) for (const value of values) ops.push({ type: 'put', key: seqKey(WAITING, ++seq), value });
    const lastValue = Buffer.alloc(8);
    lastValue.writeBigUInt64BE(BigInt(seq));
    ops.push({ type: 'put', key: LAST_KEY, value: lastValue });
    await this.level.writeBatch(ops);
    if (this.waiting === 0) this.oldestAt = Date.now();
    this.last = seq;
    this.wake?.();
  }

  private async drainLoop(): Promise<void> {
    while (!this.stopped) {
      if (this.waiting === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      await this.options.whenAvailable();
      if (this.stopped) return;
      try {
        await this.drainBatch();
      } catch (err) {
        // Our own disk failing (or the store closing): logged, tried again later.
        if (this.stopped) return;
        this.options.logger?.error({ code: errorCode(err), err: errorMessage(err) }, 'store outbox: cannot read or trim; retrying');
        await this.pause();
      }
    }
  }

  /** Writes the oldest waiting entries; on a refusal, one at a time, setting aside what PostgreSQL refuses. */
  private async drainBatch(): Promise<void> {
    const entries = await this.read(this.batchSize);
    if (entries.length === 0) return;
    try {
      await this.options.write(toItems(entries));
      await this.remove(entries, []);
      return;
    } catch (err) {
      if (await this.retryLater(err)) return;
    }
    for (const entry of entries) {
      if (this.stopped) return;
      try {
        await this.options.write(toItems([entry]));
        await this.remove([entry], []);
      } catch (err) {
        if (await this.retryLater(err)) return;
        await this.remove([entry], [{ entry, err }]);
      }
    }
  }

  /** True (after waiting) when the failure means "not now" rather than "not this record". */
  private async retryLater(err: unknown): Promise<boolean> {
    if (this.stopped || errorCode(err) === StoreErrorCode.CLOSED) return true;
    if (!isUnavailable(err)) return false;
    await this.pause();
    return true;
  }

  private async pause(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.retryMs);
      this.endPause = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.endPause = undefined;
  }

  private async read(limit: number): Promise<Array<{ seq: number; stored: StoredEntry; raw: Buffer }>> {
    const rows = await this.level.read((db) => db.iterator({ gte: seqKey(WAITING, this.head), lt: range(WAITING).lt, limit }).all());
    return rows.map(([key, raw]) => ({ seq: seqOf(key), stored: JSON.parse(raw.toString()) as StoredEntry, raw }));
  }

  /** Deletes written entries (and moves refused ones aside) in one batch; they are always the oldest. */
  private async remove(
    entries: Array<{ seq: number; stored: StoredEntry; raw: Buffer }>,
    refused: Array<{ entry: { seq: number; stored: StoredEntry; raw: Buffer }; err: unknown }>,
  ): Promise<void> {
    const ops: LevelOperation[] = entries.map((e) => ({ type: 'del', key: seqKey(WAITING, e.seq) }));
    for (const { entry, err } of refused) {
      const value = Buffer.from(JSON.stringify({ ...entry.stored, rejectedAt: Date.now(), code: errorCode(err), reason: errorMessage(err) }));
      ops.push({ type: 'put', key: seqKey(ASIDE, entry.seq), value });
    }
    await this.level.writeBatch(ops);
    this.head = entries[entries.length - 1]!.seq + 1;
    if (refused.length === 0) this.counts.written += entries.length;
    for (const { entry, err } of refused) {
      this.counts.rejected += 1;
      this.counts.setAside += 1;
      const ev = entry.stored.ev;
      this.options.logger?.error(
        {
          code: StoreErrorCode.OUTBOX_REJECTED,
          cause: errorCode(err),
          err: errorMessage(err),
          seq: entry.seq,
          type: ev.type,
          sendId: ev.sendId,
          eventId: ev.id,
        },
        'PostgreSQL refused an event from the outbox: set aside',
      );
    }
    await this.refreshOldest();
  }

  private async refreshOldest(): Promise<void> {
    if (this.waiting === 0) {
      this.oldestAt = undefined;
      return;
    }
    const next = await this.read(1);
    this.oldestAt = next[0]?.stored.a;
  }
}

/** Entries in order as writer items: runs of events and of verdicts, a later verdict of one event winning. */
function toItems(entries: Array<{ stored: StoredEntry }>): PgWriteItem[] {
  const events: CheckedEvent[] = [];
  const verdicts = new Map<string, CheckedEvent>();
  for (const { stored } of entries) {
    const event = decodeEvent(stored.ev);
    if (stored.k === 'e') events.push(event);
    else {
      verdicts.delete(stored.ev.id);
      verdicts.set(stored.ev.id, event);
    }
  }
  // The writer inserts events before it updates verdicts, within the one transaction.
  const items: PgWriteItem[] = [];
  if (events.length > 0) items.push({ kind: 'events', events });
  if (verdicts.size > 0) items.push({ kind: 'verdicts', events: [...verdicts.values()] });
  return items;
}

function encodeEvent(e: CheckedEvent): EncodedEvent {
  return {
    id: e.id.toString('hex'),
    time: e.time.getTime(),
    type: e.type,
    sendId: e.sendId,
    listId: e.listId,
    recipient: e.recipient,
    emailCode: e.emailCode,
    url: e.url,
    linkName: e.linkName,
    position: e.position,
    part: e.part,
    ip: e.ip,
    userAgent: e.userAgent,
    machine: e.machine,
    ...(e.machineReason === undefined ? {} : { machineReason: e.machineReason }),
    ...(e.details === undefined ? {} : { details: e.details }),
  };
}

function decodeEvent(e: EncodedEvent): CheckedEvent {
  return { ...e, id: Buffer.from(e.id, 'hex'), time: new Date(e.time) };
}

function outboxErrors(dir: string): LevelErrors {
  const io = (message: string, cause?: unknown): CodedError => new CodedError(StoreErrorCode.OUTBOX_IO, message, cause === undefined ? undefined : { cause });
  return {
    locked: (cause) => io(`store outbox ${dir} is locked by another process (is another trackmilter running on this data.dir?)`, cause),
    corrupt: (detail, cause) =>
      io(`store outbox ${dir} is damaged: ${detail}. It was not changed; move it aside to start with an empty one (what it held is then not written)`, cause),
    closed: (cause) => new CodedError(StoreErrorCode.CLOSED, `store outbox ${dir} is not open`, cause === undefined ? undefined : { cause }),
    invalid: (cause) => io(`store outbox ${dir}: ${errorMessage(cause)}`, cause),
    io: (doing, detail, cause) => io(`cannot ${doing} store outbox ${dir}: ${detail}`, cause),
  };
}
