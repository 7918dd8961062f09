// Layout 2: a group's events of one send share one record. These tests pin what that must not change
// (order, windows, limits, retention to the event) and that a layout 1 store is still read.
import { ClassicLevel } from 'classic-level';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeSendId, encodeTime, eventKey, eventRetentionKey, LAYOUT_VERSION, VERSION_KEY } from '../../src/store/keys.js';
import { type LevelTrackStore, type TrackEvent } from '../../src/store/index.js';
import { encodeEvent, encodeEventBatch, splitEventBatch } from '../../src/store/values.js';
import { collect, event, openStore, tempDir } from './fixtures.js';

const open: LevelTrackStore[] = [];
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
});
async function fresh(dir?: string): Promise<LevelTrackStore> {
  const store = await openStore(dir);
  open.push(store);
  return store;
}

const T0 = Date.UTC(2026, 0, 1);
const ms = (offset: number): Date => new Date(T0 + offset);
const times = (events: TrackEvent[]): number[] => events.map((e) => e.time.getTime() - T0);

async function rawKeys(dir: string, prefix: string): Promise<number> {
  const db = new ClassicLevel<string, Buffer>(dir, { valueEncoding: 'buffer' });
  try {
    return (await db.keys({ gte: prefix, lt: `${prefix}\xff` }).all()).length;
  } finally {
    await db.close();
  }
}

describe('event batch records', () => {
  it('writes one record per send per group, whatever the number of events', async () => {
    const dir = tempDir();
    const store = await openStore(dir);
    await Promise.all([
      ...Array.from({ length: 50 }, (_, i) => store.recordEvents([event('a', ms(i))])),
      ...Array.from({ length: 10 }, (_, i) => store.recordEvents([event('b', ms(i))])),
    ]);
    expect(store.stats()).toMatchObject({ batches: 1, events: 60 });
    await store.close();
    expect(await rawKeys(dir, 'b!')).toBe(2);
    expect(await rawKeys(dir, 't!b!')).toBe(2);
    expect(await rawKeys(dir, 'e!')).toBe(0);
  });

  it('merges records whose time spans overlap into one time order', async () => {
    const store = await fresh();
    await store.recordEvents([event('s', ms(0)), event('s', ms(900))]); // one record: 0..900
    await store.recordEvents([event('s', ms(500)), event('s', ms(1200))]); // another: 500..1200
    await store.recordEvents([event('s', ms(100))]); // and one starting inside the first
    expect(times(await collect(store.eventsBySendId('s')))).toEqual([0, 100, 500, 900, 1200]);
  });

  it('splits a group into records less than a second apart, and windows and limits see events, not records', async () => {
    const store = await fresh();
    await store.recordEvents([0, 400, 999, 1000, 2500, 2600].map((t) => event('s', ms(t))));
    expect(times(await collect(store.eventsBySendId('s', { since: ms(400), until: ms(2500) })))).toEqual([400, 999, 1000]);
    expect(times(await collect(store.eventsBySendId('s', { since: ms(999), limit: 2 })))).toEqual([999, 1000]);
    expect(times(await collect(store.eventsBySendId('s', { since: ms(2550) })))).toEqual([2600]);
    expect(await collect(store.eventsBySendId('s', { limit: 0 }))).toEqual([]);
  });

  it('refuses an event whose send is too long for the keys, failing only its own call', async () => {
    const store = await fresh();
    const good = store.recordEvents([event('s', ms(0))]);
    const bad = store.recordEvents([event('x'.repeat(70_000), ms(0))]);
    await expect(bad).rejects.toMatchObject({ code: 'ESTORE_INVALID' });
    await good;
    expect(times(await collect(store.eventsBySendId('s')))).toEqual([0]);
  });

  it('sweeps to the event: a record straddling the cutoff keeps its newer events', async () => {
    const dir = tempDir();
    const store = await fresh(dir);
    const kept = event('s', ms(800), { linkName: 'kept' });
    await store.recordEvents([event('s', ms(0)), event('s', ms(400)), kept]);
    expect(await store.sweep(ms(500))).toMatchObject({ events: 2 });
    const left = await collect(store.eventsBySendId('s'));
    expect(left).toEqual([{ ...kept, id: Buffer.from(kept.id) }]);
    expect(await store.sweep(ms(500))).toMatchObject({ events: 0 });
    expect(await store.sweep(ms(801))).toMatchObject({ events: 1 });
    expect(await collect(store.eventsBySendId('s'))).toEqual([]);
  });
});

describe('the batch record encoding', () => {
  it('gives back each event whole, and refuses a record cut short at any byte', () => {
    const events = [
      { id: Buffer.from('id-1'), timeMs: T0, value: Buffer.from('{"y":"click"}') },
      { id: Buffer.from('second-id'), timeMs: T0 + 999, value: Buffer.alloc(0) },
    ];
    const record = encodeEventBatch(events);
    expect(splitEventBatch(record).map((e) => [e.id.toString(), e.timeMs, e.value.toString()])).toEqual(
      events.map((e) => [e.id.toString(), e.timeMs, e.value.toString()]),
    );
    // Cut inside the second event (or anywhere before): never a shorter list read as if it were whole.
    for (let cut = 1; cut < record.length; cut++) {
      const firstEnd = 1 + 4 + 6 + 4 + events[0]!.value.length;
      if (cut === firstEnd) continue; // exactly one whole event: a valid record of one
      expect(() => splitEventBatch(record.subarray(0, cut)), `cut at ${cut}`).toThrow(RangeError);
    }
  });
});

describe('a layout 1 store', () => {
  /** Writes what the previous version wrote for an event: its own record and retention entry. */
  async function layoutOneStore(events: TrackEvent[]): Promise<string> {
    const dir = tempDir();
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.put(VERSION_KEY, Buffer.from('1'));
    for (const e of events) {
      const time = encodeTime(e.time);
      const sendId = encodeSendId(e.sendId);
      await db.put(eventKey(sendId, time, e.id), encodeEvent(e));
      await db.put(eventRetentionKey(time, sendId, e.id), Buffer.alloc(0));
    }
    await db.close();
    return dir;
  }

  it('is read, written in the new layout, upgraded, and swept', async () => {
    const dir = await layoutOneStore([event('s', ms(0), { linkName: 'old1' }), event('s', ms(10), { linkName: 'old2' })]);
    const store = await fresh(dir);
    // Its events were folded into the aggregates at open, and the sweep below refolds what is left.
    expect((await store.aggregates.totals('s'))?.all.clicks).toBe(2);
    await store.recordEvents([event('s', ms(20), { linkName: 'new' })]);
    const events = await collect(store.eventsBySendId('s'));
    expect(events.map((e) => e.linkName)).toEqual(['old1', 'old2', 'new']);
    expect(times(await collect(store.eventsBySendId('s', { since: ms(10) })))).toEqual([10, 20]);
    expect(times(await collect(store.eventsBySendId('s', { limit: 1 })))).toEqual([0]);
    expect(await store.sweep(ms(15))).toMatchObject({ events: 2 });
    expect(times(await collect(store.eventsBySendId('s')))).toEqual([20]);
    expect((await store.aggregates.links('s')).map((l) => [l.linkName, l.clicks])).toEqual([['new', 1]]);
    await store.close();
    open.length = 0;
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    expect((await db.get(VERSION_KEY))?.toString()).toBe(LAYOUT_VERSION);
    await db.close();
  });
});
