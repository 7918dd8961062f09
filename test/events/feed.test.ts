import { describe, expect, it } from 'vitest';
import { EventFeed, EventsErrorCode } from '../../src/events/index.js';
import { idOf, makeEvent, onCleanup, openFeed, range, tempDir } from './fixtures.js';

async function allEntries(feed: EventFeed) {
  return feed.read(0, 1_000_000);
}

describe('event feed', () => {
  it('keeps appended events in append order with contiguous sequence numbers, across a reopen', async () => {
    const dir = tempDir();
    const feed = new EventFeed(dir);
    await feed.open();
    // Concurrent appends share batches (group commit) and each resolves only once written.
    await Promise.all(range(0, 50).map((n) => feed.append([makeEvent(2 * n), makeEvent(2 * n + 1)])));
    expect(feed.stats().appendBatches).toBeLessThan(50);
    await feed.close();

    const again = await openFeed(dir);
    await again.append([makeEvent(100)]);
    const entries = await allEntries(again);
    expect(entries.map((e) => e.seq)).toEqual(range(1, 101));
    // Pairs stay together and in call order.
    expect(entries.map((e) => e.event.id)).toEqual(range(0, 101).map((n) => idOf(n)));
    expect(entries[0]!.appendedAt).toBeGreaterThan(Date.now() - 60_000);
  });

  it('reads after a sequence number, up to a limit', async () => {
    const feed = await openFeed();
    await feed.append(range(0, 10).map((n) => makeEvent(n)));
    expect((await feed.read(3, 4)).map((e) => e.seq)).toEqual([4, 5, 6, 7]);
    expect(await feed.read(10, 5)).toEqual([]);
  });

  it('keeps cursors across a reopen and deletes entries only once every attached sink has passed them', async () => {
    const dir = tempDir();
    const feed = new EventFeed(dir);
    await feed.open();
    feed.attachSinks(['a', 'b']);
    await feed.append(range(0, 10).map((n) => makeEvent(n)));
    await feed.advance('a', 8);
    expect((await allEntries(feed)).length).toBe(10);
    await feed.advance('b', 5);
    expect((await allEntries(feed)).map((e) => e.seq)).toEqual([6, 7, 8, 9, 10]);
    expect(feed.stats().retained).toBe(5);
    await feed.close();

    const again = await openFeed(dir);
    expect(again.cursor('a')).toBe(8);
    expect(again.cursor('b')).toBe(5);
    // Sink b is gone from the configuration: it holds nothing back any more.
    again.attachSinks(['a']);
    await again.advance('a', 10);
    expect(await allEntries(again)).toEqual([]);
    // Sequence numbers go on after every entry was deleted.
    await again.append([makeEvent(10)]);
    expect((await allEntries(again)).map((e) => e.seq)).toEqual([11]);
    expect(again.lastSeq).toBe(11);
  });

  it('stores dead letters with the cursor advance', async () => {
    const feed = await openFeed();
    feed.attachSinks(['hook']);
    await feed.append([makeEvent(1), makeEvent(2)]);
    const [first] = await feed.read(0, 1);
    await feed.advance('hook', 1, [{ ...first!, deadAt: 5, attempts: 3, reason: 'EEVENTS_HTTP_STATUS: 500' }]);
    const letters = [];
    for await (const letter of feed.deadLetters('hook')) letters.push(letter);
    expect(letters).toEqual([{ ...first!, deadAt: 5, attempts: 3, reason: 'EEVENTS_HTTP_STATUS: 500' }]);
    expect(feed.cursor('hook')).toBe(1);
  });

  it('refuses a bad event alone, without failing the events appended with it', async () => {
    const feed = await openFeed();
    const bad = { ...makeEvent(1), time: new Date(Number.NaN) };
    const results = await Promise.allSettled([feed.append([makeEvent(0)]), feed.append([bad]), feed.append([makeEvent(2)])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: EventsErrorCode.INVALID });
    expect((await allEntries(feed)).map((e) => e.event.id)).toEqual([idOf(0), idOf(2)]);
  });

  it('rejects bad and duplicate sink names', async () => {
    const feed = await openFeed();
    expect(() => feed.attachSinks(['a!b'])).toThrow(expect.objectContaining({ code: EventsErrorCode.INVALID }));
    expect(() => feed.attachSinks(['a', 'a'])).toThrow(expect.objectContaining({ code: EventsErrorCode.INVALID }));
  });

  it('says so when another process holds the directory', async () => {
    const dir = tempDir();
    await openFeed(dir);
    const second = new EventFeed(dir);
    await expect(second.open()).rejects.toMatchObject({ code: EventsErrorCode.FEED_IO, message: expect.stringContaining('locked') });
  });

  it('refuses appends once closed', async () => {
    const feed = new EventFeed(tempDir());
    await feed.open();
    onCleanup(() => feed.close());
    const pending = feed.append([makeEvent(1)]);
    await feed.close();
    await pending;
    await expect(feed.append([makeEvent(2)])).rejects.toMatchObject({ code: EventsErrorCode.CLOSED });
  });

  it('wakes a waiter on append, and on timeout', async () => {
    const feed = await openFeed();
    const woke = feed.waitForEntries(0);
    await feed.append([makeEvent(1)]);
    await woke;
    const started = Date.now();
    await feed.waitForEntries(1, { timeoutMs: 50 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
  });
});
