// Later verdicts of recorded events (src/truth reclassification): read back with the events, in every
// time range, and swept with them.
import { afterEach, describe, expect, it } from 'vitest';
import type { LevelTrackStore } from '../../src/store/index.js';
import { collect, event, openStore } from './fixtures.js';

let store: LevelTrackStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const at = (s: number) => new Date(Date.UTC(2026, 5, 1, 12, 0, s));

describe('recordVerdicts', () => {
  it('gives events their later verdict, and leaves the others and other sends alone', async () => {
    store = await openStore();
    const first = event('s1', at(1));
    const second = event('s1', at(1), { ip: '192.0.2.2' });
    const third = event('s1', at(3), { machine: true, machineReason: 'burst' });
    const elsewhere = event('s2', at(1));
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
    const ranged = await collect(store.eventsBySendId('s1', { since: at(1), until: at(2) }));
    expect(ranged.filter((e) => e.machine)).toHaveLength(1);
  });

  it('are swept with the events they belong to', async () => {
    store = await openStore();
    const old = event('s1', at(1));
    const kept = event('s1', at(30));
    await store.recordEvents([old, kept]);
    await store.recordVerdicts([
      { ...old, machine: true, machineReason: 'honeypot' },
      { ...kept, machine: true, machineReason: 'honeypot' },
    ]);
    await store.sweep(at(10));
    const read = await collect(store.eventsBySendId('s1'));
    expect(read.map((e) => [e.time.getTime(), e.machineReason])).toEqual([[at(30).getTime(), 'honeypot']]);
    // the old verdict is gone with its event: an event recorded again at that time and id is a person
    await store.recordEvents([old]);
    expect((await collect(store.eventsBySendId('s1'))).map((e) => e.machine)).toEqual([false, true]);
  });
});
