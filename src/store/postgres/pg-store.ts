/**
 * The tracking store on PostgreSQL, for a fleet: any number of trackmilter processes on any number of
 * hosts share one database, so a link minted on one host resolves on another and reports count every
 * host's events. Same contract as the LevelDB store (../types.ts), same read caches, same group commit
 * (../../level/group-commit.ts): one transaction per group of concurrent calls, each caller released
 * when the transaction holding its records has committed.
 *
 * Schema and migrations: ./migrations.ts; writes: ./pg-writer.ts; records and their checks: ./records.ts.
 * Caches: URL rows and messages never change content once written (their ids hash their content), so
 * caching them is safe across hosts. Suppressions are not cached: another host may add one at any time,
 * and a cached absence would keep mailing someone who unsubscribed there.
 */
import type { Pool, PoolClient, QueryConfig } from 'pg';
import { GroupCommitter } from '../../level/group-commit.js';
import { CodedError, errorCode, errorMessage } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { invalidError, StoreErrorCode } from '../errors.js';
import { checkTimeMs } from '../keys.js';
import { ReadCache } from '../read-cache.js';
import { RecentRows } from '../recent-rows.js';
import { normalizeAddress, type Suppression, type SuppressionChange } from '../suppressions.js';
import type { EventQuery, MessageRecord, RecordId, StoredUrlRow, StoreHealth, StoreStats, SweepResult, TrackEvent, TrackStore, UrlRow } from '../types.js';
import { PgAggregates } from './pg-aggregates.js';
import { migrate, SWEEP_LOCK, TRACKMILTER_LOCK } from './migrations.js';
import { PgAvailability } from './pg-availability.js';
import { describeDatabase, isUnavailable, translatePgError } from './pg-errors.js';
import { PgOutbox, type OutboxKind } from './pg-outbox.js';
import { createPool } from './pg-pool.js';
import { PgWriter, type PgWriteItem } from './pg-writer.js';
import {
  checkEvents,
  checkMessage,
  checkSuppressionChanges,
  EVENT_COLUMNS,
  eventFromRow,
  MESSAGE_COLUMNS,
  messageFromRow,
  suppressionFromRow,
  URL_ROW_COLUMNS,
  urlRowFromRow,
  type EventRow,
  type MessageRow,
  type SuppressionRow,
  type UrlRowRow,
} from './records.js';

export interface PgStoreOptions {
  /** A libpq connection URI; empty: libpq's environment variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD...). */
  url?: string;
  /** Most connections this process opens. Default 10. */
  poolSize?: number;
  /** Give up connecting after this long (ESTORE_UNAVAILABLE). Default 5,000 ms. */
  connectTimeoutMs?: number;
  /**
   * A statement of mail or click handling (reads of URL rows, messages and suppressions; writes) not
   * answered within this long fails with ESTORE_UNAVAILABLE and its connection is dropped. Reports and
   * the sweep are not bounded by it (a big send's report may take longer). Default 5,000 ms.
   */
  queryTimeoutMs?: number;
  /** While PostgreSQL is unavailable, calls fail at once and it is tried again this often. Default 1,000 ms. */
  retryMs?: number;
  /** Where dropped idle connections and availability changes are logged. Default: nowhere. */
  logger?: Logger;
  /**
   * A local outbox (a LevelDB directory) for the events and verdicts recorded while PostgreSQL is
   * unavailable: they are acknowledged once there and written when it is back (./pg-outbox.ts).
   * Without one, recording fails with ESTORE_UNAVAILABLE while it is down.
   */
  outbox?: { dir: string; maxEvents?: number; maxAgeMs?: number; sync?: boolean };
  /**
   * open() succeeds while PostgreSQL is unreachable: the store starts unavailable and the migrations
   * are applied by the first probe that reaches it. Other failures (ESTORE_VERSION...) still fail open().
   * Default false: open() fails with ESTORE_UNAVAILABLE.
   */
  startUnavailable?: boolean;
  /** As LevelStoreOptions (../level-store.ts). */
  recentRowCapacity?: number;
  rowRefreshMs?: number;
  maxGroupSize?: number;
  readCacheEntries?: number;
}

