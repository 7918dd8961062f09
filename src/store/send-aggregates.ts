/**
 * Running aggregates per send, kept in the store beside the events, so reports and dashboard pages read
 * a few small records instead of scanning a send's events (a 1,000,000-event send: see bench:report).
 * They are folded in by the store's group writer, in the same LevelDB batch as the events and messages
 * they count, so what the aggregates say and what the events say never part.
 *
 *   y!v                                   -> aggregates version: present once every send was folded
 *   y!t!<sendId>                          -> totals                SendTotals (JSON)
 *   y!l!<sendId><hash>                    -> clicks per link       (URL up to `?`, link name)
 *   y!p!<sendId><hash>                    -> clicks per position   (part, position, URL, link name)
 *   y!m!<sendId><minute>                  -> counts in one minute  (4-byte minutes since the epoch)
 *   y!h!<sendId><hour>                    -> counts in one hour
 *   y!s!<sendId><hash>                    -> who was seen opening / clicking (a link): present once anyone,
 *                                            then how many of those events were a person's (uint32)
 *   y!x!<sendId>                          -> the send's HTML for the click map (kept once per send)
 *
 * Unique counts need to know whether someone was seen before: the `y!s!` keys answer that, read through
 * a bounded cache (a miss is one LevelDB read, batched per group). Retention: a sweep that removes
 * events or messages of a send rebuilds that send's aggregates from what is left.
 *
 * Later verdicts (src/truth: an event reclassified from person to machine, or given other reasons) are
 * corrections: in the batch that records the verdict, the event's share is taken out as it was counted
 * and put back as it is judged now (`correct`), so the aggregates stay what folding the events with
 * their current verdicts gives. Unique people stay exact because the `y!s!` records count a person's
 * events rather than flag them: a person is unique-counted while that count is above zero.
 */
import type { ClassicLevel } from 'classic-level';
import { BoundedMap } from '../util/bounded-map.js';
import { encodeSendId } from './keys.js';
import type { EventType, MessageRecord, TrackEvent } from './types.js';

type Db = ClassicLevel<Buffer, Buffer>;
type Op = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

export interface AggregateCounts {
  opens: number;
  uniqueOpens: number;
  clicks: number;
  uniqueClicks: number;
  bounces: number;
  complaints: number;
  unsubscribes: number;
}

export interface SendTotals {
  sendId: string;
  /** Time of the send's first message or event (ms since the epoch). */
  firstMs: number;
  lastMs: number;
  messages: number;
  /** Every event, machines included. */
  all: AggregateCounts;
  /** Events not flagged as machines. */
  human: AggregateCounts;
  /** Bounces by classification (`hard`, `soft`, `unknown`). */
  bounceClasses: Record<string, number>;
  /** Complaints by feedback type (`abuse`, ... or `unknown`). */
  complaintTypes: Record<string, number>;
  /** Machine events by reason, then by event type. */
  machineReasons: Record<string, Partial<Record<EventType, number>>>;
}

export interface LinkAggregate {
  url: string;
  linkName: string;
  clicks: number;
  humanClicks: number;
  uniqueClicks: number;
  humanUniqueClicks: number;
}

export interface PositionAggregate {
  part: string;
  position: number;
  url: string;
  linkName: string;
  clicks: number;
  humanClicks: number;
}

/** Counts of one time bucket, in this order. */
export const BUCKET_FIELDS = ['humanOpens', 'machineOpens', 'humanClicks', 'machineClicks', 'bounces', 'complaints', 'unsubscribes'] as const;
export type BucketCounts = number[];

export interface Bucket {
  /** Start of the bucket, ms since the epoch. */
  startMs: number;
  counts: BucketCounts;
}

export type Granularity = 'minute' | 'hour';
const BUCKET_MS: Record<Granularity, number> = { minute: 60_000, hour: 3_600_000 };

const AGG_VERSION_KEY = Buffer.from('y!v');
/** 2: `y!s!` counts a person's events (1 held bit flags); a store of version 1 is folded again at open. */
const AGG_VERSION = '2';
/**
 * Keys are handled as binary strings (one character per byte, as Buffer's 'latin1' reads them): a group
 * touches each of its keys many times, and a string is hashed and compared without allocating.
 */
