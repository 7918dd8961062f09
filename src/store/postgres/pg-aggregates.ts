/**
 * What the dashboard and reports read of a send's aggregates (../send-aggregates.ts), on PostgreSQL:
 * computed by the database when read, with GROUP BY over the send's events (indexed by send and time),
 * so only the figures cross the network, never the events. Verdicts changed later (recordVerdicts) are
 * counted as they are now, with nothing to correct. The send's HTML for the click map is kept in
 * trackmilter_send_html.
 */
import type { AggregateCounts, Bucket, BucketCounts, Granularity, LinkAggregate, PositionAggregate, SendTotals } from '../send-aggregates.js';
import type { AggregateReader } from '../types.js';

const BUCKET_MS: Record<Granularity, number> = { minute: 60_000, hour: 3_600_000 };

/** Who an event counts as for "unique": whoOf() of ../send-aggregates.ts, in SQL. */
const WHO = `CASE WHEN recipient <> '' THEN 'r:' || recipient WHEN email_code <> '' THEN 'c:' || email_code ELSE 'i:' || ip || E'\\n' || user_agent END`;

const TYPES = [
  ['open', 'opens'],
  ['click', 'clicks'],
  ['bounce', 'bounces'],
  ['complaint', 'complaints'],
  ['unsubscribe', 'unsubscribes'],
] as const;

/** Per send: every count of AggregateCounts, for all events and for people's (h_ columns). */
const COUNTS = TYPES.flatMap(([type, field]) => [
  `count(*) FILTER (WHERE type = '${type}') AS "${field}"`,
  `count(*) FILTER (WHERE type = '${type}' AND NOT machine) AS "h_${field}"`,
]).concat(
  ['open', 'click'].flatMap((type) => {
    const field = type === 'open' ? 'uniqueOpens' : 'uniqueClicks';
    return [
      `count(DISTINCT ${WHO}) FILTER (WHERE type = '${type}') AS "${field}"`,
      `count(DISTINCT ${WHO}) FILTER (WHERE type = '${type}' AND NOT machine) AS "h_${field}"`,
    ];
  }),
);

/** Bounce classes, complaint types and machine reasons by event type, each in order of first use. */
const BREAKDOWNS = (where: string): string => `
  SELECT send_id, 'bounce' AS kind, coalesce(nullif(details->>'classification', ''), 'unknown') AS key, '' AS type, count(*) AS n, min(time) AS first
    FROM trackmilter_events WHERE ${where} type = 'bounce' GROUP BY send_id, key
  UNION ALL
  SELECT send_id, 'complaint', coalesce(nullif(details->>'feedbackType', ''), 'unknown'), '', count(*), min(time)
    FROM trackmilter_events WHERE ${where} type = 'complaint' GROUP BY 1, 3
  UNION ALL
  SELECT send_id, 'machine', coalesce(nullif(machine_reason, ''), 'unknown'), type, count(*), min(time)
    FROM trackmilter_events WHERE ${where} machine GROUP BY 1, 3, 4
  ORDER BY first`;

type CountRow = Record<string, string> & { send_id: string; first: Date; last: Date };

export interface AggregateSource {
  query<R extends object>(text: string, values: unknown[]): Promise<R[]>;
}

export class PgAggregates implements AggregateReader {
  constructor(private readonly source: AggregateSource) {}

  async totals(sendId: string): Promise<SendTotals | undefined> {
    return (await this.totalsWhere('send_id = $1 AND', [sendId]))[0];
  }

  async allTotals(): Promise<SendTotals[]> {
    return this.totalsWhere('', []);
  }

  async links(sendId: string): Promise<LinkAggregate[]> {
    const rows = await this.source.query<{ url: string; link_name: string; clicks: string; human: string; uniq: string; human_uniq: string }>(
      `SELECT row_url AS url, link_name, count(*) AS clicks, count(*) FILTER (WHERE NOT machine) AS human,
              count(DISTINCT ${WHO}) AS uniq, count(DISTINCT ${WHO}) FILTER (WHERE NOT machine) AS human_uniq
         FROM trackmilter_events WHERE send_id = $1 AND type = 'click'
        GROUP BY row_url, link_name ORDER BY min(time), row_url, link_name`,
      [sendId],
    );
    return rows.map((r) => ({
      url: r.url,
      linkName: r.link_name,
      clicks: Number(r.clicks),
      humanClicks: Number(r.human),
      uniqueClicks: Number(r.uniq),
      humanUniqueClicks: Number(r.human_uniq),
    }));
  }

  async positions(sendId: string): Promise<PositionAggregate[]> {
    const rows = await this.source.query<{ part: string; position: number; url: string; link_name: string; clicks: string; human: string }>(
      `SELECT part, position, row_url AS url, link_name, count(*) AS clicks, count(*) FILTER (WHERE NOT machine) AS human
         FROM trackmilter_events WHERE send_id = $1 AND type = 'click'
        GROUP BY part, position, row_url, link_name ORDER BY min(time), part, position, row_url, link_name`,
      [sendId],
    );
    return rows.map((r) => ({ part: r.part, position: r.position, url: r.url, linkName: r.link_name, clicks: Number(r.clicks), humanClicks: Number(r.human) }));
  }

