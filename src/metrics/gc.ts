// The main thread's garbage collections, by kind, from perf_hooks' own 'gc' entries: a heap that
// collects in full all the time shows here first (src/cli/v8-flags.ts has the story of one).
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import type { MetricsRegistry } from './registry.js';

/** perf_hooks' GC kinds, as the metric's `kind` label says them. */
const KINDS: ReadonlyArray<[kind: number, label: string]> = [
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weak-callbacks'],
];

/** A 'gc' entry's kind (its detail.kind, which Node's typings leave out of PerformanceEntry), or -1. */
function gcKind(entry: PerformanceEntry): number {
  const { detail } = entry as PerformanceEntry & { detail?: { kind?: unknown } };
  return typeof detail?.kind === 'number' ? detail.kind : -1;
}

/** Registers trackmilter_gc_collections_total and trackmilter_gc_seconds_total by kind; returns the stop. */
export function gcMetrics(metrics: MetricsRegistry): () => void {
  // Per kind, by perf_hooks' code: its label, its collections and their pause seconds.
  const totals = new Map(KINDS.map(([kind, label]) => [kind, { label, collections: 0, seconds: 0 }]));
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const total = totals.get(gcKind(entry));
      if (total === undefined) continue;
      total.collections += 1;
      total.seconds += entry.duration / 1000;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  metrics.collected(
    'trackmilter_gc_collections_total',
    "Garbage collections of the main thread's heap since start, by kind (minor: young generation; major: full).",
    'counter',
    ['kind'],
    () => [...totals.values()].map((t): [string[], number] => [[t.label], t.collections]),
  );
  metrics.collected('trackmilter_gc_seconds_total', "Pause time of the main thread's garbage collections since start, by kind.", 'counter', ['kind'], () =>
    [...totals.values()].map((t): [string[], number] => [[t.label], t.seconds]),
  );
  return () => observer.disconnect();
}
