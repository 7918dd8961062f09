// The store's read cache against real LevelDB: a read that was in flight while its record was swept
// or rewritten must not put back what it read.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type LevelTrackStore, type LevelStoreOptions } from '../../src/store/index.js';
import { message, openedAfterWriting, urlRow } from './fixtures.js';

const open: LevelTrackStore[] = [];
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
});
/** A store holding message(1) and `row`, with nothing cached: its reads go to LevelDB. */
async function reopenedAfterRecording(row: ReturnType<typeof urlRow>, options: LevelStoreOptions = {}): Promise<LevelTrackStore> {
  const store = await openedAfterWriting((writer) => writer.recordMessage(message(1, 's1', at(0)), [row]), options);
  open.push(store);
  return store;
}

const at = (seconds: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));

/**
 * Holds back the answer of the store's next LevelDB get (the read itself runs, on LevelDB) until
 * release() is called, so a test can act while that read is in flight.
 */
function holdNextRead(store: LevelTrackStore): { release(): void } {
  const db = (store as unknown as { level: { db: { get: (key: Buffer) => Promise<Buffer | undefined> } } }).level.db;
  const original = db.get.bind(db);
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  vi.spyOn(db, 'get').mockImplementationOnce(async (key: Buffer) => {
    const value = await original(key);
    await released;
    return value;
  });
  return { release };
}

describe('a read in flight while the cache is emptied', () => {
  it('does not bring back a row and a message the sweep removed', async () => {
    const row = urlRow('s1', 'https://x.example/a');
    const store = await reopenedAfterRecording(row);

    const rowRead = holdNextRead(store);
    const inFlightRow = store.getUrlRow(row.id);
    await store.sweep(at(10));
    rowRead.release();
    expect(await inFlightRow).toBeDefined(); // it read before the sweep: its caller may see the row
    expect(await store.getUrlRow(row.id)).toBeUndefined();

    await store.recordMessage(message(2, 's1', at(20)), []);
    await store.sweep(at(0)); // sweeps nothing, and empties the cache: the read below goes to LevelDB
    const messageRead = holdNextRead(store);
    const inFlightMessage = store.getMessage(message(2).id);
    await store.sweep(at(30));
    messageRead.release();
    expect(await inFlightMessage).toBeDefined();
    expect(await store.getMessage(message(2).id)).toBeUndefined();
  });

  it('does not keep the old time of a row a later message refreshed', async () => {
    const row = urlRow('s1', 'https://x.example/a');
    const store = await reopenedAfterRecording(row, { rowRefreshMs: 60_000 });

    const read = holdNextRead(store);
    const inFlight = store.getUrlRow(row.id);
    await store.recordMessage(message(2, 's1', at(90)), [row]); // older than the refresh age: rewritten
    read.release();
    expect((await inFlight)!.time).toEqual(at(0));
    expect(store.peekUrlRow(row.id)!.time).toEqual(at(90)); // the write's row, not the read's
    expect((await store.getUrlRow(row.id))!.time).toEqual(at(90));
  });

  it('still caches what a read finds when nothing happened meanwhile', async () => {
    const row = urlRow('s1', 'https://x.example/a');
    const store = await reopenedAfterRecording(row);
    await store.getUrlRow(row.id);
    await store.getUrlRow(row.id);
    expect(store.stats().readCache.rows).toEqual({ hits: 1, misses: 1, entries: 1 });
  });
});
