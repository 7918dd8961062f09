/**
 * The TrackStore contract: what every backend must do alike (GreenArrow's URL row semantics, records,
 * lifecycle, group commit, event order, sweep, suppressions), run against each backend by its own test
 * file (level-store.test.ts, postgres/pg-store.test.ts) with a harness that makes fresh stores.
 * What only one backend has (LevelDB's files and sync, PostgreSQL's schema) is tested beside it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Suppression, TrackEvent, TrackStore } from '../../src/store/index.js';
import { summarize } from '../../src/reports/report.js';
import { sendReport } from '../../src/reports/send-report.js';
import { collect, event, idOf, message, urlRow } from './fixtures-core.js';
import { seededRandom } from '../helpers/messages.js';

/** Options every backend takes. */
export interface ContractOptions {
  rowRefreshMs?: number;
  readCacheEntries?: number;
}

export interface StoreHarness {
  /** A fresh, empty place for a store (a directory, a database). */
  newPlace(): Promise<string>;
  /** A store on that place, not yet opened. */
  create(place: string, options?: ContractOptions): TrackStore;
  /**
   * Whether the URL rows and message records a store writes go into its own read cache (LevelDB: the
   * one process that writes serves the clicks), or only what it reads (PostgreSQL: a fleet's clicks
   * land on any host).
   */
  cachesWrites: boolean;
}

