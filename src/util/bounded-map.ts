/**
 * A map that keeps about `capacity` entries and forgets the ones unused longest, in two generations:
 * new entries go to the young one; when it holds half the capacity it becomes the old one and the old
 * one is dropped whole. A hit in the old generation moves the entry to the young one. Cheaper than an
 * exact LRU on the hot path (a hit in the young generation is one Map lookup), and as good for caches.
 * Keys are strings (ids as latin1, one char per byte). Used by the store's caches, the milter's row-id
 * memo and the redirector's user-agent verdicts.
 */
export class BoundedMap<V> {
  private young = new Map<string, V>();
  private old = new Map<string, V>();
  private readonly generationSize: number;

  constructor(readonly capacity: number) {
    this.generationSize = Math.ceil(capacity / 2);
  }

  /** Entries held; at most capacity, rounded up to an even number. */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /** Counts as a use: an entry found in the old generation moves to the young one. */
  get(key: string): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aging = this.old.get(key);
    if (aging !== undefined) this.set(key, aging); // set() takes it out of the old generation
    return aging;
  }

  /**
   * The entry under `key`, made by `make` and kept when there is none: a memo of a pure function.
   * `make`'s undefined is not kept (it would read as absent); anything else is, null included.
   */
  getOrAdd(key: string, make: (key: string) => V): V {
    let value = this.get(key);
    if (value === undefined) {
      value = make(key);
      if (value !== undefined) this.set(key, value);
    }
    return value;
  }

  /** Looks without counting as a use. */
  peek(key: string): V | undefined {
    return this.young.get(key) ?? this.old.get(key);
  }

  set(key: string, value: V): void {
    if (this.capacity <= 0) return;
    this.old.delete(key);
    this.young.set(key, value);
    if (this.young.size >= this.generationSize) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  delete(key: string): void {
    this.young.delete(key);
    this.old.delete(key);
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}