const NS = {
  totals: 'y!t!',
  link: 'y!l!',
  position: 'y!p!',
  minute: 'y!m!',
  hour: 'y!h!',
  seen: 'y!s!',
  html: 'y!x!',
};
/** Namespaces a rebuild replaces (the HTML stays while the send has anything on record). */
const REBUILT = [NS.totals, NS.link, NS.position, NS.minute, NS.hour, NS.seen];
/** Version 1's `y!s!` flag for "seen as a person", read as one person's event. */
const V1_SEEN_HUMAN = 2;

/** Who an event counts as for "unique" (the same rule as reports/report.ts's one-pass fold). */
export function whoOf(e: TrackEvent): string {
  return e.recipient ? `r:${e.recipient}` : e.emailCode ? `c:${e.emailCode}` : `i:${e.ip}\n${e.userAgent}`;
}

/**
 * 106 bits of a string (two cyrb53 hashes with different seeds), as 14 bytes: for seen keys and link
 * keys of one send, where a collision would merge two people or two links, so 2^-53 per pair is not
 * enough but a cryptographic hash is more than the redirector's write path should pay per event.
 */
function hash(text: string): string {
  // Both cyrb53 hashes (seeds 0x9e3779b9 and 0x85ebca6b) in one pass over the text.
  let a1 = 0xdeadbeef ^ 0x9e3779b9;
  let a2 = 0x41c6ce57 ^ 0x9e3779b9;
  let b1 = 0xdeadbeef ^ 0x85ebca6b;
  let b2 = 0x41c6ce57 ^ 0x85ebca6b;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    a1 = Math.imul(a1 ^ ch, 2654435761);
    a2 = Math.imul(a2 ^ ch, 1597334677);
    b1 = Math.imul(b1 ^ ch, 2654435761);
    b2 = Math.imul(b2 ^ ch, 1597334677);
  }
  return bytes53(cyrb53Final(a1, a2)) + bytes53(cyrb53Final(b1, b2));
}

/** A 53-bit number as 7 big-endian bytes, in a binary string. */
function bytes53(value: number): string {
  const high = Math.floor(value / 4294967296);
  return String.fromCharCode((high >>> 16) & 0xff, (high >>> 8) & 0xff, high & 0xff) + u32(value >>> 0);
}

/** cyrb53's last mixing of its two lanes into 53 bits. */
function cyrb53Final(h1: number, h2: number): number {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** A send's key (length bytes, then its UTF-8 bytes) as a binary string. */
function sendKeyText(sendId: string): string {
  return encodeSendId(sendId).toString('latin1');
}

function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'latin1');
}

/** A 32-bit number as 4 big-endian bytes, in a binary string. */
function u32(n: number): string {
  return String.fromCharCode(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0xff]);
}

const zeroCounts = (): AggregateCounts => ({ opens: 0, uniqueOpens: 0, clicks: 0, uniqueClicks: 0, bounces: 0, complaints: 0, unsubscribes: 0 });

function emptyTotals(sendId: string, timeMs: number): SendTotals {
  return {
    sendId,
    firstMs: timeMs,
    lastMs: timeMs,
    messages: 0,
    all: zeroCounts(),
    human: zeroCounts(),
    bounceClasses: {},
    complaintTypes: {},
    machineReasons: {},
  };
}

type Value = SendTotals | LinkAggregate | PositionAggregate | BucketCounts | number;

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const parse = <T>(b: Buffer): T => JSON.parse(b.toString('utf8')) as T;

function encodeValue(key: string, value: Value): Buffer {
  if (!key.startsWith(NS.seen)) return json(value);
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value as number, 0);
  return out;
}

function decodeValue(key: string, bytes: Buffer): Value {
  if (!key.startsWith(NS.seen)) return parse<Value>(bytes);
  return bytes.length === 1 ? (bytes[0]! & V1_SEEN_HUMAN ? 1 : 0) : bytes.readUInt32BE(0);
}

/** One record a group changes: its value once loaded (undefined: none yet), and whether the group wrote it. */
interface Slot {
  value: Value | undefined;
  dirty: boolean;
}

/**
 * The records one group changes, loaded (from the cache, else LevelDB) before anything is folded, and
 * copied so a group whose batch fails leaves the cache as it was. Events hold their records' slots
 * (PlannedEvent), so folding one is no map lookup at all.
 */
class Scratch {
  readonly values = new Map<string, Slot>();
  /** Sends rebuilt in this group (their keys, as binary strings): their old records are deleted, so nothing is loaded for them. */
  readonly fresh = new Set<string>();

