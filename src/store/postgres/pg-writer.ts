/**
 * One group of store calls (../../level/group-commit.ts) as one PostgreSQL transaction: every
 * message, URL row, event and suppression of the group in a handful of multi-row statements, so many
 * concurrent messages and clicks cost one round of statements and one commit. URL rows this process
 * wrote recently are skipped, as on LevelDB (../recent-rows.ts).
 */
import type { Pool, PoolClient, QueryConfig } from 'pg';
import type { RecentRows } from '../recent-rows.js';
import type { Suppression, SuppressionChange } from '../suppressions.js';
import type { MessageRecord, TrackEvent } from '../types.js';
import { isUnavailable } from './pg-errors.js';
import { impliedSuppression, type CheckedRow } from './records.js';

/** One connection's statements, each bounded by the query timeout (pg's per-query `query_timeout`). */
type Run = (text: string, values?: unknown[]) => Promise<unknown>;

export type PgWriteItem =
  | { kind: 'message'; message: MessageRecord & { id: Buffer }; rows: CheckedRow[] }
  | { kind: 'events'; events: Array<TrackEvent & { id: Buffer }> }
  /** Later verdicts of recorded events: their machine flag and reason as they are now. */
  | { kind: 'verdicts'; events: Array<TrackEvent & { id: Buffer }> }
  | { kind: 'suppressions'; changes: SuppressionChange[] };

export interface PgWriterCounts {
  messages: number;
  events: number;
  urlRowsWritten: number;
  urlRowsSkipped: number;
}

export class PgWriter {
  readonly counts: PgWriterCounts = { messages: 0, events: 0, urlRowsWritten: 0, urlRowsSkipped: 0 };

  constructor(
    private readonly pool: Pool,
    private readonly recentRows: RecentRows,
    /** Each statement not answered within this long fails (pg's "Query read timeout"). */
    private readonly queryTimeoutMs: number,
    /** Told of URL rows written with a new time, once committed (the read cache drops them). */
    private readonly rowsWritten: (ids: readonly Buffer[]) => void,
  ) {}

  async writeGroup(items: PgWriteItem[]): Promise<void> {
    const messages: Array<MessageRecord & { id: Buffer }> = [];
    const rows: CheckedRow[] = [];
    const rowTimes: Date[] = [];
    const events: Array<TrackEvent & { id: Buffer }> = [];
    const verdicts: Array<TrackEvent & { id: Buffer }> = [];
    // Suppression changes in the order they were made: a remove after an add of the same one wins.
    const changes: SuppressionChange[] = [];
    let skipped = 0;
    for (const item of items) {
      if (item.kind === 'message') {
        messages.push(item.message);
        for (const row of item.rows) {
          const timeMs = item.message.time.getTime();
          if (!this.recentRows.needsWrite(row.id, timeMs)) {
            skipped += 1;
            continue;
          }
          this.recentRows.remember(row.id, timeMs);
          rows.push(row);
          rowTimes.push(item.message.time);
        }
      } else if (item.kind === 'verdicts') {
        verdicts.push(...item.events);
      } else if (item.kind === 'events') {
        for (const event of item.events) {
          events.push(event);
          const suppression = impliedSuppression(event);
          if (suppression) changes.push({ op: 'add', suppression });
        }
      } else {
        changes.push(...item.changes);
      }
    }
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      const connection = client;
      const run: Run = (text, values = []) => connection.query({ text, values, query_timeout: this.queryTimeoutMs } as QueryConfig);
      await run('BEGIN');
      if (messages.length > 0) await insertMessages(run, messages);
      if (rows.length > 0) await upsertRows(run, rows, rowTimes);
      if (events.length > 0) await insertEvents(run, events);
      // After the inserts: a verdict may follow its event within one group.
      if (verdicts.length > 0) await updateVerdicts(run, verdicts);
      for (const change of changes) await applySuppression(run, change);
      await run('COMMIT');
    } catch (err) {
      for (const row of rows) this.recentRows.forget(row.id);
      if (client) {
        // A dead or hung connection would not answer a ROLLBACK either: closing it rolls back.
        if (!isUnavailable(err)) await client.query('ROLLBACK').catch(() => undefined);
        // A connection that failed mid-transaction is not given back to be reused.
        client.release(err instanceof Error ? err : true);
        client = undefined;
      }
      throw err;
    } finally {
      client?.release();
    }
    this.rowsWritten(rows.map((r) => r.id));
    this.counts.messages += messages.length;
    this.counts.events += events.length;
    this.counts.urlRowsWritten += rows.length;
    this.counts.urlRowsSkipped += skipped;
  }
}

