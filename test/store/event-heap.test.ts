import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byTimeThenId, EventHeap } from '../../src/store/event-heap.js';
import type { EncodedEvent } from '../../src/store/values.js';

describe('EventHeap', () => {
  it('pops any pushed events in (time, id) order, pushes and pops interleaved', () => {
    const event = fc.record({ timeMs: fc.integer({ min: 0, max: 50 }), id: fc.uint8Array({ minLength: 1, maxLength: 3 }) });
    fc.assert(
      fc.property(fc.array(fc.tuple(event, fc.boolean()), { maxLength: 200 }), (steps) => {
        const heap = new EventHeap();
        const held: EncodedEvent[] = [];
        for (const [e, popAfter] of steps) {
          const encoded: EncodedEvent = { timeMs: e.timeMs, id: Buffer.from(e.id), value: Buffer.alloc(0) };
          heap.push(encoded);
          held.push(encoded);
          if (popAfter) {
            held.sort(byTimeThenId);
            const expected = held.shift()!;
            const got = heap.pop();
            expect(byTimeThenId(got, expected)).toBe(0);
          }
          expect(heap.size).toBe(held.length);
        }
        held.sort(byTimeThenId);
        for (const expected of held) expect(byTimeThenId(heap.pop(), expected)).toBe(0);
        expect(heap.size).toBe(0);
      }),
    );
  });
});