  want(key: string): Slot {
    let slot = this.values.get(key);
    if (slot === undefined) this.values.set(key, (slot = { value: undefined, dirty: false }));
    return slot;
  }

  get<T extends Value>(key: string): T | undefined {
    return this.values.get(key)?.value as T | undefined;
  }

  set(key: string, value: Value): void {
    write(this.want(key), value);
  }
}

function write(slot: Slot, value: Value): void {
  slot.value = value;
  slot.dirty = true;
}

/**
 * A copy of a cached record for a group to change. The records are JSON (that is how they are
 * stored), so a copy of plain objects, arrays and numbers is complete; structuredClone cost more than
 * the fold itself.
 */
function copyRecord<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyRecord) as T;
  const out: Record<string, unknown> = {};
  for (const key in value) out[key] = copyRecord((value as Record<string, unknown>)[key]);
  return out as T;
}

/** Where aggregates are recomputed and corrected from: the store's records. */
export interface AggregateSource {
  /** A send's events, each with its current verdict. */
  events(sendId: string): AsyncIterable<TrackEvent>;
  messages(sendId: string): Promise<number>;
  /** The event on record with this one's send, time and id, with the verdict it is counted with now. */
  counted(event: TrackEvent): Promise<TrackEvent | undefined>;
}

/** One event of one send: its time and id. */
function eventKey(e: TrackEvent): string {
  return `${e.sendId}\n${e.time.getTime()}\n${Buffer.from(e.id).toString('hex')}`;
}

/** An event with the slot of every record it changes, looked up once. */
interface PlannedEvent {
  event: TrackEvent;
  totals: Slot;
  minute: Slot;
  hour: Slot;
  /** Opens and clicks: whether its person was seen doing this before. */
  seen?: Slot;
  /** Clicks: the link's record, its position's record, and whether its person clicked this link before. */
  link?: { key: Slot; position: Slot; seen: Slot; url: string };
}

export class SendAggregates {
  private readonly cache: BoundedMap<Value>;
  private readonly keys = new KeyMemo();

  constructor(
    private readonly db: Db,
    cacheEntries = 200_000,
  ) {
    this.cache = new BoundedMap<Value>(cacheEntries);
  }

  /** True once every send on record has been folded (a store from before aggregates needs buildAll). */
  async isBuilt(): Promise<boolean> {
    return (await this.db.get(AGG_VERSION_KEY))?.toString() === AGG_VERSION;
  }

  /**
   * The writes that fold one group's messages and events in, and what to do once they are written.
   * `rebuild` names sends whose aggregates are recomputed from `source` first (after a sweep).
   */
  async prepare(
    messages: readonly MessageRecord[],
    events: readonly TrackEvent[],
    rebuild: readonly string[] = [],
    source?: AggregateSource,
    corrections: readonly TrackEvent[] = [],
  ): Promise<{ ops: Op[]; commit: () => void }> {
    const scratch = new Scratch();
    const ops: Op[] = [];
    for (const sendId of rebuild) {
      if (!source) break;
      const sendKey = sendKeyText(sendId);
      scratch.fresh.add(sendKey);
      for (const ns of REBUILT) {
        const prefix = keyBytes(ns + sendKey);
        for await (const key of this.db.keys({ gte: prefix, lt: prefixEnd(prefix) })) ops.push({ type: 'del', key });
      }
      const count = await source.messages(sendId);
      let chunk: TrackEvent[] = [];
      for await (const e of source.events(sendId)) {
        chunk.push(e);
        if (chunk.length === 10_000) {
          await this.fold(scratch, [], chunk);
          chunk = [];
        }
      }
      await this.fold(scratch, [], chunk);
      const totalsKey = NS.totals + sendKey;
      const totals = scratch.get<SendTotals>(totalsKey);
      if (totals) scratch.set(totalsKey, { ...totals, messages: count });
      else if (count > 0) scratch.set(totalsKey, { ...emptyTotals(sendId, Date.now()), messages: count });
      else ops.push({ type: 'del', key: keyBytes(NS.html + sendKey) });
    }
    await this.fold(scratch, messages, events);
    if (corrections.length > 0 && source) await this.correct(scratch, events, corrections, source);
    for (const [key, { value, dirty }] of scratch.values)
      if (dirty && value !== undefined) ops.push({ type: 'put', key: keyBytes(key), value: encodeValue(key, value) });
    return {
      ops,
      commit: () => {
        if (rebuild.length > 0) this.cache.clear();
        for (const [k, { value, dirty }] of scratch.values) if (dirty && value !== undefined) this.cache.set(k, value);
      },
    };
  }

