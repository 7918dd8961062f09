// How long the main thread's event loop was late, from perf_hooks' own histogram: what every click,
// open and milter session waits behind when something runs long on that thread.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MetricsRegistry } from './registry.js';

const QUANTILES = [0.5, 0.9, 0.99, 0.999] as const;

/** Registers trackmilter_event_loop_delay_seconds (quantiles and max since start); returns the stop. */
export function eventLoopDelayMetrics(metrics: MetricsRegistry, resolutionMs = 10): () => void {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  // Node measures the whole interval between samples: what is late is the part beyond the resolution.
  const seconds = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, ns / 1e9 - resolutionMs / 1000) : 0);
  metrics.collected(
    'trackmilter_event_loop_delay_seconds',
    `How late the main thread's event loop ran since start (sampled every ${resolutionMs} ms): quantiles, and max.`,
    'gauge',
    ['quantile'],
    () => [...QUANTILES.map((q): [string[], number] => [[String(q)], seconds(histogram.percentile(q * 100))]), [['max'], seconds(histogram.max)]],
  );
  metrics.collected('trackmilter_event_loop_delay_samples_total', 'Samples behind trackmilter_event_loop_delay_seconds.', 'counter', [], () => [
    [[], histogram.count],
  ]);
  return () => histogram.disable();
}
