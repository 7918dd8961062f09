import { describe, expect, it } from 'vitest';
import { BoundedMap } from '../../src/util/bounded-map.js';

describe('BoundedMap', () => {
  it('holds at most its capacity and forgets first what was not used for longest', () => {
    const map = new BoundedMap<number>(4); // generations of 2
    map.set('a', 1);
    map.set('b', 2); // young {a, b} becomes old
    map.set('c', 3);
    expect(map.get('a')).toBe(1); // used: back to the young generation, which is now full and ages
    map.set('d', 4); // {c, a} are old; b was dropped with the generation before
    expect(map.peek('b')).toBeUndefined();
    expect([map.peek('a'), map.peek('c'), map.peek('d')]).toEqual([1, 3, 4]);
    expect(map.size).toBeLessThanOrEqual(4);
    for (let i = 0; i < 100; i++) map.set(`k${i}`, i);
    expect(map.size).toBeLessThanOrEqual(4);
    expect(map.peek('k99')).toBe(99);
    expect(map.peek('a')).toBeUndefined();
  });

  it('a get keeps an entry, a peek does not', () => {
    const map = new BoundedMap<number>(10);
    map.set('kept', 1);
    map.set('peeked', 2);
    for (let i = 0; i < 10; i++) {
      expect(map.get('kept')).toBe(1);
      map.peek('peeked');
      map.set(`x${i}`, i);
      map.set(`y${i}`, i);
    }
    expect(map.peek('kept')).toBe(1);
    expect(map.peek('peeked')).toBeUndefined();
  });

  it('holds nothing with capacity 0, and empties on clear', () => {
    const none = new BoundedMap<number>(0);
    none.set('a', 1);
    expect(none.get('a')).toBeUndefined();
    const map = new BoundedMap<number>(2);
    map.set('a', 1);
    map.clear();
    expect(map.size).toBe(0);
  });
  it('getOrAdd makes a missing entry once and keeps it, null included, within the bound', () => {
    const map = new BoundedMap<string | null | undefined>(4);
    let made = 0;
    const make = (key: string): string | null | undefined => {
      made += 1;
      return key === 'none' ? null : key === 'never' ? undefined : key.toUpperCase();
    };
    expect([map.getOrAdd('a', make), map.getOrAdd('a', make)]).toEqual(['A', 'A']);
    expect([map.getOrAdd('none', make), map.getOrAdd('none', make)]).toEqual([null, null]);
    expect(made).toBe(2);
    // undefined reads as absent, so it is made again each time rather than kept.
    map.getOrAdd('never', make);
    map.getOrAdd('never', make);
    expect(made).toBe(4);
    for (let i = 0; i < 50; i++) map.getOrAdd(`k${i}`, make);
    expect(map.size).toBeLessThanOrEqual(4);
    expect(map.getOrAdd('a', make)).toBe('A');
    expect(made).toBe(55); // forgotten under the flood, so made again
  });
});