  private async fold(scratch: Scratch, messages: readonly MessageRecord[], events: readonly TrackEvent[]): Promise<void> {
    const keys = this.keys;
    // First the records every change touches, so they load in one read.
    const planned = events.map((event) => plan(event, keys, scratch));
    for (const m of messages) scratch.want(keys.totals(m.sendId));
    await this.load(scratch);
    for (const m of messages) {
      const key = keys.totals(m.sendId);
      const t = scratch.get<SendTotals>(key) ?? emptyTotals(m.sendId, m.time.getTime());
      t.messages += 1;
      stretch(t, m.time.getTime());
      scratch.set(key, t);
    }
    for (const p of planned) foldEvent(p);
  }

  /**
   * Moves each corrected event's share from the verdict it was counted with to its new one. What it
   * was counted with: this group's own record of it or an earlier correction in the group, else the
   * store's (source.counted). An event not on record was never counted and is left alone.
   */
  private async correct(scratch: Scratch, events: readonly TrackEvent[], corrections: readonly TrackEvent[], source: AggregateSource): Promise<void> {
    const counted = new Map<string, TrackEvent>();
    for (const e of events) counted.set(eventKey(e), e);
    const none = Promise.resolve(undefined);
    const onRecord = await Promise.all(corrections.map((c) => (counted.has(eventKey(c)) ? none : source.counted(c))));
    const moves: Array<{ before: TrackEvent; after: TrackEvent }> = [];
    corrections.forEach((c, i) => {
      const key = eventKey(c);
      const before = counted.get(key) ?? onRecord[i];
      if (!before) return;
      const after: TrackEvent = { ...before, machine: c.machine };
      if (c.machine && c.machineReason) after.machineReason = c.machineReason;
      else delete after.machineReason;
      counted.set(key, after);
      moves.push({ before, after });
    });
    const keys = this.keys;
    const planned = moves.map((m) => ({ ...m, p: plan(m.before, keys, scratch) }));
    await this.load(scratch);
    for (const { before, after, p } of planned) {
      shareOfVerdict(p, before, -1);
      shareOfVerdict(p, after, 1);
    }
  }

  private async load(scratch: Scratch): Promise<void> {
    const missing: string[] = [];
    for (const [key, entry] of scratch.values) {
      if (entry.value !== undefined || entry.dirty) continue;
      if (scratch.fresh.size > 0 && scratch.fresh.has(sendKeyPart(key))) continue;
      const cached = this.cache.get(key);
      if (cached === undefined) missing.push(key);
      else entry.value = copyRecord(cached);
    }
    for (let i = 0; i < missing.length; i += 1000) {
      const part = missing.slice(i, i + 1000);
      const values = await this.db.getMany(part.map(keyBytes));
      part.forEach((key, j) => {
        const bytes = values[j];
        if (bytes !== undefined) scratch.values.get(key)!.value = decodeValue(key, bytes);
      });
    }
  }

  /** Folds every send on record (a store written before aggregates existed), then marks them built. */
  async buildAll(sendIds: Iterable<string>, source: AggregateSource): Promise<void> {
    for (const sendId of sendIds) {
      const { ops, commit } = await this.prepare([], [], [sendId], source);
      await this.db.batch(ops);
      commit();
    }
    await this.db.put(AGG_VERSION_KEY, Buffer.from(AGG_VERSION));
  }

  async markBuilt(): Promise<void> {
    await this.db.put(AGG_VERSION_KEY, Buffer.from(AGG_VERSION));
  }

  // ---- reading (always LevelDB: what the last written batch holds) ----

  async totals(sendId: string): Promise<SendTotals | undefined> {
    const bytes = await this.db.get(keyBytes(NS.totals + sendKeyText(sendId)));
    return bytes ? parse<SendTotals>(bytes) : undefined;
  }

  async allTotals(): Promise<SendTotals[]> {
    const out: SendTotals[] = [];
    const prefix = keyBytes(NS.totals);
    for await (const bytes of this.db.values({ gte: prefix, lt: prefixEnd(prefix) })) out.push(parse<SendTotals>(bytes));
    return out;
  }

