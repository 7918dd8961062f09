// A send's numbers: from the store's running aggregates (what the admin API, `report` and the dashboard
// show), or computed from its events in one pass (the reference the aggregates are tested against, and
// what bench:report compares with). Pure: the admin API feeds it from the store.
import type { TrackEvent } from '../store/index.js';
import { whoOf, type LinkAggregate, type SendTotals } from '../store/send-aggregates.js';
import { reasonsOf } from '../truth/verdict.js';

interface LinkCounts {
  /** The destination up to `?` (per-subscriber query strings are not separate links, as in GreenArrow). */
  url: string;
  linkName: string;
  clicks: number;
  uniqueClicks: number;
}

interface Counts {
  opens: number;
  uniqueOpens: number;
  clicks: number;
  uniqueClicks: number;
  bounces: number;
  complaints: number;
  /** One-click, page and mailto unsubscribes (a person unsubscribes once per list: repeats are not recorded). */
  unsubscribes: number;
  links: LinkCounts[];
}

export interface SendReport {
  sendId: string;
  messages: number;
  /** Every event, machines included. */
  all: Counts;
  /** Without events flagged as machines (scanners, prefetchers, privacy proxies, HEAD requests). */
  human: Counts;
  /** Bounces by classification (hard, soft, unknown). */
  bounceClasses: Record<string, number>;
  /** Complaints by feedback type. */
  complaintTypes: Record<string, number>;
  /** Machine events by reason, then by event type. */
  machineReasons: Record<string, Record<string, number>>;
}

class Tally {
  opens = 0;
  clicks = 0;
  bounces = 0;
  complaints = 0;
  unsubscribes = 0;
  private openers = new Set<string>();
  private clickers = new Set<string>();
  private links = new Map<string, { url: string; linkName: string; clicks: number; who: Set<string> }>();

  add(e: TrackEvent): void {
    const who = whoOf(e);
    switch (e.type) {
      case 'open':
        this.opens++;
        this.openers.add(who);
        return;
      case 'click': {
        this.clicks++;
        this.clickers.add(who);
        const url = e.url.split('?', 1)[0]!;
        const key = `${url}\n${e.linkName}`;
        let link = this.links.get(key);
        if (!link) this.links.set(key, (link = { url, linkName: e.linkName, clicks: 0, who: new Set() }));
        link.clicks++;
        link.who.add(who);
        return;
      }
      case 'bounce':
        this.bounces++;
        return;
      case 'complaint':
        this.complaints++;
        return;
      case 'unsubscribe':
        this.unsubscribes++;
        return;
      default:
        return;
    }
  }

  counts(): Counts {
    const links = [...this.links.values()].map((l) => ({ url: l.url, linkName: l.linkName, clicks: l.clicks, uniqueClicks: l.who.size })).sort(byClicks);
    return {
      opens: this.opens,
      uniqueOpens: this.openers.size,
      clicks: this.clicks,
      uniqueClicks: this.clickers.size,
      bounces: this.bounces,
      complaints: this.complaints,
      unsubscribes: this.unsubscribes,
      links,
    };
  }
}

function byClicks(a: LinkCounts, b: LinkCounts): number {
  return b.clicks - a.clicks || (a.url < b.url ? -1 : a.url > b.url ? 1 : a.linkName < b.linkName ? -1 : a.linkName > b.linkName ? 1 : 0);
}

