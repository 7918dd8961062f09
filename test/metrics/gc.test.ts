import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { gcMetrics } from '../../src/metrics/gc.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import { metricSamples } from '../app/helpers/metrics.js';

/** V8's gc(), without starting node with --expose-gc: the flag set now, read by a new context. */
function fullCollection(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** perf_hooks hands its entries to observers after the collection, on a later turn. */
const entriesDelivered = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 50));

describe('garbage collections on /metrics', () => {
  it('counts a full collection as major and young-generation ones as minor, with their time', async () => {
    const metrics = new MetricsRegistry();
    const stop = gcMetrics(metrics);
    const read = (name: string, kind: string): number => metricSamples(metrics.render(), name).get(`{kind="${kind}"}`) ?? NaN;
    try {
      fullCollection();
      await entriesDelivered();
      const major = read('trackmilter_gc_collections_total', 'major');
      const minor = read('trackmilter_gc_collections_total', 'minor');
      expect(major).toBeGreaterThanOrEqual(1);
      expect(read('trackmilter_gc_seconds_total', 'major')).toBeGreaterThan(0);

      fullCollection();
      await entriesDelivered();
      expect(read('trackmilter_gc_collections_total', 'major')).toBe(major + 1);
      expect(read('trackmilter_gc_collections_total', 'minor')).toBe(minor);

      let garbage: number[][] = [];
      for (let i = 0; i < 500_000; i++) garbage.push([i, i]); // enough young objects for a scavenge
      garbage = [];
      await entriesDelivered();
      expect(read('trackmilter_gc_collections_total', 'minor')).toBeGreaterThan(minor);
      expect(read('trackmilter_gc_seconds_total', 'minor')).toBeGreaterThan(0);
      expect(garbage).toHaveLength(0);
    } finally {
      stop();
    }
  });
});