  async links(sendId: string): Promise<LinkAggregate[]> {
    return this.scan<LinkAggregate>(NS.link, sendId);
  }

  async positions(sendId: string): Promise<PositionAggregate[]> {
    return this.scan<PositionAggregate>(NS.position, sendId);
  }

  /** Buckets of one granularity with fromMs <= start < toMs, in time order. */
  async buckets(sendId: string, granularity: Granularity, fromMs: number, toMs: number): Promise<Bucket[]> {
    const size = BUCKET_MS[granularity];
    const prefix = NS[granularity] + sendKeyText(sendId);
    const from = Math.max(0, Math.floor(fromMs / size));
    const to = Math.min(0xffffffff, Math.ceil(toMs / size));
    const out: Bucket[] = [];
    if (to <= from) return out;
    for await (const [key, value] of this.db.iterator({ gte: keyBytes(prefix + u32(from)), lt: keyBytes(prefix + u32(to)) })) {
      out.push({ startMs: key.readUInt32BE(key.length - 4) * size, counts: parse<BucketCounts>(value) });
    }
    return out;
  }

  /** Keeps the send's HTML unless one is kept already; true when this call kept it. */
  async keepHtml(sendId: string, html: string): Promise<boolean> {
    const key = keyBytes(NS.html + sendKeyText(sendId));
    if ((await this.db.get(key)) !== undefined) return false;
    await this.db.put(key, Buffer.from(html, 'utf8'));
    return true;
  }

  async hasHtml(sendId: string): Promise<boolean> {
    return (await this.db.get(keyBytes(NS.html + sendKeyText(sendId)))) !== undefined;
  }

  async html(sendId: string): Promise<string | undefined> {
    return (await this.db.get(keyBytes(NS.html + sendKeyText(sendId))))?.toString('utf8');
  }

  private async scan<T>(ns: string, sendId: string): Promise<T[]> {
    const prefix = keyBytes(ns + sendKeyText(sendId));
    const out: T[] = [];
    for await (const bytes of this.db.values({ gte: prefix, lt: prefixEnd(prefix) })) out.push(parse<T>(bytes));
    return out;
  }
}

/** The send part (length bytes included) of an aggregate key, both binary strings. */
function sendKeyPart(key: string): string {
  return key.slice(4, 6 + ((key.charCodeAt(4) << 8) | key.charCodeAt(5)));
}

/**
 * Keys shared by many events (a send's, a bucket's, a link's), kept from group to group and found by
 * the event's own strings: those come from the same cached records click after click, so a lookup
 * hashes nothing, and each key is one string whose hash the scratch map computes once. Pure, so
 * forgetting is free: past KEY_MEMO_ENTRIES keys it starts over.
 */
const KEY_MEMO_ENTRIES = 20_000;

interface LinkKeys {
  /** The URL up to `?`, as the link's record holds it. */
  url: string;
  key: string;
  /** What the seen key of a person clicking this link is hashed from, before who they are. */
  seenText: string;
  /** Position keys by position * 2 + part ('t' = 1). */
  positions: Map<number, string>;
}

interface SendKeys {
  sendKey: string;
  totals: string;
  buckets: Record<Granularity, Map<number, string>>;
  /** By the event's URL (query included), then link name. */
  links: Map<string, Map<string, LinkKeys>>;
}

class KeyMemo {
  private sends = new Map<string, SendKeys>();
  private entries = 0;

  private keysOf(sendId: string): SendKeys {
    let keys = this.sends.get(sendId);
    if (keys === undefined) {
      const sendKey = sendKeyText(sendId);
      keys = { sendKey, totals: NS.totals + sendKey, buckets: { minute: new Map(), hour: new Map() }, links: new Map() };
      this.sends.set(sendId, keys);
      this.counted();
    }
    return keys;
  }

  /** One more key held; past the bound, everything is forgotten (the caller's keys stay valid). */
  private counted(): void {
    if (++this.entries <= KEY_MEMO_ENTRIES) return;
    this.sends = new Map();
    this.entries = 0;
  }

  sendKey(sendId: string): string {
    return this.keysOf(sendId).sendKey;
  }

  totals(sendId: string): string {
    return this.keysOf(sendId).totals;
  }