function bump(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

/**
 * The report from every event of the send, in one pass. Who counts as one person for "unique": the
 * recipient; for messages with several recipients (no one named in the links) the email_code, and
 * failing that the client, so such sends still count people.
 */
export async function summarize(sendId: string, messages: number, events: AsyncIterable<TrackEvent> | Iterable<TrackEvent>): Promise<SendReport> {
  const all = new Tally();
  const human = new Tally();
  const bounceClasses: Record<string, number> = {};
  const complaintTypes: Record<string, number> = {};
  const machineReasons: Record<string, Record<string, number>> = {};
  for await (const e of events) {
    all.add(e);
    if (!e.machine) human.add(e);
    if (e.type === 'bounce') bump(bounceClasses, e.details?.classification || 'unknown');
    if (e.type === 'complaint') bump(complaintTypes, e.details?.feedbackType || 'unknown');
    if (e.machine) bump((machineReasons[e.machineReason || 'unknown'] ??= {}), e.type);
  }
  return { sendId, messages, all: all.counts(), human: human.counts(), bounceClasses, complaintTypes, machineReasons };
}

/** The same report from the store's running aggregates: a few records read, whatever the send's size. */
export function reportFromAggregates(sendId: string, totals: SendTotals | undefined, links: readonly LinkAggregate[]): SendReport {
  const side = (human: boolean): Counts => {
    const c = human ? totals?.human : totals?.all;
    return {
      opens: c?.opens ?? 0,
      uniqueOpens: c?.uniqueOpens ?? 0,
      clicks: c?.clicks ?? 0,
      uniqueClicks: c?.uniqueClicks ?? 0,
      bounces: c?.bounces ?? 0,
      complaints: c?.complaints ?? 0,
      unsubscribes: c?.unsubscribes ?? 0,
      links: links
        .filter((l) => (human ? l.humanClicks : l.clicks) > 0)
        .map((l) => ({
          url: l.url,
          linkName: l.linkName,
          clicks: human ? l.humanClicks : l.clicks,
          uniqueClicks: human ? l.humanUniqueClicks : l.uniqueClicks,
        }))
        .sort(byClicks),
    };
  };
  return {
    sendId,
    messages: totals?.messages ?? 0,
    all: side(false),
    human: side(true),
    bounceClasses: { ...totals?.bounceClasses },
    complaintTypes: { ...totals?.complaintTypes },
    machineReasons: Object.fromEntries(Object.entries(totals?.machineReasons ?? {}).map(([k, v]) => [k, { ...v }])),
  };
}

export function formatReport(r: SendReport): string {
  const pad = (n: number | string): string => String(n).padStart(10);
  // Machines are all minus humans for counts of events; a unique count has no such difference.
  const line = (label: string, all: number, human: number, unique = false): string =>
    `${label.padEnd(16)}${pad(all)}${pad(human)}${unique ? '' : pad(all - human)}`;
  const out = [
    `SendID ${JSON.stringify(r.sendId)}: ${r.messages} messages`,
    '',
    `${''.padEnd(16)}${pad('all')}${pad('humans')}${pad('machines')}`,
    line('opens', r.all.opens, r.human.opens),
    line('unique opens', r.all.uniqueOpens, r.human.uniqueOpens, true),
    line('clicks', r.all.clicks, r.human.clicks),
    line('unique clicks', r.all.uniqueClicks, r.human.uniqueClicks, true),
    line('bounces', r.all.bounces, r.human.bounces),
    line('complaints', r.all.complaints, r.human.complaints),
    line('unsubscribes', r.all.unsubscribes, r.human.unsubscribes),
  ];
  const byReason = machineEventsByReason(r.machineReasons);
  if (byReason.size > 0) {
    out.push('', 'machine events by reason (one flagged for several reasons counts under each)', `${''.padEnd(24)}${pad('opens')}${pad('clicks')}`);
    for (const [reason, n] of [...byReason].sort((a, b) => a[0].localeCompare(b[0]))) out.push(`${reason.padEnd(24)}${pad(n.open ?? 0)}${pad(n.click ?? 0)}`);
  }
  if (r.all.links.length > 0) {
    out.push('', 'clicks (all / humans / machines), unique human clicks  link name  URL');
    const human = new Map(r.human.links.map((l) => [`${l.url}\n${l.linkName}`, l]));
    for (const l of r.all.links) {
      const h = human.get(`${l.url}\n${l.linkName}`);
      out.push(`${l.clicks} / ${h?.clicks ?? 0} / ${l.clicks - (h?.clicks ?? 0)}, ${h?.uniqueClicks ?? 0}  ${l.linkName || '-'}  ${l.url}`);
    }
  }
  return out.join('\n') + '\n';
}

/**
 * Machine events per single reason and event type, from counts per whole machineReason (reasons
 * comma-separated): how much of each number each rule removed.
 */
export function machineEventsByReason(machineReasons: SendReport['machineReasons']): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const [combined, byType] of Object.entries(machineReasons)) {
    for (const reason of reasonsOf(combined)) {
      const counts = out.get(reason) ?? {};
      for (const [type, n] of Object.entries(byType)) counts[type] = (counts[type] ?? 0) + n;
      out.set(reason, counts);
    }
  }
  return out;
}
