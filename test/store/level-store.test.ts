/** The LevelDB store: the shared contract (./contract.ts), and what only LevelDB has (its reads, sync). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LevelTrackStore, type LevelStoreOptions } from '../../src/store/index.js';
import { storeContract } from './contract.js';
import { collect, event, message, openedAfterWriting, openStore, tempDir, urlRow } from './fixtures.js';

const open: LevelTrackStore[] = [];
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
});
async function fresh(dir?: string, options: LevelStoreOptions = {}): Promise<LevelTrackStore> {
  const store = await openStore(dir, options);
  open.push(store);
  return store;
}

const at = (seconds: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));

describe('TrackStore contract on LevelDB', () => {
  storeContract(() => ({
    newPlace: () => Promise.resolve(tempDir()),
    create: (dir, options) => new LevelTrackStore(dir, options),
    cachesWrites: true,
  }));
});

describe('LevelDB reads through the cache', () => {
  it('answers a second read of a row or message from memory', async () => {
    const row = urlRow('s1', 'https://x.example/a');
    const store = await openedAfterWriting((writer) => writer.recordMessage(message(1, 's1', at(0)), [row])); // nothing cached
    open.push(store);
    const db = (store as unknown as { level: { db: { get: (key: Buffer) => Promise<Buffer | undefined> } } }).level.db;
    const gets = vi.spyOn(db, 'get');
    expect(await store.getUrlRow(row.id)).toMatchObject({ url: 'https://x.example/a' });
    expect(await store.getMessage(message(1).id)).toMatchObject({ sendId: 's1' });
    expect(gets).toHaveBeenCalledTimes(2);
    expect(await store.getUrlRow(row.id)).toMatchObject({ url: 'https://x.example/a' });
    expect(await store.getMessage(message(1).id)).toMatchObject({ sendId: 's1' });
    expect(gets).toHaveBeenCalledTimes(2);
  });

  it('answers the rows and messages it wrote from memory, a refreshed row with its new time', async () => {
    const store = await fresh(undefined, { rowRefreshMs: 60_000 });
    const row = urlRow('s1', 'https://x.example/a');
    const other = urlRow('s1', 'https://x.example/b');
    await store.recordMessage(message(1, 's1', at(0)), [row, other]);
    await store.recordMessage(message(2, 's1', at(90)), [row]); // older than the refresh age: rewritten
    const db = (store as unknown as { level: { db: { get: (key: Buffer) => Promise<Buffer | undefined> } } }).level.db;
    const gets = vi.spyOn(db, 'get');
    expect(await store.getUrlRow(row.id)).toMatchObject({ url: 'https://x.example/a', time: at(90) });
    expect(await store.getUrlRow(other.id)).toMatchObject({ url: 'https://x.example/b', time: at(0) });
    expect(await store.getMessage(message(1).id)).toEqual(message(1, 's1', at(0)));
    expect(await store.getMessage(message(2).id)).toEqual(message(2, 's1', at(90)));
    expect(gets).not.toHaveBeenCalled();
    expect(store.stats().readCache).toEqual({ rows: { hits: 2, misses: 0, entries: 2 }, messages: { hits: 2, misses: 0, entries: 2 } });
  });

  it('keeps nothing of a group whose batch failed, and keeps the same records once written', async () => {
    const store = await fresh();
    const row = urlRow('s1', 'https://x.example/a');
    const level = (store as unknown as { level: { writeBatch: (ops: unknown[]) => Promise<void> } }).level;
    vi.spyOn(level, 'writeBatch').mockRejectedValueOnce(new Error('disk full'));
    await expect(store.recordMessage(message(1, 's1', at(0)), [row])).rejects.toThrow();
    expect(store.peekUrlRow(row.id)).toBeUndefined();
    expect(store.peekMessage(message(1).id)).toBeUndefined();
    await store.recordMessage(message(1, 's1', at(0)), [row]);
    expect(store.peekUrlRow(row.id)).toMatchObject({ url: 'https://x.example/a' });
    expect(store.peekMessage(message(1).id)).toEqual(message(1, 's1', at(0)));
  });

  it('reads LevelDB every time with readCacheEntries 0', async () => {
    const store = await fresh(undefined, { readCacheEntries: 0 });
    await store.recordMessage(message(1, 's1', at(0)), []);
    const db = (store as unknown as { level: { db: { get: (key: Buffer) => Promise<Buffer | undefined> } } }).level.db;
    const gets = vi.spyOn(db, 'get');
    await store.getMessage(message(1).id);
    await store.getMessage(message(1).id);
    expect(gets).toHaveBeenCalledTimes(2);
    expect(store.stats().readCache.messages).toEqual({ hits: 0, misses: 2, entries: 0 });
  });
});

describe('LevelDB lifecycle', () => {
  it('calls before open fail with ESTORE_CLOSED', async () => {
    const store = new LevelTrackStore(tempDir());
    await expect(store.recordMessage(message(1), [])).rejects.toMatchObject({ code: 'ESTORE_CLOSED' });
  });

  it('works with sync: true', async () => {
    const store = await fresh(undefined, { sync: true });
    await store.recordEvents([event('s1', at(1))]);
    expect(await collect(store.eventsBySendId('s1'))).toHaveLength(1);
  });

  it('keeps merging calls that arrive while a batch is being written', async () => {
    const store = await fresh(undefined, { sync: true });
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