  bucket(granularity: Granularity, sendId: string, timeMs: number): string {
    const buckets = this.keysOf(sendId).buckets[granularity];
    const number = Math.floor(timeMs / BUCKET_MS[granularity]);
    let key = buckets.get(number);
    if (key === undefined) {
      buckets.set(number, (key = NS[granularity] + this.sendKey(sendId) + u32(number)));
      this.counted();
    }
    return key;
  }

  link(sendId: string, fullUrl: string, linkName: string): LinkKeys {
    const send = this.keysOf(sendId);
    let byName = send.links.get(fullUrl);
    if (byName === undefined) send.links.set(fullUrl, (byName = new Map<string, LinkKeys>()));
    let keys = byName.get(linkName);
    if (keys === undefined) {
      const query = fullUrl.indexOf('?');
      const url = query === -1 ? fullUrl : fullUrl.slice(0, query);
      const text = `${url}\n${linkName}`;
      keys = { url, key: NS.link + send.sendKey + hash(text), seenText: `l\n${text}\n`, positions: new Map() };
      byName.set(linkName, keys);
      this.counted();
    }
    return keys;
  }

  position(sendId: string, link: LinkKeys, part: string, position: number, linkName: string): string {
    const slot = position * 2 + (part === 't' ? 1 : 0);
    let key = link.positions.get(slot);
    if (key === undefined) {
      key = NS.position + this.sendKey(sendId) + hash(`${part}\n${position}\n${link.url}\n${linkName}`);
      link.positions.set(slot, key);
      this.counted();
    }
    return key;
  }
}

function plan(e: TrackEvent, keys: KeyMemo, scratch: Scratch): PlannedEvent {
  const timeMs = e.time.getTime();
  const p: PlannedEvent = {
    event: e,
    totals: scratch.want(keys.totals(e.sendId)),
    minute: scratch.want(keys.bucket('minute', e.sendId, timeMs)),
    hour: scratch.want(keys.bucket('hour', e.sendId, timeMs)),
  };
  if (e.type !== 'open' && e.type !== 'click') return p;
  const who = whoOf(e);
  const sendKey = keys.sendKey(e.sendId);
  p.seen = scratch.want(NS.seen + sendKey + hash(`${e.type === 'open' ? 'o' : 'c'}\n${who}`));
  if (e.type === 'click') {
    const link = keys.link(e.sendId, e.url, e.linkName);
    p.link = {
      key: scratch.want(link.key),
      position: scratch.want(keys.position(e.sendId, link, e.part, e.position, e.linkName)),
      seen: scratch.want(NS.seen + sendKey + hash(link.seenText + who)),
      url: link.url,
    };
  }
  return p;
}

function stretch(t: SendTotals, timeMs: number): void {
  if (timeMs < t.firstMs) t.firstMs = timeMs;
  if (timeMs > t.lastMs) t.lastMs = timeMs;
}

/** Marks `who` seen in its slot (by anyone, no person's event yet); true when new. */
function seeAnyone(slot: Slot): boolean {
  if (slot.value !== undefined) return false;
  write(slot, 0);
  return true;
}

/** Adds `sign` (1 or -1) to who's person events in its slot; the change in unique people (1, -1 or 0). */
function countPerson(slot: Slot, sign: 1 | -1): number {
  const before = (slot.value as number | undefined) ?? 0;
  const after = Math.max(0, before + sign);
  write(slot, after);
  return before === 0 && after > 0 ? 1 : before > 0 && after === 0 ? -1 : 0;
}

/** Adds `sign` to one slot of a time bucket. */
function addToBucket(slot: Slot, index: number, sign: number): void {
  const counts = (slot.value as BucketCounts | undefined) ?? BUCKET_FIELDS.map(() => 0);
  counts[index] = (counts[index] ?? 0) + sign;
  write(slot, counts);
}