/** Rows read per query when a send's events or URL rows are walked. */
const PAGE_ROWS = 1000;
/** Rows deleted per statement by the sweep, so no statement holds locks for long. */
const SWEEP_CHUNK = 5000;

type State = 'new' | 'open' | 'closing' | 'closed';

/** A query config with pg's per-query client-side timeout (read by pg's Client.query, absent from its types). */
type TimedQuery = QueryConfig & { query_timeout?: number };

export class PgTrackStore implements TrackStore {
  private readonly pool: Pool;
  private readonly where: string;
  private readonly committer: GroupCommitter<PgWriteItem>;
  private readonly writer: PgWriter;
  private readonly recentRows: RecentRows;
  private readonly cachedRows: ReadCache<StoredUrlRow>;
  private readonly cachedMessages: ReadCache<MessageRecord>;
  private suppressionLookups = 0;
  private state: State = 'new';
  private readonly queryTimeoutMs: number;
  private readonly availability: PgAvailability;
  private readonly errorCounts = new Map<string, number>();
  private readonly outbox: PgOutbox | undefined;
  private readonly startUnavailable: boolean;
  private readonly logger: Logger | undefined;
  /** Whether this store has applied (or found) the migrations: not yet when opened while unreachable. */
  private migrated = false;
  private lastProbeFailure = '';
  /** Computed by the database from the events when read (./pg-aggregates.ts). */
  readonly aggregates: PgAggregates = new PgAggregates({ query: (text, values) => this.query(text, values) });

  constructor(options: PgStoreOptions = {}) {
    const url = options.url ?? '';
    this.where = describeDatabase(url);
    this.queryTimeoutMs = options.queryTimeoutMs ?? 5000;
    const logger = options.logger;
    this.logger = logger;
    this.startUnavailable = options.startUnavailable ?? false;
    const dropped = (what: string) => (err: Error) => logger?.warn({ code: errorCode(err), err: errorMessage(err), database: this.where }, what);
    this.pool = createPool(
      {
        ...(url === '' ? {} : { connectionString: url }),
        max: options.poolSize ?? 10,
        connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
        // Keepalive probes find a connection whose server vanished (a host down, a cable cut) without a FIN.
        keepAlive: true,
      },
      // A restart, an admin's pg_terminate_backend: logged; the pool and the callers recover (./pg-pool.ts).
      { idle: dropped('PostgreSQL dropped an idle connection'), inUse: dropped('PostgreSQL dropped a connection in use') },
    );
    this.availability = new PgAvailability(
      () => this.probe(),
      options.retryMs ?? 1000,
      (change) => {
        if (change.available) logger?.info({ database: this.where, downMs: change.downMs }, 'PostgreSQL available again');
        else logger?.error({ code: change.error?.code, err: change.error?.message, database: this.where }, 'PostgreSQL unavailable; retrying');
      },
    );
    this.cachedRows = new ReadCache(options.readCacheEntries ?? 100_000);
    this.cachedMessages = new ReadCache(options.readCacheEntries ?? 100_000);
    this.recentRows = new RecentRows(options.recentRowCapacity ?? 100_000, options.rowRefreshMs ?? 86_400_000);
    this.writer = new PgWriter(this.pool, this.recentRows, this.queryTimeoutMs, (ids) => {
      for (const id of ids) this.cachedRows.invalidate(id.toString('latin1'));
    });
    this.committer = new GroupCommitter<PgWriteItem>((items) => this.writeItems(items), options.maxGroupSize ?? 1000);
    if (options.outbox) {
      this.outbox = new PgOutbox(options.outbox.dir, {
        write: (items) => this.writeItems(items),
        whenAvailable: () => this.availability.whenAvailable(),
        retryMs: options.retryMs ?? 1000,
        ...(options.outbox.maxEvents !== undefined ? { maxEvents: options.outbox.maxEvents } : {}),
        ...(options.outbox.maxAgeMs !== undefined ? { maxAgeMs: options.outbox.maxAgeMs } : {}),
        ...(options.outbox.sync !== undefined ? { sync: options.outbox.sync } : {}),
        ...(logger ? { logger } : {}),
      });
    }
  }

