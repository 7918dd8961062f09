import { afterEach, describe, expect, it } from 'vitest';
import { type LevelTrackStore, type Suppression } from '../../src/store/index.js';
import { SuppressionCache, suppressionKey } from '../../src/store/suppressions.js';
import { openStore } from './fixtures.js';

const open: LevelTrackStore[] = [];
afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
});
async function fresh(dir?: string, readCacheEntries?: number): Promise<LevelTrackStore> {
  const store = await openStore(dir, readCacheEntries === undefined ? {} : { readCacheEntries });
  open.push(store);
  return store;
}

const at = (seconds: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
const manual = (listId: string, address: string): Suppression => ({ listId, address, time: at(1), source: 'manual', sendId: '' });

describe('suppressions', () => {
  it('answers repeated lookups from its cache, found and absent alike, and a write updates it', async () => {
    const store = await fresh();
    const people = ['p1@e.example', 'p2@e.example'];
    expect(await store.suppressedAmong('l', people)).toEqual(new Set());
    expect(await store.suppressedAmong('l', people)).toEqual(new Set());
    await store.changeSuppressions([{ op: 'add', suppression: manual('l', 'p2@e.example') }]);
    expect(await store.suppressedAmong('l', people)).toEqual(new Set(['p2@e.example']));
    expect(store.stats().suppressionCache).toEqual({ hits: 4, misses: 2, entries: 2 });
  });

  it('no key holds an address of spaces only', () => {
    expect(() => suppressionKey('l', ' ')).toThrow(RangeError);
  });
});

describe('SuppressionCache', () => {
  it('a lookup that read LevelDB before a write does not keep what it read', () => {
    const cache = new SuppressionCache(100);
    const key = suppressionKey('l', 'ann@mail.example');
    const before = cache.startLookup([key]);
    cache.written(key, true); // an unsubscribe lands while the read is in flight
    before.finish([false]); // the read saw no suppression yet
    expect(cache.lookup(key)).toBe(true);
    const again = cache.startLookup([key]);
    again.finish([false]);
    expect(cache.lookup(key)).toBe(false); // no write meanwhile: kept
  });

  it('a failed lookup keeps nothing', () => {
    const cache = new SuppressionCache(100);
    const key = suppressionKey('l', 'bob@mail.example');
    cache.startLookup([key]).finish([]);
    expect(cache.lookup(key)).toBeUndefined();
  });
});