  /** Buckets of one granularity with fromMs <= start < toMs that hold events, in time order. */
  async buckets(sendId: string, granularity: Granularity, fromMs: number, toMs: number): Promise<Bucket[]> {
    const size = BUCKET_MS[granularity];
    const from = Math.max(0, Math.floor(fromMs / size)) * size;
    const to = Math.ceil(toMs / size) * size;
    if (to <= from) return [];
    // The slots of BUCKET_FIELDS, in its order.
    const rows = await this.source.query<{ n: string; c: string[] }>(
      `SELECT floor(extract(epoch FROM time) * 1000 / $2)::bigint AS n,
              ARRAY[count(*) FILTER (WHERE type = 'open' AND NOT machine), count(*) FILTER (WHERE type = 'open' AND machine),
                    count(*) FILTER (WHERE type = 'click' AND NOT machine), count(*) FILTER (WHERE type = 'click' AND machine),
                    count(*) FILTER (WHERE type = 'bounce'), count(*) FILTER (WHERE type = 'complaint'),
                    count(*) FILTER (WHERE type = 'unsubscribe')] AS c
         FROM trackmilter_events WHERE send_id = $1 AND time >= $3 AND time < $4
        GROUP BY n ORDER BY n`,
      [sendId, size, new Date(from), new Date(to)],
    );
    return rows.map((r): Bucket => ({ startMs: Number(r.n) * size, counts: r.c.map(Number) satisfies BucketCounts }));
  }

  /** Keeps the send's HTML unless one is kept already (by any host); true when this call kept it. */
  async keepHtml(sendId: string, html: string): Promise<boolean> {
    const rows = await this.source.query<{ send_id: string }>(
      'INSERT INTO trackmilter_send_html (send_id, html) VALUES ($1, $2) ON CONFLICT (send_id) DO NOTHING RETURNING send_id',
      [sendId, html.replaceAll('\u0000', '\ufffd')],
    );
    return rows.length === 1;
  }

  async hasHtml(sendId: string): Promise<boolean> {
    return (await this.source.query('SELECT 1 FROM trackmilter_send_html WHERE send_id = $1', [sendId])).length === 1;
  }

  async html(sendId: string): Promise<string | undefined> {
    return (await this.source.query<{ html: string }>('SELECT html FROM trackmilter_send_html WHERE send_id = $1', [sendId]))[0]?.html;
  }

  /** Totals of every send matching `where` (a condition followed by AND, or nothing), in three queries. */
  private async totalsWhere(where: string, values: unknown[]): Promise<SendTotals[]> {
    const [messages, counts, breakdowns] = await Promise.all([
      this.source.query<{ send_id: string; n: string; first: Date; last: Date }>(
        `SELECT send_id, count(*) AS n, min(time) AS first, max(time) AS last FROM trackmilter_messages WHERE ${where} true GROUP BY send_id`,
        values,
      ),
      this.source.query<CountRow>(
        `SELECT send_id, min(time) AS first, max(time) AS last, ${COUNTS.join(', ')} FROM trackmilter_events WHERE ${where} true GROUP BY send_id`,
        values,
      ),
      this.source.query<{ send_id: string; kind: string; key: string; type: string; n: string }>(BREAKDOWNS(where), values),
    ]);
    const bySend = new Map<string, SendTotals>();
    const totalsOf = (sendId: string, first: Date, last: Date): SendTotals => {
      let t = bySend.get(sendId);
      if (!t) {
        t = {
          sendId,
          firstMs: first.getTime(),
          lastMs: last.getTime(),
          messages: 0,
          all: zero(),
          human: zero(),
          bounceClasses: {},
          complaintTypes: {},
          machineReasons: {},
        };
        bySend.set(sendId, t);
      }
      t.firstMs = Math.min(t.firstMs, first.getTime());
      t.lastMs = Math.max(t.lastMs, last.getTime());
      return t;
    };
    for (const m of messages) totalsOf(m.send_id, m.first, m.last).messages = Number(m.n);
    for (const row of counts) {
      const t = totalsOf(row.send_id, row.first, row.last);
      for (const field of Object.keys(t.all) as (keyof AggregateCounts)[]) {
        t.all[field] = Number(row[field]);
        t.human[field] = Number(row[`h_${field}`]);
      }
    }
    for (const b of breakdowns) {
      const t = bySend.get(b.send_id);
      if (!t) continue;
      const n = Number(b.n);
      if (b.kind === 'bounce') t.bounceClasses[b.key] = n;
      else if (b.kind === 'complaint') t.complaintTypes[b.key] = n;
      else (t.machineReasons[b.key] ??= {})[b.type as keyof SendTotals['machineReasons'][string]] = n;
    }
    return [...bySend.values()];
  }
}

function zero(): AggregateCounts {
  return { opens: 0, uniqueOpens: 0, clicks: 0, uniqueClicks: 0, bounces: 0, complaints: 0, unsubscribes: 0 };
}
