// The running aggregates give the numbers a scan of the events gives, however the events arrive
// (groups merged, several sends, machines, retention), and a store from before them is folded at open.
import fc from 'fast-check';
import { ClassicLevel } from 'classic-level';
import { describe, expect, it } from 'vitest';
import { reportFromAggregates, summarize, type SendReport } from '../../src/reports/report.js';
import type { LevelTrackStore, TrackEvent } from '../../src/store/index.js';
import { BUCKET_FIELDS, SendAggregates } from '../../src/store/send-aggregates.js';
import { event, message, openStore, tempDir } from './fixtures.js';

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);

const arbEvent = fc.record({
  send: fc.constantFrom('s1', 's2', ''),
  type: fc.constantFrom<TrackEvent['type'][]>('click', 'click', 'open', 'open', 'bounce', 'complaint', 'unsubscribe'),
  minutes: fc.integer({ min: 0, max: 60 * 24 * 4 }),
  who: fc.integer({ min: 0, max: 6 }),
  whoKind: fc.constantFrom('recipient', 'code', 'client'),
  link: fc.integer({ min: 0, max: 3 }),
  query: fc.constantFrom('', '?u=1', '?u=2'),
  machine: fc.boolean(),
  reason: fc.constantFrom('scanner', 'head', 'apple-mpp', ''),
  classification: fc.constantFrom('hard', 'soft', ''),
});

type RawEvent = typeof arbEvent extends fc.Arbitrary<infer R> ? R : never;

function toEvent(r: RawEvent): TrackEvent {
  const url = `https://shop.example/p${r.link}${r.query}`;
  return event(r.send, new Date(T0 + r.minutes * 60_000 + (r.who % 7) * 1000), {
    type: r.type,
    recipient: r.whoKind === 'recipient' ? `u${r.who}@example.com` : '',
    emailCode: r.whoKind === 'code' ? `code${r.who}` : '',
    ip: `192.0.2.${r.who}`,
    url: r.type === 'click' ? url : '',
    linkName: r.type === 'click' && r.link % 2 === 0 ? `name${r.link}` : '',
    position: r.type === 'click' ? r.link + 1 : 0,
    part: r.type === 'click' ? (r.link === 3 ? 't' : 'h') : '',
    machine: r.machine,
    ...(r.machine && r.reason ? { machineReason: r.reason } : {}),
    ...(r.type === 'bounce' && r.classification ? { details: { classification: r.classification } } : {}),
  });
}

async function scanned(store: LevelTrackStore, sendId: string): Promise<SendReport> {
  return summarize(sendId, await store.countMessages(sendId), store.eventsBySendId(sendId));
}

async function aggregated(store: LevelTrackStore, sendId: string): Promise<SendReport> {
  return reportFromAggregates(sendId, await store.aggregates.totals(sendId), await store.aggregates.links(sendId));
}

