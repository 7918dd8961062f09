// Suppression at end of message against a real store: which recipients go, what the milter is told.
import { afterEach, describe, expect, it } from 'vitest';
import type { LevelTrackStore } from '../../src/store/index.js';
import { suppressRecipients } from '../../src/unsubscribe/suppress.js';
import { openStore } from '../store/fixtures.js';

const stores: LevelTrackStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

const rcpt = (...addresses: string[]) => addresses.map((address) => ({ address, args: [] }));

async function storeWith(listId: string, ...addresses: string[]): Promise<LevelTrackStore> {
  const store = await openStore();
  stores.push(store);
  await store.changeSuppressions(addresses.map((address) => ({ op: 'add', suppression: { listId, address, time: new Date(), source: 'manual', sendId: '' } })));
  return store;
}

describe('suppressRecipients', () => {
  it('suppress: removes the unsubscribed recipients as the envelope spells them, keeps the others', async () => {
    const store = await storeWith('weekly', 'ann@mail.example');
    const s = await suppressRecipients(store, 'weekly', rcpt('bob@mail.example', 'Ann@Mail.Example'), 'suppress');
    expect(s?.kept.map((r) => r.address)).toEqual(['bob@mail.example']);
    expect(s?.result).toEqual({ removeRecipients: ['Ann@Mail.Example'], log: { suppressed: 1, suppression: 'suppress' } });
  });

  it('tag: keeps everyone, adds a header with counts only (no address), logs', async () => {
    const store = await storeWith('weekly', 'ann@mail.example');
    const s = await suppressRecipients(store, 'weekly', rcpt('ann@mail.example', 'bob@mail.example'), 'tag');
    expect(s?.kept).toHaveLength(2);
    expect(s?.removed).toEqual([]);
    expect(s?.result).toEqual({
      headerChanges: [{ op: 'add', name: 'X-Trackmilter-Suppressed', value: '1 of 2 recipients unsubscribed from this list' }],
      log: { unsubscribedRecipients: 1, suppression: 'tag' },
    });
  });

  it('nothing to do without a ListID, for another list, or when nobody unsubscribed', async () => {
    const store = await storeWith('weekly', 'ann@mail.example');
    expect(await suppressRecipients(store, '', rcpt('ann@mail.example'), 'suppress')).toBeNull();
    expect(await suppressRecipients(store, 'monthly', rcpt('ann@mail.example'), 'suppress')).toBeNull();
    expect(await suppressRecipients(store, 'weekly', rcpt('bob@mail.example'), 'suppress')).toBeNull();
  });
});
