import { afterEach, describe, expect, it } from 'vitest';
import type { LevelTrackStore } from '../../src/store/index.js';
import { message, openStore } from './fixtures.js';

describe('messages of a send', () => {
  let store: LevelTrackStore | undefined;
  afterEach(async () => {
    await store?.close();
  });

  it('are counted per send, with sends whose ids share a prefix kept apart', async () => {
    store = await openStore();
    await Promise.all([
      ...[1, 2, 3].map((n) => store!.recordMessage(message(n, 'a1'), [])),
      ...[4, 5].map((n) => store!.recordMessage(message(n, 'a10'), [])),
      store.recordMessage(message(6, ''), []),
    ]);
    expect(await store.countMessages('a1')).toBe(3);
    expect(await store.countMessages('a10')).toBe(2);
    expect(await store.countMessages('')).toBe(1);
    expect(await store.countMessages('a')).toBe(0);
  });

  it('the sweep removes a message from its send count along with the record', async () => {
    store = await openStore();
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
