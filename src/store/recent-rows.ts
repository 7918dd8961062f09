import { BoundedMap } from '../util/bounded-map.js';

/**
 * The URL rows this process wrote lately, so that the thousands of messages of one send do not each
 * rewrite the same rows. Bounded (../util/bounded-map.ts): the rows written longest ago are forgotten first.
 * Forgetting only costs a harmless rewrite of identical content.
 */
export class RecentRows {
  private readonly writtenAt: BoundedMap<number>;

  constructor(
    capacity: number,
    /** A row last written longer ago than this is written again, refreshing its retention time. */
    private readonly refreshAfterMs: number,
  ) {
    this.writtenAt = new BoundedMap(capacity);
  }

  /** Whether a row needs writing for a message at `timeMs`. */
  needsWrite(id: Buffer, timeMs: number): boolean {
    const last = this.writtenAt.peek(id.toString('latin1'));
    return last === undefined || timeMs - last >= this.refreshAfterMs;
  }

  /** Whether this process wrote the row for a message later than `timeMs`. */
  writtenAfter(id: Buffer, timeMs: number): boolean {
    const last = this.writtenAt.peek(id.toString('latin1'));
    return last !== undefined && last > timeMs;
  }

  remember(id: Buffer, timeMs: number): void {
    this.writtenAt.set(id.toString('latin1'), timeMs);
  }

  forget(id: Buffer): void {
    this.writtenAt.delete(id.toString('latin1'));
  }
}
