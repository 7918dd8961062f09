/**
 * What the dashboard and reports read of a send's aggregates (../send-aggregates.ts), on PostgreSQL:
 * computed when read, by folding the send's events in one pass, rather than kept as running totals.
 * The simplest correct version for a first fleet: a read costs a scan of one send's events (indexed by
 * send and time), where LevelDB reads a few records; running totals in SQL are left for later.
 * The send's HTML for the click map is kept in trackmilter_send_html.
 */
import {
  BUCKET_FIELDS,
  whoOf,
  type AggregateCounts,
  type Bucket,
  type BucketCounts,
  type Granularity,
  type LinkAggregate,
  type PositionAggregate,
  type SendTotals,
} from '../send-aggregates.js';
import type { AggregateReader, TrackEvent } from '../types.js';

const BUCKET_MS: Record<Granularity, number> = { minute: 60_000, hour: 3_600_000 };
const FIELD = { open: 'opens', click: 'clicks', bounce: 'bounces', complaint: 'complaints', unsubscribe: 'unsubscribes' } as const;

interface Folded {
  totals: SendTotals | undefined;
  links: Map<string, LinkAggregate>;
  positions: Map<string, PositionAggregate>;
}

const zero = (): AggregateCounts => ({ opens: 0, uniqueOpens: 0, clicks: 0, uniqueClicks: 0, bounces: 0, complaints: 0, unsubscribes: 0 });

export interface AggregateSource {
  events(sendId: string): AsyncIterable<TrackEvent>;
  query<R extends object>(text: string, values: unknown[]): Promise<R[]>;
}

export class PgAggregates implements AggregateReader {
  constructor(private readonly source: AggregateSource) {}

  async totals(sendId: string): Promise<SendTotals | undefined> {
    return (await this.fold(sendId)).totals;
  }

  async allTotals(): Promise<SendTotals[]> {
    const sends = await this.source.query<{ send_id: string }>('SELECT send_id FROM trackmilter_messages UNION SELECT send_id FROM trackmilter_events', []);
    const out: SendTotals[] = [];
    for (const { send_id } of sends) {
      const totals = await this.totals(send_id);
      if (totals) out.push(totals);
    }
    return out;
  }

  async links(sendId: string): Promise<LinkAggregate[]> {
    return [...(await this.fold(sendId)).links.values()];
  }

  async positions(sendId: string): Promise<PositionAggregate[]> {
    return [...(await this.fold(sendId)).positions.values()];
  }

  /** Buckets of one granularity with fromMs <= start < toMs that hold events, in time order. */
  async buckets(sendId: string, granularity: Granularity, fromMs: number, toMs: number): Promise<Bucket[]> {
    const size = BUCKET_MS[granularity];
    const from = Math.max(0, Math.floor(fromMs / size)) * size;
    const to = Math.ceil(toMs / size) * size;
    const out = new Map<number, BucketCounts>();
    if (to <= from) return [];
    for await (const e of this.source.events(sendId)) {
      const timeMs = e.time.getTime();
      if (timeMs < from || timeMs >= to) continue;
      const start = Math.floor(timeMs / size) * size;
      const counts = out.get(start) ?? BUCKET_FIELDS.map(() => 0);
      const slot = { open: e.machine ? 1 : 0, click: e.machine ? 3 : 2, bounce: 4, complaint: 5, unsubscribe: 6 }[e.type];
      counts[slot] = (counts[slot] ?? 0) + 1;
      out.set(start, counts);
    }
    return [...out.entries()].sort((a, b) => a[0] - b[0]).map(([startMs, counts]) => ({ startMs, counts }));
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

  /** The send's totals, links and positions in one pass over its events (the rules of send-aggregates.ts). */
  private async fold(sendId: string): Promise<Folded> {
    const [span] = await this.source.query<{ n: string; first: Date | null; last: Date | null }>(
      'SELECT count(*) AS n, min(time) AS first, max(time) AS last FROM trackmilter_messages WHERE send_id = $1',
      [sendId],
    );
    const messages = Number(span?.n ?? 0);
    let totals: SendTotals | undefined =
      messages > 0
        ? {
            sendId,
            firstMs: span!.first!.getTime(),
            lastMs: span!.last!.getTime(),
            messages,
            all: zero(),
            human: zero(),
            bounceClasses: {},
            complaintTypes: {},
            machineReasons: {},
          }
        : undefined;
    const links = new Map<string, LinkAggregate>();
    const positions = new Map<string, PositionAggregate>();
    const seen = new Map<string, { any: boolean; human: boolean }>();
    const see = (key: string, human: boolean): { newAny: boolean; newHuman: boolean } => {
      const was = seen.get(key) ?? { any: false, human: false };
      seen.set(key, { any: true, human: was.human || human });
      return { newAny: !was.any, newHuman: human && !was.human };
    };
    for await (const e of this.source.events(sendId)) {
      const timeMs = e.time.getTime();
      const human = !e.machine;
      const t = (totals ??= {
        sendId,
        firstMs: timeMs,
        lastMs: timeMs,
        messages: 0,
        all: zero(),
        human: zero(),
        bounceClasses: {},
        complaintTypes: {},
        machineReasons: {},
      });
      t.firstMs = Math.min(t.firstMs, timeMs);
      t.lastMs = Math.max(t.lastMs, timeMs);
      t.all[FIELD[e.type]] += 1;
      if (human) t.human[FIELD[e.type]] += 1;
      const who = whoOf(e);
      if (e.type === 'open') {
        const s = see(`o\n${who}`, human);
        if (s.newAny) t.all.uniqueOpens += 1;
        if (s.newHuman) t.human.uniqueOpens += 1;
      } else if (e.type === 'click') {
        const s = see(`c\n${who}`, human);
        if (s.newAny) t.all.uniqueClicks += 1;
        if (s.newHuman) t.human.uniqueClicks += 1;
        const url = e.url.split('?', 1)[0]!;
        const link = `${url}\n${e.linkName}`;
        const l = links.get(link) ?? { url, linkName: e.linkName, clicks: 0, humanClicks: 0, uniqueClicks: 0, humanUniqueClicks: 0 };
        const ls = see(`l\n${link}\n${who}`, human);
        l.clicks += 1;
        if (human) l.humanClicks += 1;
        if (ls.newAny) l.uniqueClicks += 1;
        if (ls.newHuman) l.humanUniqueClicks += 1;
        links.set(link, l);
        const posKey = `${e.part}\n${e.position}\n${link}`;
        const p = positions.get(posKey) ?? { part: e.part, position: e.position, url, linkName: e.linkName, clicks: 0, humanClicks: 0 };
        p.clicks += 1;
        if (human) p.humanClicks += 1;
        positions.set(posKey, p);
      } else if (e.type === 'bounce') {
        bump(t.bounceClasses, e.details?.classification || 'unknown');
      } else if (e.type === 'complaint') {
        bump(t.complaintTypes, e.details?.feedbackType || 'unknown');
      }
      if (e.machine) bump((t.machineReasons[e.machineReason || 'unknown'] ??= {}), e.type);
    }
    return { totals, links, positions };
  }
}

function bump(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}