async function insertMessages(run: Run, messages: Array<MessageRecord & { id: Buffer }>): Promise<void> {
  await run(
    `INSERT INTO trackmilter_messages (id, recipients, email_code, send_id, list_id, queue_id, time)
     SELECT * FROM unnest($1::bytea[], $2::jsonb[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
     ON CONFLICT (id) DO UPDATE SET recipients = excluded.recipients, email_code = excluded.email_code, send_id = excluded.send_id,
       list_id = excluded.list_id, queue_id = excluded.queue_id, time = excluded.time`,
    [
      messages.map((m) => m.id),
      messages.map((m) => JSON.stringify(m.recipients)),
      messages.map((m) => m.emailCode),
      messages.map((m) => m.sendId),
      messages.map((m) => m.listId),
      messages.map((m) => m.queueId),
      messages.map((m) => m.time),
    ],
  );
}

/** A row written again keeps its number (GreenArrow's urlid) and takes the later of the two times. */
async function upsertRows(run: Run, rows: CheckedRow[], times: Date[]): Promise<void> {
  await run(
    `INSERT INTO trackmilter_url_rows (id, send_id, list_id, url, link_name, time)
     SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
     ON CONFLICT (id) DO UPDATE SET time = greatest(trackmilter_url_rows.time, excluded.time)`,
    [rows.map((r) => r.id), rows.map((r) => r.row.sendId), rows.map((r) => r.row.listId), rows.map((r) => r.row.url), rows.map((r) => r.row.linkName), times],
  );
}

/** An event already there (the same id handed in again after a failed attempt) is kept once. */
async function insertEvents(run: Run, events: Array<TrackEvent & { id: Buffer }>): Promise<void> {
  await run(
    `INSERT INTO trackmilter_events (id, time, type, send_id, list_id, recipient, email_code, url, link_name, position, part, ip,
       user_agent, machine, machine_reason, details)
     SELECT * FROM unnest($1::bytea[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
       $9::text[], $10::integer[], $11::text[], $12::text[], $13::text[], $14::boolean[], $15::text[], $16::jsonb[])
     ON CONFLICT (id) DO NOTHING`,
    [
      events.map((e) => e.id),
      events.map((e) => e.time),
      events.map((e) => e.type),
      events.map((e) => e.sendId),
      events.map((e) => e.listId),
      events.map((e) => e.recipient),
      events.map((e) => e.emailCode),
      events.map((e) => e.url),
      events.map((e) => e.linkName),
      events.map((e) => e.position),
      events.map((e) => e.part),
      events.map((e) => e.ip),
      events.map((e) => e.userAgent),
      events.map((e) => e.machine),
      events.map((e) => e.machineReason ?? null),
      events.map((e) => (e.details === undefined ? null : JSON.stringify(e.details))),
    ],
  );
}

/** A machine verdict without a reason reads back as reason 'machine', as on LevelDB. */
async function updateVerdicts(run: Run, events: Array<TrackEvent & { id: Buffer }>): Promise<void> {
  await run(
    `UPDATE trackmilter_events e SET machine = v.machine, machine_reason = CASE WHEN v.machine THEN coalesce(v.reason, 'machine') END
       FROM unnest($1::bytea[], $2::boolean[], $3::text[]) AS v(id, machine, reason)
      WHERE e.id = v.id`,
    [events.map((e) => e.id), events.map((e) => e.machine), events.map((e) => e.machineReason ?? null)],
  );
}

async function applySuppression(run: Run, change: SuppressionChange): Promise<void> {
  if (change.op === 'remove') {
    await run('DELETE FROM trackmilter_suppressions WHERE list_id = $1 AND address = $2', [change.listId, change.address]);
    return;
  }
  const s: Suppression = change.suppression;
  await run(
    `INSERT INTO trackmilter_suppressions (list_id, address, time, source, send_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (list_id, address) DO UPDATE SET time = excluded.time, source = excluded.source, send_id = excluded.send_id`,
    [s.listId, s.address, s.time, s.source, s.sendId],
  );
}