const at = (seconds: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
const vat = (s: number): Date => new Date(Date.UTC(2026, 5, 1, 12, 0, s));
const ids = (events: TrackEvent[]): string[] => events.map((e) => Buffer.from(e.id).toString('hex'));
const manual = (listId: string, address: string): Suppression => ({ listId, address, time: at(1), source: 'manual', sendId: '' });

/** Registers the contract's tests; `harness` is called inside tests (after the suite's beforeAll). */
export function storeContract(harness: () => StoreHarness): void {
  const open: TrackStore[] = [];
  afterEach(async () => {
    for (const store of open.splice(0)) await store.close();
  });
  async function fresh(place?: string, options: ContractOptions = {}): Promise<TrackStore> {
    const store = harness().create(place ?? (await harness().newPlace()), options);
    await store.open();
    open.push(store);
    return store;
  }
  /** A store that has recorded `message(1)` and `row` and was opened again: its read cache is empty. */
  async function reopenedAfterRecording(row: ReturnType<typeof urlRow>, options: ContractOptions = {}): Promise<TrackStore> {
    const place = await harness().newPlace();
    const writer = await fresh(place, options);
    await writer.recordMessage(message(1, 's1', at(0)), [row]);
    await writer.close();
    open.splice(open.indexOf(writer), 1);
    return fresh(place, options);
  }

  describe('GreenArrow URL row semantics', () => {
    it('stores one row for URLs that differ only after ?, written by the first message only', async () => {
      const store = await fresh();
      const first = urlRow('a100525', 'https://shop.example/sale?sub=alice&t=1', 'sale');
      const second = urlRow('a100525', 'https://shop.example/sale?sub=bob&t=2', 'sale');
      expect(second.id).toEqual(first.id); // the caller's hash sees the same row

      await store.recordMessage(message(1, 'a100525', at(10)), [first]);
      await store.recordMessage(message(2, 'a100525', at(20)), [second]);

      const rows = await collect(store.urlRowsBySendId('a100525'));
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ sendId: 'a100525', listId: 'list1', url: 'https://shop.example/sale', linkName: 'sale' });
      // Not rewritten: the row keeps the first message's time, and the counters saw one write, one skip.
      expect(rows[0]!.time).toEqual(at(10));
      expect(store.stats()).toMatchObject({ urlRowsWritten: 1, urlRowsSkipped: 1, messages: 2 });
    });

    it('deduplicates a row repeated inside one message and across messages in the same batch', async () => {
      const store = await fresh();
      const row = urlRow('s1', 'https://x.example/a');
      await Promise.all([store.recordMessage(message(1, 's1'), [row, row]), store.recordMessage(message(2, 's1'), [row])]);
      expect(await collect(store.urlRowsBySendId('s1'))).toHaveLength(1);
      expect(store.stats()).toMatchObject({ urlRowsWritten: 1, urlRowsSkipped: 2 });
    });

    it('keeps distinct paths as distinct rows, and the open row has an empty URL', async () => {
      const store = await fresh();
      const rows = [urlRow('s1', 'https://x.example/a'), urlRow('s1', 'https://x.example/b'), urlRow('s1', '')];
      await store.recordMessage(message(1, 's1'), rows);
      const stored = await collect(store.urlRowsBySendId('s1'));
      expect(stored.map((r) => r.url).sort()).toEqual(['', 'https://x.example/a', 'https://x.example/b']);
      const openRow = await store.getUrlRow(urlRow('s1', '').id);
      expect(openRow).toMatchObject({ url: '', sendId: 's1' });
    });

    it('rewrites a known row once it is older than the refresh age, moving its retention time', async () => {
      const store = await fresh(undefined, { rowRefreshMs: 60_000 });
      const row = urlRow('s1', 'https://x.example/a');
      await store.recordMessage(message(1, 's1', at(0)), [row]);
      await store.recordMessage(message(2, 's1', at(30)), [row]);
      expect((await store.getUrlRow(row.id))!.time).toEqual(at(0));
      await store.recordMessage(message(3, 's1', at(90)), [row]);
      expect((await store.getUrlRow(row.id))!.time).toEqual(at(90));
      // The sweep sees the stale retention entry of time 0 but keeps the refreshed row.
      expect(await store.sweep(at(60))).toMatchObject({ urlRows: 0 });
      expect(await store.getUrlRow(row.id)).toBeDefined();
    });
  });

  describe('the read cache', () => {
    it('forgets what a sweep removed, so a swept link stops resolving', async () => {
      const store = await fresh();
      const row = urlRow('s1', 'https://x.example/a');
      await store.recordMessage(message(1, 's1', at(0)), [row]);
      expect(await store.getUrlRow(row.id)).toBeDefined();
      expect(await store.getMessage(message(1).id)).toBeDefined();
      await store.sweep(at(10));
      expect(await store.getUrlRow(row.id)).toBeUndefined();
      expect(await store.getMessage(message(1).id)).toBeUndefined();
    });

    it('counts hits, misses (found or not) and entries for each cache in stats()', async () => {
      const row = urlRow('s1', 'https://x.example/a');
      const store = await reopenedAfterRecording(row);
      await store.getUrlRow(row.id);
      await store.getUrlRow(row.id);
      await store.getUrlRow(row.id);
      await store.getMessage(message(2).id); // not there: a miss, and nothing cached
      await store.getMessage(message(1).id);
      expect(store.stats().readCache).toEqual({
        rows: { hits: 2, misses: 1, entries: 1 },
        messages: { hits: 0, misses: 2, entries: 1 },
      });
      await store.sweep(at(10));
      expect(store.stats().readCache.rows).toEqual({ hits: 2, misses: 1, entries: 0 });
    });
  });

  describe('records', () => {
    it('round trips a message record', async () => {
      const store = await fresh();
      const msg = { ...message(7), recipients: ['a@example.com', 'b@example.com'], emailCode: 'ü-42' };
      await store.recordMessage(msg, []);
      expect(await store.getMessage(msg.id)).toEqual(msg);
      expect(await store.getMessage(idOf('nope'))).toBeUndefined();
      expect(await store.getUrlRow(idOf('nope'))).toBeUndefined();
    });

    it('round trips events of every type, with and without a machine reason', async () => {
      const store = await fresh();
      const events = [
        event('s1', at(1), { type: 'open', url: '', linkName: '', position: 0, machine: true, machineReason: 'apple-mpp' }),
        event('s1', at(2), { type: 'click' }),
        event('s1', at(3), { type: 'bounce', part: '', ip: '', userAgent: '' }),
        event('s1', at(4), { type: 'complaint' }),
        event('s1', at(5), { type: 'unsubscribe', part: 't' }),
      ];
      await store.recordEvents(events);
      expect(await collect(store.eventsBySendId('s1'))).toEqual(events);
    });

    it('accepts a Uint8Array id and gives back the same bytes', async () => {
      const store = await fresh();
      const id = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
      await store.recordMessage({ ...message(1), id }, []);
      expect(Buffer.from((await store.getMessage(id))!.id)).toEqual(Buffer.from(id));
    });

    it('refuses a bad record with ESTORE_INVALID without failing the calls beside it', async () => {
      const store = await fresh();
      const good = store.recordEvents([event('s1', at(1))]);
      const tooLongId = store.recordMessage({ ...message(1), id: Buffer.alloc(65) }, []);
      const badTime = store.recordEvents([event('s1', new Date(-1))]);
      const badType = store.recordEvents([event('s1', at(1), { type: 'teleport' as TrackEvent['type'] })]);
      await expect(tooLongId).rejects.toMatchObject({ code: 'ESTORE_INVALID' });
      await expect(badTime).rejects.toMatchObject({ code: 'ESTORE_INVALID' });
      await expect(badType).rejects.toMatchObject({ code: 'ESTORE_INVALID' });
      await expect(good).resolves.toBeUndefined();
      expect(await collect(store.eventsBySendId('s1'))).toHaveLength(1);
    });
  });

  describe('lifecycle', () => {
    it('reads everything back after close and reopen', async () => {
      const dir = await harness().newPlace();
      const store = await fresh(dir);
      const rows = [urlRow('a1', 'https://x.example/a'), urlRow('a1', '')];
      const msg = message(1, 'a1');
      const events = [event('a1', at(1)), event('a1', at(2), { type: 'open' })];
      await store.recordMessage(msg, rows);
      await store.recordEvents(events);
      await store.close();

      const again = await fresh(dir);
      expect(await again.getMessage(msg.id)).toEqual(msg);
      for (const row of rows) expect(await again.getUrlRow(row.id)).toMatchObject({ url: row.url, sendId: 'a1' });
      expect(await collect(again.urlRowsBySendId('a1'))).toHaveLength(2);
      expect(await collect(again.eventsBySendId('a1'))).toEqual(events);
    });

    it('close writes what was handed in before it; afterwards calls fail with ESTORE_CLOSED', async () => {
      const dir = await harness().newPlace();
      const store = await fresh(dir);
      const pending = store.recordEvents([event('s1', at(1))]);
      await store.close();
      await expect(pending).resolves.toBeUndefined();
      await expect(store.recordEvents([event('s1', at(2))])).rejects.toMatchObject({ code: 'ESTORE_CLOSED' });
      await expect(store.getMessage(idOf('x'))).rejects.toMatchObject({ code: 'ESTORE_CLOSED' });
      await expect(collect(store.eventsBySendId('s1'))).rejects.toMatchObject({ code: 'ESTORE_CLOSED' });
      const again = await fresh(dir);
      expect(await collect(again.eventsBySendId('s1'))).toHaveLength(1);
    });

    it('calls before open fail with ESTORE_CLOSED', async () => {
      const store = harness().create(await harness().newPlace());
      await expect(store.recordMessage(message(1), [])).rejects.toMatchObject({ code: 'ESTORE_CLOSED' });
    });

    it('reads every time with readCacheEntries 0', async () => {
      const store = await fresh(undefined, { readCacheEntries: 0 });
      await store.recordMessage(message(1, 's1', at(0)), []);
      await store.getMessage(message(1).id);
      await store.getMessage(message(1).id);
      expect(store.stats().readCache.messages).toEqual({ hits: 0, misses: 2, entries: 0 });
      expect(store.peekMessage(message(1).id)).toBeUndefined();
    });

    it('peeks only what a read cached, or, where the store caches its writes, what it wrote', async () => {
      const row = urlRow('s1', 'https://x.example/a');
      const store = await reopenedAfterRecording(row);
      expect(store.peekUrlRow(row.id)).toBeUndefined();
      expect(store.peekMessage(message(1).id)).toBeUndefined();
      const read = { row: await store.getUrlRow(row.id), message: await store.getMessage(message(1).id) };
      expect(store.peekUrlRow(row.id)).toMatchObject({ url: 'https://x.example/a' });
      expect(store.peekMessage(message(1).id)).toMatchObject({ sendId: 's1' });

      // The writing store itself: what it caches is what a read from disk gives.
      const writer = await fresh();
      await writer.recordMessage(message(1, 's1', at(0)), [row]);
      if (harness().cachesWrites) {
        expect(writer.peekUrlRow(row.id)).toEqual(read.row);
        expect(writer.peekMessage(message(1).id)).toEqual(read.message);
        expect(writer.stats().readCache).toEqual({ rows: { hits: 1, misses: 0, entries: 1 }, messages: { hits: 1, misses: 0, entries: 1 } });
      } else {
        expect(writer.peekUrlRow(row.id)).toBeUndefined();
        expect(writer.peekMessage(message(1).id)).toBeUndefined();
      }
    });
  });

  describe('group commit', () => {
    it('merges concurrent calls into fewer batches; each resolves when its own data is readable', async () => {
      const store = await fresh();
      const before = store.stats().batches;
      const n = 50;
      const events = Array.from({ length: n }, (_, i) => event('g1', at(i)));
      const seen = await Promise.all(
        events.map(async (e) => {
          await store.recordEvents([e]);
          const found = await collect(store.eventsBySendId('g1', { since: e.time, until: new Date(e.time.getTime() + 1) }));
          return found.some((f) => Buffer.from(f.id).equals(e.id));
        }),
      );
      expect(seen.every(Boolean)).toBe(true);
      const batches = store.stats().batches - before;
      expect(batches).toBeGreaterThan(0);
      expect(batches).toBeLessThan(n);
      expect(store.stats().largestGroup).toBeGreaterThan(1);
    });

    it('keeps merging calls that arrive while a batch is being written', async () => {
      const store = await fresh();
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 40; i++) {
        writes.push(store.recordEvents([event('g2', at(i))]));
        // spread over several turns of the event loop
        if (i % 5 === 4) await new Promise((resolve) => setImmediate(resolve));
      }
      await Promise.all(writes);
      expect(store.stats().batches).toBeLessThan(40);
      expect(await collect(store.eventsBySendId('g2'))).toHaveLength(40);
    });
  });

  describe('eventsBySendId', () => {
    it('returns events in time order whatever the write order, with since inclusive and until exclusive', async () => {
      const store = await fresh();
      const events = [5, 1, 4, 2, 3].map((s) => event('a1', at(s)));
      for (const e of events) await store.recordEvents([e]);
      const all = await collect(store.eventsBySendId('a1'));
      expect(all.map((e) => e.time)).toEqual([1, 2, 3, 4, 5].map(at));
      const window = await collect(store.eventsBySendId('a1', { since: at(2), until: at(4) }));
      expect(window.map((e) => e.time)).toEqual([at(2), at(3)]);
      expect((await collect(store.eventsBySendId('a1', { since: at(3), limit: 1 })))[0]!.time).toEqual(at(3));
    });

    it('never mixes sends whose ids are prefixes of each other', async () => {
      const store = await fresh();
      const sends = ['a1', 'a10', 'a100', 'a', ''];
      for (const sendId of sends) {
        await store.recordEvents([event(sendId, at(1), { linkName: sendId })]);
        await store.recordMessage(message(sendId.length, sendId), [urlRow(sendId, `https://x.example/${sendId}`)]);
      }
      for (const sendId of sends) {
        const events = await collect(store.eventsBySendId(sendId));
        expect(events.map((e) => e.linkName)).toEqual([sendId]);
        expect(events[0]!.sendId).toBe(sendId);
        const rows = await collect(store.urlRowsBySendId(sendId));
        expect(rows.map((r) => r.url)).toEqual([`https://x.example/${sendId}`]);
      }
    });

    it('orders events of the same millisecond deterministically and keeps them all', async () => {
      const store = await fresh();
      const events = Array.from({ length: 20 }, () => event('same', at(1)));
      await store.recordEvents(events);
      const listed = await collect(store.eventsBySendId('same'));
      expect(ids(listed).sort()).toEqual(ids(events).sort());
      expect(ids(listed)).toEqual([...ids(listed)].sort());
    });
  });

  describe('sweep', () => {
    it('removes only events, messages and URL rows older than the cutoff and counts them', async () => {
      const store = await fresh();
      const oldRow = urlRow('s1', 'https://x.example/old');
      const newRow = urlRow('s1', 'https://x.example/new');
      await store.recordMessage(message(1, 's1', at(10)), [oldRow]);
      await store.recordMessage(message(2, 's1', at(100)), [newRow]);
      await store.recordEvents([event('s1', at(5)), event('s2', at(50)), event('s1', at(99)), event('s1', at(100)), event('s2', at(200))]);

      expect(await store.sweep(at(100))).toEqual({ events: 3, messages: 1, urlRows: 1 });

      expect((await collect(store.eventsBySendId('s1'))).map((e) => e.time)).toEqual([at(100)]);
      expect((await collect(store.eventsBySendId('s2'))).map((e) => e.time)).toEqual([at(200)]);
      expect(await store.getMessage(message(1).id)).toBeUndefined();
      expect(await store.getMessage(message(2).id)).toBeDefined();
      expect(await store.getUrlRow(oldRow.id)).toBeUndefined();
      expect((await collect(store.urlRowsBySendId('s1'))).map((r) => r.url)).toEqual(['https://x.example/new']);

      expect(await store.sweep(at(100))).toEqual({ events: 0, messages: 0, urlRows: 0 });
    });

    it('sweeps more than one chunk', async () => {
      const store = await fresh();
      const events = Array.from({ length: 2500 }, (_, i) => event(`s${i % 7}`, new Date(at(0).getTime() + i)));
      await store.recordEvents(events);
      expect(await store.sweep(new Date(at(0).getTime() + 2400))).toMatchObject({ events: 2400 });
      let left = 0;
      for (let s = 0; s < 7; s++) left += (await collect(store.eventsBySendId(`s${s}`))).length;
      expect(left).toBe(100);
    });

    it('a row swept away is written again by the next message that uses it', async () => {
      const store = await fresh();
      const row = urlRow('s1', 'https://x.example/a');
      await store.recordMessage(message(1, 's1', at(0)), [row]);
      expect(await store.sweep(at(1))).toMatchObject({ urlRows: 1 });
      await store.recordMessage(message(2, 's1', at(2)), [row]);
      expect(await store.getUrlRow(row.id)).toMatchObject({ url: 'https://x.example/a', time: at(2) });
    });
  });

  describe('aggregates', () => {
    it("a send's report from the aggregates equals the one-pass report of its events; buckets; HTML kept once", async () => {
      const store = await fresh();
      await store.recordMessage(message(1, 'agg', at(0)), []);
      const events = [
        event('agg', at(1), { type: 'open', url: '', linkName: '', position: 0 }),
        event('agg', at(2)),
        event('agg', at(3), { recipient: 'b@example.com', machine: true, machineReason: 'scanner' }),
        event('agg', at(4), { type: 'bounce', url: '', linkName: '', position: 0, part: '', details: { classification: 'hard' } }),
      ];
      await store.recordEvents(events);
      expect(await sendReport(store, 'agg')).toEqual(await summarize('agg', 1, events));
      expect(await store.aggregates.buckets('agg', 'minute', at(0).getTime(), at(60).getTime())).toEqual([
        { startMs: at(0).getTime(), counts: [1, 0, 1, 1, 1, 0, 0] },
      ]);
      expect((await store.aggregates.positions('agg')).map((p) => p.clicks)).toEqual([2]);
      expect(await store.aggregates.keepHtml('agg', '<p>first</p>')).toBe(true);
      expect(await store.aggregates.keepHtml('agg', '<p>second</p>')).toBe(false);
      expect(await store.aggregates.html('agg')).toBe('<p>first</p>');
      expect(await store.aggregates.hasHtml('other')).toBe(false);
      // The sweep keeps the HTML while the send has anything on record, and removes it with the last.
      await store.sweep(at(2));
      expect(await store.aggregates.hasHtml('agg')).toBe(true);
      expect((await sendReport(store, 'agg')).all).toMatchObject({ opens: 0, clicks: 2, bounces: 1 });
      await store.sweep(at(60));
      expect(await store.aggregates.hasHtml('agg')).toBe(false);
      expect(await store.aggregates.totals('agg')).toBeUndefined();
    });
  });

  describe('aggregates of many events', () => {
    it('equal a one-pass fold of the events: per send, per link, per position, per minute; after later verdicts too', async () => {
      const store = await fresh();
      const random = seededRandom(17);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      await store.recordMessage(message(1, 'mix-a', at(0)), []);
      await store.recordMessage(message(2, 'mix-a', at(2)), []);
      await store.recordMessage(message(3, 'mix-b', at(1)), []);
      const types = ['open', 'open', 'click', 'click', 'click', 'bounce', 'complaint', 'unsubscribe'] as const;
      const events = Array.from({ length: 400 }, (_, i) => {
        const type = pick(types);
        const machine = random() < 0.3;
        // Who: a recipient, else an email code, else the client (ip and user agent).
        const who = Math.floor(random() * 12);
        const link = Math.floor(random() * 4);
        return event(pick(['mix-a', 'mix-b']), at(3 + Math.floor(random() * 200)), {
          type,
          recipient: who < 6 ? `r${who}@example.com` : '',
          emailCode: who >= 6 && who < 9 ? `code${who}` : '',
          ip: `192.0.2.${who}`,
          userAgent: who % 2 ? 'Mozilla/5.0' : 'curl/8',
          url: type === 'click' ? `https://shop.example/p${link}?sub=${i}` : '',
          linkName: type === 'click' ? pick(['', `link${link}`]) : '',
          position: type === 'click' ? link + 1 : 0,
          part: type === 'click' ? pick(['h', 't']) : '',
          machine,
          ...(machine ? { machineReason: pick(['scanner', 'burst', '']) } : {}),
          ...(type === 'bounce' ? { details: { classification: pick(['hard', 'soft', '']) } } : {}),
          ...(type === 'complaint' ? { details: { feedbackType: pick(['abuse', '']) } } : {}),
        });
      });
      for (let i = 0; i < events.length; i += 37) await store.recordEvents(events.slice(i, i + 37));

      const check = async (current: readonly TrackEvent[]): Promise<void> => {
        for (const [sendId, messages] of [
          ['mix-a', 2],
          ['mix-b', 1],
        ] as const) {
          const mine = current.filter((e) => e.sendId === sendId).sort((a, b) => a.time.getTime() - b.time.getTime());
          expect(await sendReport(store, sendId)).toEqual(await summarize(sendId, messages, mine));
          const totals = await store.aggregates.totals(sendId);
          expect(totals).toMatchObject({ sendId, messages, lastMs: mine.at(-1)!.time.getTime() });
          expect((await store.aggregates.allTotals()).find((t) => t.sendId === sendId)).toEqual(totals);
          const positions = await store.aggregates.positions(sendId);
          const clicks = mine.filter((e) => e.type === 'click');
          const atPosition = (part: string, position: number) => clicks.filter((e) => e.part === part && e.position === position);
          for (const p of positions) {
            const here = atPosition(p.part, p.position).filter((e) => e.linkName === p.linkName);
            expect({ clicks: p.clicks, humanClicks: p.humanClicks }).toEqual({ clicks: here.length, humanClicks: here.filter((e) => !e.machine).length });
          }
          expect(positions.reduce((n, p) => n + p.clicks, 0)).toBe(clicks.length);
          const buckets = await store.aggregates.buckets(sendId, 'minute', at(0).getTime(), at(600).getTime());
          const slot = (e: TrackEvent): number => ({ open: e.machine ? 1 : 0, click: e.machine ? 3 : 2, bounce: 4, complaint: 5, unsubscribe: 6 })[e.type];
          for (const b of buckets) {
            const inside = mine.filter((e) => e.time.getTime() >= b.startMs && e.time.getTime() < b.startMs + 60_000);
            expect(b.counts).toEqual([0, 1, 2, 3, 4, 5, 6].map((s) => inside.filter((e) => slot(e) === s).length));
          }
          expect(buckets.reduce((n, b) => n + b.counts.reduce((x, y) => x + y, 0), 0)).toBe(mine.length);
        }
      };
      await check(events);

      // Later verdicts (src/truth): people turned into machines, machines given other reasons, some
      // twice, some written in the same group as the event they change; the aggregates must equal
      // the fold of the events as they are judged now, with nothing rebuilt.
      const current = events.map((e) => ({ ...e }));
      const verdict = (e: TrackEvent, machineReason: string): TrackEvent => ({ ...e, machine: true, machineReason });
      const later: TrackEvent[][] = [];
      for (let round = 0; round < 3; round++) {
        const changed: TrackEvent[] = [];
        current.forEach((e, i) => {
          if ((e.type !== 'click' && e.type !== 'open') || random() > 0.25) return;
          const now = verdict(e, pick(['burst', 'honeypot', 'honeypot,burst', 'time-of-click']));
          current[i] = now;
          changed.push(now);
        });
        later.push(changed);
      }
      for (const changed of later) await Promise.all([0, 1, 2].map((k) => store.recordVerdicts(changed.filter((_, j) => j % 3 === k))));
      await check(current);
      // an event and its later verdict in one group, and a verdict of an event never recorded
      const fresh1 = event('mix-a', at(250), { type: 'click', recipient: 'r1@example.com', url: 'https://shop.example/p1', position: 2, part: 'h' });
      const ghost = event('mix-b', at(251), { type: 'open', recipient: 'r2@example.com' });
      await Promise.all([store.recordEvents([fresh1]), store.recordVerdicts([verdict(fresh1, 'burst'), verdict(ghost, 'burst')])]);
      await check([...current, verdict(fresh1, 'burst')]);
    });
  });

  describe('recordVerdicts', () => {
    it('gives events their later verdict, and leaves the others and other sends alone', async () => {
      const store = await fresh();
      const first = event('s1', vat(1));
      const second = event('s1', vat(1), { ip: '192.0.2.2' });
      const third = event('s1', vat(3), { machine: true, machineReason: 'burst' });
      const elsewhere = event('s2', vat(1));
      await store.recordEvents([first, second, third, elsewhere]);
      await store.recordVerdicts([{ ...first, machine: true, machineReason: 'burst' }]);

      const read = await collect(store.eventsBySendId('s1'));
      const verdictOf = (id: Uint8Array) => {
        const e = read.find((r) => Buffer.compare(Buffer.from(r.id), Buffer.from(id)) === 0)!;
        return [e.machine, e.machineReason];
      };
      expect(verdictOf(first.id)).toEqual([true, 'burst']);
      expect(verdictOf(second.id)).toEqual([false, undefined]);
      expect(verdictOf(third.id)).toEqual([true, 'burst']);
      expect((await collect(store.eventsBySendId('s2'))).map((e) => e.machine)).toEqual([false]);
      // a time range that holds the event finds its verdict too
      const ranged = await collect(store.eventsBySendId('s1', { since: vat(1), until: vat(2) }));
      expect(ranged.filter((e) => e.machine)).toHaveLength(1);
    });

    it('are swept with the events they belong to', async () => {
      const store = await fresh();
      const old = event('s1', vat(1));
      const kept = event('s1', vat(30));
      await store.recordEvents([old, kept]);
      await store.recordVerdicts([
        { ...old, machine: true, machineReason: 'honeypot' },
        { ...kept, machine: true, machineReason: 'honeypot' },
      ]);
      await store.sweep(vat(10));
      const read = await collect(store.eventsBySendId('s1'));
      expect(read.map((e) => [e.time.getTime(), e.machineReason])).toEqual([[vat(30).getTime(), 'honeypot']]);
      // the old verdict is gone with its event: an event recorded again at that time and id is a person
      await store.recordEvents([old]);
      expect((await collect(store.eventsBySendId('s1'))).map((e) => e.machine)).toEqual([false, true]);
    });
  });

  describe('suppressions', () => {
    it('an unsubscribe event of a named person suppresses them from its list, in the same write', async () => {
      const store = await fresh();
      await store.recordEvents([
        event('a1', at(5), { type: 'unsubscribe', listId: 'news', recipient: 'Ann@Mail.Example', details: { source: 'one-click' } }),
        event('a1', at(6), { type: 'click', listId: 'news', recipient: 'bob@mail.example' }),
        event('a1', at(7), { type: 'unsubscribe', listId: '', recipient: 'cay@mail.example' }),
      ]);
      expect(await store.suppressedAmong('news', ['ann@mail.example', 'ANN@MAIL.EXAMPLE', 'bob@mail.example', 'cay@mail.example'])).toEqual(
        new Set(['ann@mail.example', 'ANN@MAIL.EXAMPLE']),
      );
      expect(await store.suppressedAmong('other', ['ann@mail.example'])).toEqual(new Set());
      expect(await collect(store.suppressions())).toEqual([{ listId: 'news', address: 'ann@mail.example', time: at(5), source: 'one-click', sendId: 'a1' }]);
    });

    it('adds and removes by hand, lists by list, and survives a reopen and a sweep', async () => {
      const dir = await harness().newPlace();
      let store = await fresh(dir);
      await store.changeSuppressions(
        [manual('a', 'x@e.example'), manual('a', 'y@e.example'), manual('ab', 'x@e.example')].map((suppression) => ({ op: 'add', suppression })),
      );
      expect((await collect(store.suppressions('a'))).map((s) => s.address)).toEqual(['x@e.example', 'y@e.example']);
      expect((await collect(store.suppressions())).map((s) => `${s.listId} ${s.address}`)).toEqual(['a x@e.example', 'a y@e.example', 'ab x@e.example']);
      await store.changeSuppressions([{ op: 'remove', listId: 'a', address: 'X@E.EXAMPLE' }]);
      expect(await store.suppressedAmong('a', ['x@e.example', 'y@e.example'])).toEqual(new Set(['y@e.example']));
      await store.sweep(new Date(Date.UTC(2030, 0, 1)));
      await store.close();
      store = await fresh(dir);
      expect(await store.suppressedAmong('a', ['x@e.example', 'y@e.example'])).toEqual(new Set(['y@e.example']));
      expect(await store.suppressedAmong('ab', ['x@e.example'])).toEqual(new Set(['x@e.example']));
    });

    it('refuses what no key can hold; a lookup of such an address finds nothing', async () => {
      const store = await fresh();
      await expect(store.changeSuppressions([{ op: 'add', suppression: manual('', 'x@e.example') }])).rejects.toMatchObject({ code: 'ESTORE_INVALID' });
      await expect(store.changeSuppressions([{ op: 'add', suppression: manual('l', 'x'.repeat(400)) }])).rejects.toMatchObject({ code: 'ESTORE_INVALID' });
      expect(await store.suppressedAmong('l', ['', 'x'.repeat(400)])).toEqual(new Set());
      // An unsubscribe naming such an address is still recorded, without a suppression.
      await store.recordEvents([event('s', at(9), { type: 'unsubscribe', listId: 'l', recipient: 'x'.repeat(400), details: { source: 'one-click' } })]);
      expect(await collect(store.eventsBySendId('s'))).toHaveLength(1);
      expect(await collect(store.suppressions())).toEqual([]);
    });
  });

  describe('messages of a send', () => {
    it('are counted per send, with sends whose ids share a prefix kept apart', async () => {
      const store = await fresh();
      await Promise.all([
        ...[1, 2, 3].map((n) => store.recordMessage(message(n, 'a1'), [])),
        ...[4, 5].map((n) => store.recordMessage(message(n, 'a10'), [])),
        store.recordMessage(message(6, ''), []),
      ]);
      expect(await store.countMessages('a1')).toBe(3);
      expect(await store.countMessages('a10')).toBe(2);
      expect(await store.countMessages('')).toBe(1);
      expect(await store.countMessages('a')).toBe(0);
    });

    it('the sweep removes a message from its send count along with the record', async () => {
      const store = await fresh();
      const old = message(1, 's', new Date(Date.UTC(2025, 0, 1)));
      const recent = message(2, 's', new Date(Date.UTC(2026, 5, 1)));
      await store.recordMessage(old, []);
      await store.recordMessage(recent, []);
      const swept = await store.sweep(new Date(Date.UTC(2026, 0, 1)));
      expect(swept.messages).toBe(1);
      expect(await store.countMessages('s')).toBe(1);
      expect(await store.getMessage(old.id)).toBeUndefined();
      expect(await store.getMessage(recent.id)).toBeDefined();
    });
  });
}