describe('send aggregates', () => {
  it('equal a scan of the events for any events, in any grouping, after a sweep too', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(arbEvent, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 4 }),
        async (calls, messages) => {
          const store = await openStore(tempDir());
          try {
            await Promise.all(Array.from({ length: messages }, (_, n) => store.recordMessage(message(n, 's1', new Date(T0 + n * 86_400_000)), [])));
            // Concurrent calls: the group committer merges them, so one group holds several calls' events.
            await Promise.all(calls.map((call) => store.recordEvents(call.map(toEvent))));
            for (const sendId of ['s1', 's2', '']) expect(await aggregated(store, sendId)).toEqual(await scanned(store, sendId));
            await store.sweep(new Date(T0 + 2 * 86_400_000));
            for (const sendId of ['s1', 's2', '']) expect(await aggregated(store, sendId)).toEqual(await scanned(store, sendId));
          } finally {
            await store.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('time buckets add up to the totals, in minutes and in hours', async () => {
    const store = await openStore();
    const events = fc.sample(arbEvent, { numRuns: 300, seed: 7 }).map((r) => toEvent({ ...r, send: 's1' }));
    await store.recordEvents(events);
    const totals = (await store.aggregates.totals('s1'))!;
    for (const granularity of ['minute', 'hour'] as const) {
      const buckets = await store.aggregates.buckets('s1', granularity, 0, Date.now() + 1e12);
      const sum = (field: (typeof BUCKET_FIELDS)[number]) => buckets.reduce((n, b) => n + b.counts[BUCKET_FIELDS.indexOf(field)]!, 0);
      expect(sum('humanOpens') + sum('machineOpens')).toBe(totals.all.opens);
      expect(sum('humanClicks')).toBe(totals.human.clicks);
      expect(sum('machineClicks')).toBe(totals.all.clicks - totals.human.clicks);
      expect(sum('bounces') + sum('complaints') + sum('unsubscribes')).toBe(totals.all.bounces + totals.all.complaints + totals.all.unsubscribes);
      expect(buckets.map((b) => b.startMs)).toEqual([...buckets.map((b) => b.startMs)].sort((a, b) => a - b));
    }
    await store.close();
  });

  it('a store written before aggregates existed is folded once at open', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    await store.recordMessage(message(1, 's1', new Date(T0)), []);
    await store.recordEvents(fc.sample(arbEvent, { numRuns: 200, seed: 3 }).map(toEvent));
    const before = await aggregated(store, 's1');
    await store.close();
    // Remove every aggregate record, as a store of the previous release has none.
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    let removed = 0;
    for await (const key of db.keys({ gte: Buffer.from('y!'), lt: Buffer.from('y"') })) {
      await db.del(key);
      removed++;
    }
    await db.close();
    expect(removed).toBeGreaterThan(0);
    const reopened = await openStore(dir);
    expect(await aggregated(reopened, 's1')).toEqual(before);
    expect(await aggregated(reopened, 's2')).toEqual(await scanned(reopened, 's2'));
    await reopened.close();
  });

  it('a store of aggregates version 1 (seen flags, not counts) is folded again at open', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    await store.recordEvents(fc.sample(arbEvent, { numRuns: 200, seed: 5 }).map(toEvent));
    await store.close();
    // Version 1 kept one byte of flags per seen key (2: seen as a person); make it look like one.
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    await db.put(Buffer.from('y!v'), Buffer.from('1'));
    // Flags that say "seen, by no person": read as they are, the next person would count as new.
    for await (const key of db.keys({ gte: Buffer.from('y!s!'), lt: Buffer.from('y!s"') })) await db.put(key, Buffer.from([1]));
    await db.close();
    const reopened = await openStore(dir);
    const more = fc.sample(arbEvent, { numRuns: 100, seed: 6 }).map((r) => toEvent({ ...r, machine: false }));
    await reopened.recordEvents(more);
    await reopened.recordVerdicts(more.filter((e) => e.type === 'click').map((e) => ({ ...e, machine: true, machineReason: 'burst' })));
    for (const sendId of ['s1', 's2', '']) expect(await aggregated(reopened, sendId)).toEqual(await scanned(reopened, sendId));
    await reopened.close();
  });

  it('a group whose batch is never written leaves the cached records as they were', async () => {
    // Folding changes copies of the cached records; were they shared, the lost group's counts (nested
    // machine reasons, bounce classes, buckets, links) would reach the next group's batch.
    const groups = [1, 2, 3].map((seed) => fc.sample(arbEvent, { numRuns: 60, seed }).map((r) => toEvent({ ...r, send: 's1' })));
    const [first, lost, last] = groups as [TrackEvent[], TrackEvent[], TrackEvent[]];
    const fold = async (aggregates: SendAggregates, db: ClassicLevel<Buffer, Buffer>, events: TrackEvent[], written = true): Promise<void> => {
      const { ops, commit } = await aggregates.prepare([], events);
      if (!written) return;
      await db.batch(ops);
      commit();
    };
    const open = async () => {
      const db = new ClassicLevel<Buffer, Buffer>(tempDir(), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
      await db.open();
      return { db, aggregates: new SendAggregates(db) };
    };
    const withLoss = await open();
    await fold(withLoss.aggregates, withLoss.db, first);
    await fold(withLoss.aggregates, withLoss.db, lost, false);
    await fold(withLoss.aggregates, withLoss.db, last);
    const without = await open();
    await fold(without.aggregates, without.db, first);
    await fold(without.aggregates, without.db, last);
    for (const read of [(a: SendAggregates) => a.totals('s1'), (a: SendAggregates) => a.links('s1'), (a: SendAggregates) => a.buckets('s1', 'hour', 0, 1e13)]) {
      expect(await read(withLoss.aggregates)).toEqual(await read(without.aggregates));
    }
    expect((await withLoss.aggregates.totals('s1'))!.all.clicks).toBe([...first, ...last].filter((e) => e.type === 'click').length);
    await Promise.all([withLoss.db.close(), without.db.close()]);
  });

  it('stay exact when a send has more links than the key memo holds (it starts over past 20,000 keys)', async () => {
    // Each distinct link adds two memo keys (its link and its position): 10,100 links cross the bound.
    const store = await openStore();
    const links = 10_100;
    for (let from = 0; from < links; from += 1000) {
      const calls = Array.from({ length: Math.min(1000, links - from) }, (_, i) =>
        toEvent({
          send: 's1',
          type: 'click',
          minutes: (from + i) % 600,
          who: i % 5,
          whoKind: 'recipient',
          link: 0,
          query: '',
          machine: i % 4 === 0,
          reason: 'scanner',
          classification: '',
        }),
      ).map((e, i) => ({ ...e, url: `https://shop.example/item/${from + i}`, position: from + i + 1 }));
      await store.recordEvents(calls);
    }
    // A second pass over the first links, after the memo started over: found again, not doubled.
    await store.recordEvents(
      Array.from({ length: 50 }, (_, i) => ({
        ...toEvent({
          send: 's1',
          type: 'click',
          minutes: 700,
          who: 9,
          whoKind: 'recipient',
          link: 0,
          query: '',
          machine: false,
          reason: '',
          classification: '',
        }),
        url: `https://shop.example/item/${i}`,
        position: i + 1,
      })),
    );
    expect(await aggregated(store, 's1')).toEqual(await scanned(store, 's1'));
    const perLink = await store.aggregates.links('s1');
    expect(perLink).toHaveLength(links);
    expect(perLink.filter((l) => l.clicks === 2)).toHaveLength(50);
    await store.close();
  }, 60_000);

  it('keeps one HTML per send, the first', async () => {
    const store = await openStore();
    expect(await store.aggregates.keepHtml('s1', '<p>first</p>')).toBe(true);
    expect(await store.aggregates.keepHtml('s1', '<p>second</p>')).toBe(false);
    expect(await store.aggregates.html('s1')).toBe('<p>first</p>');
    expect(await store.aggregates.html('s2')).toBeUndefined();
    await store.close();
  });
});
