import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Fifo } from '../../src/util/fifo.js';

describe('Fifo', () => {
  it('gives items back in the order they came, across its compaction, as an array used as a queue does', () => {
    // Runs long enough to pass the 1,024-item compaction point several times.
    const op = fc.oneof(
      { arbitrary: fc.record({ push: fc.integer() }), weight: 20 },
      { arbitrary: fc.constant({ shift: true as const }), weight: 20 },
      { arbitrary: fc.constant({ clear: true as const }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 5000 }), fc.integer({ min: 0, max: 3000 }), (ops, preload) => {
        const fifo = new Fifo<number>();
        const model: number[] = [];
        for (let i = 0; i < preload; i++) {
          fifo.push(-i);
          model.push(-i);
        }
        for (const o of ops) {
          if ('push' in o) {
            fifo.push(o.push);
            model.push(o.push);
          } else if ('shift' in o) {
            expect(fifo.shift()).toBe(model.shift());
          } else {
            fifo.clear();
            model.length = 0;
          }
          expect(fifo.length).toBe(model.length);
        }
        while (model.length > 0) expect(fifo.shift()).toBe(model.shift());
        expect(fifo.shift()).toBeUndefined();
        expect(fifo.length).toBe(0);
      }),
      { numRuns: 60 },
    );
  });
});