  async open(): Promise<void> {
    if (this.state !== 'new') throw new CodedError(StoreErrorCode.CLOSED, `store ${this.where} cannot be opened again`);
    try {
      await this.migrateOnce();
    } catch (err) {
      const coded = translatePgError(err, this.where, 'open');
      if (!this.startUnavailable || coded.code !== StoreErrorCode.UNAVAILABLE) {
        await this.pool.end().catch(() => undefined);
        this.state = 'closed';
        throw coded;
      }
      // Open without it: every call fails at once (events go to the outbox) until the probe has
      // connected and applied the migrations.
      this.counted(coded);
      this.availability.failed(coded);
    }
    if (this.outbox) {
      try {
        await this.outbox.open();
      } catch (err) {
        this.availability.stop();
        await this.pool.end().catch(() => undefined);
        this.state = 'closed';
        throw err;
      }
    }
    this.state = 'open';
    this.outbox?.start();
  }

  /** Applies the migrations (./migrations.ts) on one connection, once per store. */
  private async migrateOnce(): Promise<void> {
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      await migrate(client, this.where);
      this.migrated = true;
    } catch (err) {
      client?.release(true);
      client = undefined;
      throw err;
    } finally {
      client?.release();
    }
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    await this.committer.drain();
    this.state = 'closed';
    this.availability.stop();
    await this.outbox?.close();
    await this.pool.end();
  }

  /** Whether PostgreSQL is usable now, and the calls that failed (by code) since open. */
  health(): StoreHealth {
    const downSince = this.availability.downSince;
    return {
      available: this.availability.available,
      ...(downSince === undefined ? {} : { downSince }),
      errors: Object.fromEntries(this.errorCounts),
      ...(this.outbox ? { outbox: this.outbox.stats() } : {}),
    };
  }

  /** Resolves once PostgreSQL is available again (at once when it is), or the store closes. */
  whenAvailable(): Promise<void> {
    return this.availability.whenAvailable();
  }

  /**
   * Writes one group as one transaction, outside the group committer: for the outbox (./pg-outbox.ts),
   * which writes its own groups in its own order. Fails at once while unavailable, as every call.
   */
  async writeItems(items: PgWriteItem[]): Promise<void> {
    await this.guarded('write', () => this.writer.writeGroup(items));
  }

  recordMessage(message: MessageRecord, urlRows: readonly UrlRow[]): Promise<void> {
    return this.submit(() => ({ kind: 'message', ...checkMessage(message, urlRows) }));
  }

  recordEvents(events: readonly TrackEvent[]): Promise<void> {
    return this.outbox ? this.recordOrKeep('events', events) : this.submit(() => ({ kind: 'events', events: checkEvents(events) }));
  }

  /** Later verdicts; the aggregates are computed from the events when read, so nothing to rebuild. */
  recordVerdicts(events: readonly TrackEvent[]): Promise<void> {
    return this.outbox ? this.recordOrKeep('verdicts', events) : this.submit(() => ({ kind: 'verdicts', events: checkEvents(events) }));
  }

  /**
   * With an outbox: to PostgreSQL when it is available and nothing waits in the outbox (so the order
   * events came in is kept), else, or when the write finds it unavailable, to the outbox.
   */
  private async recordOrKeep(kind: OutboxKind, events: readonly TrackEvent[]): Promise<void> {
    const outbox = this.outbox!;
    this.checkOpen();
    let checked: Array<TrackEvent & { id: Buffer }>;
    try {
      checked = checkEvents(events);
    } catch (err) {
      throw invalidError(err);
    }
    if (outbox.holding === 0 && this.availability.available) {
      try {
        await this.committer.submit({ kind, events: checked });
        return;
      } catch (err) {
        if (!isUnavailable(err)) throw err;
      }
    }
    try {
      await outbox.append(kind, checked);
    } catch (err) {
      // Full while PostgreSQL answers again (a long outage's backlog still being written): better out
      // of order than not at all.
      if (errorCode(err) !== StoreErrorCode.OUTBOX_FULL || !this.availability.available) throw err;
      await this.committer.submit({ kind, events: checked });
    }
  }

  changeSuppressions(changes: readonly SuppressionChange[]): Promise<void> {
    return this.submit(() => ({ kind: 'suppressions', changes: checkSuppressionChanges(changes) }));
  }

  async suppressedAmong(listId: string, addresses: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    if (listId === '' || addresses.length === 0) return found;
    this.checkOpen();
    const normalized = addresses.map(normalizeAddress);
    this.suppressionLookups += 1;
    const result = await this.query<{ address: string }>(
      'SELECT address FROM trackmilter_suppressions WHERE list_id = $1 AND address = ANY($2::text[])',
      [listId, normalized.filter((a) => !a.includes('\u0000'))],
      true,
    );
    const suppressed = new Set(result.map((r) => r.address));
    addresses.forEach((address, i) => {
      if (suppressed.has(normalized[i]!)) found.add(address);
    });
    return found;
  }

  /** In byte order of list and address (COLLATE "C"), whatever the database's collation. */
  async *suppressions(listId?: string): AsyncIterable<Suppression> {
    this.checkOpen();
    let after: [string, string] = ['', ''];
    for (;;) {
      const page = await this.query<SuppressionRow>(
        `SELECT list_id, address, time, source, send_id FROM trackmilter_suppressions
          WHERE ($1::text IS NULL OR list_id = $1) AND (list_id COLLATE "C", address COLLATE "C") > ($2, $3)
          ORDER BY list_id COLLATE "C", address COLLATE "C" LIMIT ${PAGE_ROWS}`,
        [listId ?? null, after[0], after[1]],
      );
      for (const row of page) yield suppressionFromRow(row);
      if (page.length < PAGE_ROWS) return;
      const last = page[page.length - 1]!;
      after = [last.list_id, last.address];
    }
  }

  /** What these two return may be the cached object itself: callers read it, never change it. */
  getUrlRow(id: RecordId): Promise<StoredUrlRow | undefined> {
    return this.readThroughCache(this.cachedRows, id, async (bytes) => {
      const rows = await this.query<UrlRowRow>(`SELECT ${URL_ROW_COLUMNS} FROM trackmilter_url_rows WHERE id = $1`, [bytes], true);
      return rows[0] === undefined ? undefined : urlRowFromRow(rows[0]);
    });
  }

  getMessage(id: RecordId): Promise<MessageRecord | undefined> {
    return this.readThroughCache(this.cachedMessages, id, async (bytes) => {
      const rows = await this.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM trackmilter_messages WHERE id = $1`, [bytes], true);
      return rows[0] === undefined ? undefined : messageFromRow(rows[0]);
    });
  }

  peekUrlRow(id: RecordId): StoredUrlRow | undefined {
    return this.peekCache(this.cachedRows, id);
  }

  peekMessage(id: RecordId): MessageRecord | undefined {
    return this.peekCache(this.cachedMessages, id);
  }

  /** Pages of PAGE_ROWS in (time, id) order, each page after the last row of the one before. */
  async *eventsBySendId(sendId: string, query: EventQuery = {}): AsyncIterable<TrackEvent> {
    let left = query.limit ?? Infinity;
    if (left <= 0) return;
    this.checkOpen();
    let after: { time: Date; id: Buffer } | null = null;
    for (;;) {
      const pageSize = Math.min(PAGE_ROWS, left);
      const page: EventRow[] = await this.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM trackmilter_events
          WHERE send_id = $1 AND ($2::timestamptz IS NULL OR time >= $2) AND ($3::timestamptz IS NULL OR time < $3)
            AND ($4::timestamptz IS NULL OR (time, id) > ($4, $5::bytea))
          ORDER BY time, id LIMIT ${pageSize}`,
        [sendId, query.since ?? null, query.until ?? null, after?.time ?? null, after?.id ?? null],
      );
      for (const row of page) yield eventFromRow(row);
      left -= page.length;
      if (page.length < pageSize || left <= 0) return;
      const last = page[page.length - 1]!;
      after = { time: last.time, id: last.id };
    }
  }

  async countMessages(sendId: string): Promise<number> {
    this.checkOpen();
    const rows = await this.query<{ n: string }>('SELECT count(*) AS n FROM trackmilter_messages WHERE send_id = $1', [sendId]);
    return Number(rows[0]?.n ?? 0);
  }

  async *urlRowsBySendId(sendId: string): AsyncIterable<StoredUrlRow> {
    this.checkOpen();
    let after: Buffer = Buffer.alloc(0);
    for (;;) {
      const page = await this.query<UrlRowRow>(
        `SELECT ${URL_ROW_COLUMNS} FROM trackmilter_url_rows WHERE send_id = $1 AND id > $2 ORDER BY id LIMIT ${PAGE_ROWS}`,
        [sendId, after],
      );
      for (const row of page) yield urlRowFromRow(row);
      if (page.length < PAGE_ROWS) return;
      after = page[page.length - 1]!.id;
    }
  }

  /**
   * Deletes what is older than `olderThan`, in chunks, under a session advisory lock: one sweep at a
   * time across the fleet. A host that finds the lock taken sweeps nothing (another is doing it).
   */
  async sweep(olderThan: Date): Promise<SweepResult> {
    this.checkOpen();
    try {
      checkTimeMs(olderThan.getTime());
    } catch (err) {
      throw invalidError(err);
    }
    const result: SweepResult = { events: 0, urlRows: 0, messages: 0 };
    const refused = this.availability.refusal();
    if (refused) throw this.counted(refused);
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      const locked = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [TRACKMILTER_LOCK, SWEEP_LOCK]);
      if (locked.rows[0]?.locked !== true) return result;
      try {
        result.events = await deleteOlder(client, 'trackmilter_events', olderThan);
        result.messages = await deleteOlder(client, 'trackmilter_messages', olderThan);
        result.urlRows = await deleteOlder(client, 'trackmilter_url_rows', olderThan, (id) => this.recentRows.forget(id));
        // A send's click map HTML goes with the last of its messages and events, as on LevelDB.
        await client.query(`DELETE FROM trackmilter_send_html h
          WHERE NOT EXISTS (SELECT 1 FROM trackmilter_messages m WHERE m.send_id = h.send_id)
            AND NOT EXISTS (SELECT 1 FROM trackmilter_events e WHERE e.send_id = h.send_id)`);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, $2)', [TRACKMILTER_LOCK, SWEEP_LOCK]);
      }
    } catch (err) {
      client?.release(true);
      client = undefined;
      throw this.failed(err, 'sweep');
    } finally {
      client?.release();
      // What was swept must stop resolving, cached or not.
      this.cachedRows.clear();
      this.cachedMessages.clear();
    }
    return result;
  }

  stats(): StoreStats {
    const group = this.committer.stats;
    return {
      batches: group.groups,
      writeCalls: group.calls,
      largestGroup: group.largestGroup,
      pendingCalls: this.committer.pending,
      ...this.writer.counts,
      readCache: { rows: this.cachedRows.stats(), messages: this.cachedMessages.stats() },
      suppressionCache: { hits: 0, misses: this.suppressionLookups, entries: 0 },
    };
  }

  private checkOpen(): void {
    if (this.state !== 'open') throw new CodedError(StoreErrorCode.CLOSED, `store ${this.where} is not open`);
  }

  /** `timed`: a statement of mail or click handling, bounded by queryTimeoutMs. */
  private async query<R extends object>(text: string, values: unknown[], timed = false): Promise<R[]> {
    this.checkOpen();
    const config: TimedQuery = { text, values, ...(timed ? { query_timeout: this.queryTimeoutMs } : {}) };
    return this.guarded('read', async () => (await this.pool.query<R>(config)).rows);
  }

  /** Runs an operation on the database: refused at once while it is unavailable; failures counted and coded. */
  private async guarded<T>(doing: string, operation: () => Promise<T>): Promise<T> {
    const refused = this.availability.refusal();
    if (refused) throw this.counted(refused);
    let result: T;
    try {
      result = await operation();
    } catch (err) {
      throw this.failed(err, doing);
    }
    this.availability.succeeded();
    return result;
  }

  /** A failure in the store's codes, counted; an unreachable or too slow database marks it unavailable. */
  private failed(err: unknown, doing: string): CodedError {
    const coded = translatePgError(err, this.where, doing);
    if (coded.code === StoreErrorCode.UNAVAILABLE) this.availability.failed(coded);
    return this.counted(coded);
  }

  private counted(err: CodedError): CodedError {
    this.errorCounts.set(err.code, (this.errorCounts.get(err.code) ?? 0) + 1);
    return err;
  }

  /** What the availability probe runs: a connection and a trivial statement, within the query timeout. */
  private async probe(): Promise<void> {
    if (this.migrated) {
      await this.pool.query({ text: 'SELECT 1', query_timeout: this.queryTimeoutMs } as TimedQuery);
      return;
    }
    // Opened while PostgreSQL was unreachable: usable once the migrations are applied. A database that
    // answers but cannot be used (a newer schema: ESTORE_VERSION) is logged when its reason changes.
    try {
      await this.migrateOnce();
    } catch (err) {
      const coded = translatePgError(err, this.where, 'open');
      if (coded.code !== StoreErrorCode.UNAVAILABLE && coded.message !== this.lastProbeFailure) {
        this.lastProbeFailure = coded.message;
        this.logger?.error({ code: coded.code, err: coded.message, database: this.where }, 'PostgreSQL answers but cannot be used; retrying');
      }
      throw coded;
    }
  }

  /** Checks on the caller's turn (so a bad record fails only its own call), then joins a group. */
  private submit(prepare: () => PgWriteItem): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new CodedError(StoreErrorCode.CLOSED, `store ${this.where} is not open`));
    let item: PgWriteItem;
    try {
      item = prepare();
    } catch (err) {
      return Promise.reject(invalidError(err));
    }
    return this.committer.submit(item);
  }

  private peekCache<T>(cache: ReadCache<T>, id: RecordId): T | undefined {
    return this.state === 'open' ? cache.peekId(id) : undefined;
  }

  private async readThroughCache<T>(cache: ReadCache<T>, id: RecordId, load: (id: Buffer) => Promise<T | undefined>): Promise<T | undefined> {
    this.checkOpen();
    return cache.readId(id, load);
  }
}

/** Deletes rows older than the cutoff, SWEEP_CHUNK at a time; each deleted id is told to `deleted`. */
async function deleteOlder(client: PoolClient, table: string, olderThan: Date, deleted?: (id: Buffer) => void): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await client.query<{ id: Buffer }>(
      `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE time < $1 LIMIT ${SWEEP_CHUNK})) RETURNING id`,
      [olderThan],
    );
    for (const row of result.rows) deleted?.(row.id);
    total += result.rows.length;
    if (result.rows.length < SWEEP_CHUNK) return total;
  }
}