function bump(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

const FIELD = { open: 'opens', click: 'clicks', bounce: 'bounces', complaint: 'complaints', unsubscribe: 'unsubscribes' } as const;

/** Folds in what an event adds whoever made it; its verdict's share is shareOfVerdict's. */
function foldEvent(p: PlannedEvent): void {
  const e = p.event;
  const timeMs = e.time.getTime();
  const t = (p.totals.value as SendTotals | undefined) ?? emptyTotals(e.sendId, timeMs);
  stretch(t, timeMs);
  t.all[FIELD[e.type]] += 1;
  if (e.type === 'open') {
    if (seeAnyone(p.seen!)) t.all.uniqueOpens += 1;
  } else if (e.type === 'click' && p.link) {
    if (seeAnyone(p.seen!)) t.all.uniqueClicks += 1;
    const l = (p.link.key.value as LinkAggregate | undefined) ?? {
      url: p.link.url,
      linkName: e.linkName,
      clicks: 0,
      humanClicks: 0,
      uniqueClicks: 0,
      humanUniqueClicks: 0,
    };
    l.clicks += 1;
    if (seeAnyone(p.link.seen)) l.uniqueClicks += 1;
    write(p.link.key, l);
    const pos = (p.link.position.value as PositionAggregate | undefined) ?? {
      part: e.part,
      position: e.position,
      url: l.url,
      linkName: e.linkName,
      clicks: 0,
      humanClicks: 0,
    };
    pos.clicks += 1;
    write(p.link.position, pos);
  } else if (e.type === 'bounce') {
    bump(t.bounceClasses, e.details?.classification || 'unknown');
  } else if (e.type === 'complaint') {
    bump(t.complaintTypes, e.details?.feedbackType || 'unknown');
  }
  write(p.totals, t);
  if (e.type !== 'open' && e.type !== 'click') {
    const slot = { bounce: 4, complaint: 5, unsubscribe: 6 }[e.type];
    addToBucket(p.minute, slot, 1);
    addToBucket(p.hour, slot, 1);
  }
  shareOfVerdict(p, e, 1);
}

/**
 * Adds (1) or takes out (-1) what an event counts for as a person or as a machine of its reason: the
 * human columns and unique people, the machine reasons, the time buckets' human or machine slot. A
 * verdict changed later is one take-out with the old verdict and one add with the new.
 */
function shareOfVerdict(p: PlannedEvent, e: TrackEvent, sign: 1 | -1): void {
  const human = !e.machine;
  const t = p.totals.value as SendTotals;
  if (human) {
    t.human[FIELD[e.type]] += sign;
    if (e.type === 'open') t.human.uniqueOpens += countPerson(p.seen!, sign);
    else if (e.type === 'click' && p.link) {
      t.human.uniqueClicks += countPerson(p.seen!, sign);
      const l = p.link.key.value as LinkAggregate;
      l.humanClicks += sign;
      l.humanUniqueClicks += countPerson(p.link.seen, sign);
      write(p.link.key, l);
      const pos = p.link.position.value as PositionAggregate;
      pos.humanClicks += sign;
      write(p.link.position, pos);
    }
  } else {
    const reason = e.machineReason || 'unknown';
    const byType = (t.machineReasons[reason] ??= {});
    const n = (byType[e.type] ?? 0) + sign;
    if (n > 0) byType[e.type] = n;
    else delete byType[e.type];
    if (Object.keys(byType).length === 0) delete t.machineReasons[reason];
  }
  write(p.totals, t);
  if (e.type === 'open' || e.type === 'click') {
    const slot = e.type === 'open' ? (human ? 0 : 1) : human ? 2 : 3;
    addToBucket(p.minute, slot, sign);
    addToBucket(p.hour, slot, sign);
  }
}

/** The sendId stored (length bytes first) at `offset` of a key. */
export function sendIdAt(key: Buffer, offset: number): string {
  const length = key.readUInt16BE(offset);
  return key.subarray(offset + 2, offset + 2 + length).toString('utf8');
}

/** Every send with messages or events on record: one seek per send in each namespace, not a scan of it. */
export async function sendIdsOnRecord(db: Db): Promise<Set<string>> {
  const sends = new Set<string>();
  for (const prefix of [Buffer.from('n!'), Buffer.from('b!'), Buffer.from('e!')]) {
    const iterator = db.keys({ gte: prefix, lt: prefixEnd(prefix) });
    try {
      for (let key = await iterator.next(); key !== undefined; key = await iterator.next()) {
        const sendKey = sendKeyPartAt(key, prefix.length);
        sends.add(sendKey.subarray(2).toString('utf8'));
        iterator.seek(prefixEnd(Buffer.concat([prefix, sendKey])));
      }
    } finally {
      await iterator.close();
    }
  }
  return sends;
}

function sendKeyPartAt(key: Buffer, at: number): Buffer {
  return key.subarray(at, at + 2 + key.readUInt16BE(at));
}
