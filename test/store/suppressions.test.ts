import { afterEach, describe, expect, it } from 'vitest';
import { type LevelTrackStore, type Suppression } from '../../src/store/index.js';
import { SuppressionCache, suppressionKey } from '../../src/store/suppressions.js';
import { collect, event, openStore, tempDir } from './fixtures.js';

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
    const dir = tempDir();
    let store = await fresh(dir);
    await store.changeSuppressions([manual('a', 'x@e.example'), manual('a', 'y@e.example'), manual('ab', 'x@e.example')].map((suppression) => ({ op: 'add', suppression })));
    expect((await collect(store.suppressions('a'))).map((s) => s.address)).toEqual(['x@e.example', 'y@e.example']);
    expect((await collect(store.suppressions())).map((s) => `${s.listId} ${s.address}`)).toEqual(['a x@e.example', 'a y@e.example', 'ab x@e.example']);
    await store.changeSuppressions([{ op: 'remove', listId: 'a', address: 'X@E.EXAMPLE' }]);
    expect(await store.suppressedAmong('a', ['x@e.example', 'y@e.example'])).toEqual(new Set(['y@e.example']));
    await store.sweep(new Date(Date.UTC(2030, 0, 1)));
    await store.close();
    open.splice(open.indexOf(store), 1);
    store = await fresh(dir);
    expect(await store.suppressedAmong('a', ['x@e.example', 'y@e.example'])).toEqual(new Set(['y@e.example']));
    expect(await store.suppressedAmong('ab', ['x@e.example'])).toEqual(new Set(['x@e.example']));
  });

  it('answers repeated lookups from its cache, found and absent alike, and a write updates it', async () => {
    const store = await fresh();
    const people = ['p1@e.example', 'p2@e.example'];
    expect(await store.suppressedAmong('l', people)).toEqual(new Set());
    expect(await store.suppressedAmong('l', people)).toEqual(new Set());
    await store.changeSuppressions([{ op: 'add', suppression: manual('l', 'p2@e.example') }]);
    expect(await store.suppressedAmong('l', people)).toEqual(new Set(['p2@e.example']));
    expect(store.stats().suppressionCache).toEqual({ hits: 4, misses: 2, entries: 2 });
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
