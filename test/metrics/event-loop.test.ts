import { describe, expect, it } from 'vitest';
import { eventLoopDelayMetrics } from '../../src/metrics/event-loop.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';

function sample(text: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`trackmilter_event_loop_delay_seconds${labels} `));
  return Number(line?.split(' ')[1]);
}

describe('event-loop delay on /metrics', () => {
  it('shows a main thread held for 300 ms in its max, net of the sampling interval', async () => {
    const metrics = new MetricsRegistry();
    const stop = eventLoopDelayMetrics(metrics, 10);
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const until = Date.now() + 300;
      while (Date.now() < until) {
        // Holds the thread, as a synchronous rewrite of a large message did.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const text = metrics.render();
      expect(sample(text, '{quantile="max"}')).toBeGreaterThanOrEqual(0.28);
      expect(sample(text, '{quantile="0.5"}')).toBeLessThan(sample(text, '{quantile="max"}'));
      expect(text).toMatch(/^trackmilter_event_loop_delay_samples_total [1-9]\d*$/m);
    } finally {
      stop();
    }
  });
});
