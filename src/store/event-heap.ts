// The order events are read in, and the heap that merges overlapping batch records into it
// (level-store.ts, eventsInOrder).
import type { EncodedEvent } from './values.js';

/** The order layout 1's keys gave events: time, then id bytes. */
export function byTimeThenId(a: EncodedEvent, b: EncodedEvent): number {
  return a.timeMs - b.timeMs || Buffer.compare(a.id, b.id);
}

/** A binary min-heap of events in byTimeThenId order: the merge of overlapping batch records. */
export class EventHeap {
  private readonly items: EncodedEvent[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): EncodedEvent {
    return this.items[0]!;
  }

  push(event: EncodedEvent): void {
    const items = this.items;
    let i = items.push(event) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (byTimeThenId(items[parent]!, event) <= 0) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = event;
  }

  pop(): EncodedEvent {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= items.length) break;
      if (child + 1 < items.length && byTimeThenId(items[child + 1]!, items[child]!) < 0) child += 1;
      if (byTimeThenId(last, items[child]!) <= 0) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
