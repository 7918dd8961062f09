import { BoundedMap } from '../util/bounded-map.js';
import { invalidError } from './errors.js';
import { idBytes } from './keys.js';
import type { ReadCacheStats, RecordId } from './types.js';

/** One read that missed the cache, still waiting for LevelDB. */
interface PendingRead {
  stale: boolean;
}

/**
 * A read-through cache of one kind of record (URL rows, message records), with its hit and miss
 * counts. It never holds an absence.
 *
 * A read that misses keeps what it found unless its key was invalidated (a write replaced the record,
 * a sweep emptied the cache) while it waited for LevelDB: it may have read the record as it was before,
 * and keeping that would bring back a swept or refreshed record for every later read.
 */
export class ReadCache<T> {
  private readonly entries: BoundedMap<T>;
  /** Reads in flight, by key, so that an invalidation can mark them stale. */
  private readonly pending = new Map<string, Set<PendingRead>>();
  private hits = 0;
  private misses = 0;

  constructor(capacity: number) {
    this.entries = new BoundedMap<T>(capacity);
  }

  /** The cached record, or undefined; found, it counts as a hit (a hit is one Map lookup and an add). */
  peek(key: string): T | undefined {
    const cached = this.entries.get(key);
    if (cached !== undefined) this.hits += 1;
    return cached;
  }

  /** The cached record, or what `load` finds (a miss), kept when found and not invalidated meanwhile. */
  async read(key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const cached = this.peek(key);
    if (cached !== undefined) return cached;
    this.misses += 1;
    const read: PendingRead = { stale: false };
    let reads = this.pending.get(key);
    if (!reads) this.pending.set(key, (reads = new Set()));
    reads.add(read);
    try {
      const record = await load();
      if (record !== undefined && !read.stale) this.entries.set(key, record);
      return record;
    } finally {
      reads.delete(read);
      if (reads.size === 0 && this.pending.get(key) === reads) this.pending.delete(key);
    }
  }

  /** The record under `key` changed or is gone: forget it, and what reads in flight will find. */
  /** peek() by record id; a malformed id is a miss (the read that follows reports it). */
  peekId(id: RecordId): T | undefined {
    let bytes: Buffer;
    try {
      bytes = idBytes(id);
    } catch {
      return undefined;
    }
    return this.peek(bytes.toString('latin1'));
  }

  /** read() by record id, `load` given the id's bytes; a malformed id is the store's ESTORE_INVALID. */
  readId(id: RecordId, load: (id: Buffer) => Promise<T | undefined>): Promise<T | undefined> {
    let bytes: Buffer;
    try {
      bytes = idBytes(id);
    } catch (err) {
      return Promise.reject(invalidError(err));
    }
    return this.read(bytes.toString('latin1'), () => load(bytes));
  }

  invalidate(key: string): void {
    this.entries.delete(key);
    const reads = this.pending.get(key);
    if (!reads) return;
    for (const read of reads) read.stale = true;
    this.pending.delete(key);
  }

  /**
   * A record this process has just written: kept as a read would keep it, made by `make` only when the
   * cache keeps anything, and what reads in flight will find (the record as it was before) goes stale.
   */
  written(key: string, make: () => T): void {
    this.invalidate(key);
    if (this.entries.capacity > 0) this.entries.set(key, make());
  }

  /** Forget everything, including what reads in flight will find (after a sweep). */
  clear(): void {
    this.entries.clear();
    for (const reads of this.pending.values()) for (const read of reads) read.stale = true;
    this.pending.clear();
  }

  stats(): ReadCacheStats {
    return { hits: this.hits, misses: this.misses, entries: this.entries.size };
  }
}
