import { describe, expect, it } from 'vitest';
import { BoundedMap } from '../../src/store/bounded-map.js';

describe('BoundedMap', () => {
  it('forgets the least recently used entry first; a get or a set counts as a use, a peek does not', () => {
    const map = new BoundedMap<number>(3);
    map.set('a', 1);
    map.set('b', 2);
    map.set('c', 3);
    expect(map.get('a')).toBe(1); // a is now the most recent
    expect(map.peek('b')).toBe(2); // b stays the least recent
    map.set('d', 4);
    expect(map.peek('b')).toBeUndefined();
    expect([map.peek('a'), map.peek('c'), map.peek('d')]).toEqual([1, 3, 4]);
    map.set('c', 30); // a set is a use too
    map.set('e', 5);
    expect(map.peek('a')).toBeUndefined();
    expect(map.size).toBe(3);
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
});
