// The daemon's resolver on a real LevelDB store: a stateful link whose row and message are in the read
// cache resolves synchronously (no promise), and the redirector then still records every click.
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyring, mintStatefulClick, mintStatefulOpen, signingKey, urlRowId } from '../../src/tokens/index.js';
import { createStoreResolver } from '../../src/app/store-resolver.js';
import type { RedirectorServer } from '../../src/redirector/server.js';
import type { ResolvedLink, TrackingRoute } from '../../src/redirector/types.js';
import type { LevelTrackStore } from '../../src/store/index.js';
import { collect, openedAfterWriting, openStore } from '../store/fixtures.js';
import { request, startServer } from '../redirector/fixtures.js';

const key = signingKey(3, Buffer.alloc(32, 9));
const keyring = createKeyring([key], 3);
const SEND = { sendId: 'a100525', listId: 'list1' };
const URL_ROW = { ...SEND, url: 'https://shop.example/sale', linkName: 'sale' };
const MESSAGE_ID = Buffer.from('message-0001');

const open: LevelTrackStore[] = [];
let server: RedirectorServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const store of open.splice(0)) await store.close();
});

/**
 * A store holding one message and its row, and the two stateful tokens that name them. The store that
 * recorded them keeps them in its read cache; unless `written`, the store returned is the same
 * directory opened again, as after a restart, with nothing cached.
 */
async function storeWithMessage(written = false): Promise<{ store: LevelTrackStore; click: string; open: string }> {
  const rowId = urlRowId(key, URL_ROW);
  const record = (writer: LevelTrackStore): Promise<void> =>
    writer.recordMessage(
      { id: MESSAGE_ID, recipients: ['rcpt@example.org'], emailCode: 'code7', ...SEND, queueId: 'Q1', time: new Date(Date.now() - 60_000) },
      [{ id: rowId, ...URL_ROW }],
    );
  let store: LevelTrackStore;
  if (written) {
    store = await openStore();
    await record(store);
  } else {
    store = await openedAfterWriting(record);
  }
  open.push(store);
  return {
    store,
    click: mintStatefulClick(keyring, { rowId, messageId: MESSAGE_ID, position: 2, part: 'h' }),
    open: mintStatefulOpen(keyring, { messageId: MESSAGE_ID }),
  };
}

const route = (kind: 'click' | 'open', token: string, query = ''): TrackingRoute => ({ style: 'compact', kind, token, query, path: `/${kind[0]}/${token}` });
const isPromise = (value: unknown): boolean => typeof (value as { then?: unknown } | null)?.then === 'function';

describe('the store resolver', () => {
  it('answers from the read cache without a promise once a row and its message were read', async () => {
    const { store, click, open: openToken } = await storeWithMessage();
    const resolver = createStoreResolver(keyring, store);

    const cold = resolver.resolve(route('click', click, 'sub=alice'));
    expect(isPromise(cold)).toBe(true);
    const first = (await cold) as ResolvedLink;
    expect(first).toMatchObject({ kind: 'click', url: 'https://shop.example/sale?sub=alice', recipient: 'rcpt@example.org', emailCode: 'code7', position: 2 });

    const warm = resolver.resolve(route('click', click, 'sub=alice'));
    expect(isPromise(warm)).toBe(false);
    expect(warm).toEqual(first);
    // The message is cached now too: the open of the same message needs no read either.
    const openLink = resolver.resolve(route('open', openToken));
    expect(isPromise(openLink)).toBe(false);
    expect(openLink).toMatchObject({ kind: 'open', ...SEND, recipient: 'rcpt@example.org' });
    expect(store.stats().readCache).toMatchObject({ rows: { hits: 1, misses: 1 }, messages: { hits: 2, misses: 1 } });
  });

  it('answers the first click and open of a message the same process recorded without a promise', async () => {
    const { store, click, open: openToken } = await storeWithMessage(true);
    const resolver = createStoreResolver(keyring, store);
    const first = resolver.resolve(route('click', click, 'sub=alice'));
    expect(isPromise(first)).toBe(false);
    expect(first).toMatchObject({ kind: 'click', url: 'https://shop.example/sale?sub=alice', recipient: 'rcpt@example.org', emailCode: 'code7', position: 2 });
    expect(resolver.resolve(route('open', openToken))).toMatchObject({ kind: 'open', ...SEND, recipient: 'rcpt@example.org' });
    expect(store.stats().readCache).toMatchObject({ rows: { hits: 1, misses: 0 }, messages: { hits: 2, misses: 0 } });
  });

  it('still reads the store when only part of a click is cached, and answers null for what is not there', async () => {
    const { store, click, open: openToken } = await storeWithMessage();
    const resolver = createStoreResolver(keyring, store);
    expect(await resolver.resolve(route('open', openToken))).toMatchObject({ kind: 'open' }); // caches the message only
    const partly = resolver.resolve(route('click', click));
    expect(isPromise(partly)).toBe(true);
    expect(await partly).toMatchObject({ kind: 'click', url: 'https://shop.example/sale' });
    const unknown = mintStatefulOpen(keyring, { messageId: Buffer.from('message-9999') });
    expect(await resolver.resolve(route('open', unknown))).toBeNull();
  });

  it('behind the redirector: cached clicks are redirected and every one is recorded', async () => {
    const { store, click } = await storeWithMessage();
    server = await startServer({ resolver: createStoreResolver(keyring, store), events: { record: (events) => store.recordEvents(events) } });
    for (let i = 0; i < 3; i++) {
      const reply = await request(server.port, `/c/${click}?n=${i}`);
      expect(reply.status).toBe(302);
      expect(reply.headers.location).toBe(`https://shop.example/sale?n=${i}`);
    }
    expect(store.stats().readCache.rows).toMatchObject({ hits: 2, misses: 1 });
    const events = await collect(store.eventsBySendId(SEND.sendId));
    expect(events.map((e) => [e.type, e.url, e.recipient])).toEqual([0, 1, 2].map((i) => ['click', `https://shop.example/sale?n=${i}`, 'rcpt@example.org']));
  });
});
