// The store's figures on /metrics, read at scrape time.
import type { MetricsRegistry } from '../metrics/registry.js';
import type { TrackStore, ReadCacheStats } from '../store/index.js';

/** The store's own figures, read at scrape time: how well the read caches work, how busy writes are. */
export function storeMetrics(metrics: MetricsRegistry, store: TrackStore): void {
  const caches = (): Array<[string, ReadCacheStats]> => {
    const stats = store.stats();
    return [
      ['rows', stats.readCache.rows],
      ['messages', stats.readCache.messages],
      ['suppressions', stats.suppressionCache],
    ];
  };
  metrics.collected(
    'trackmilter_store_read_cache_lookups_total',
    'Reads of URL rows, message records and suppressions, answered from the read cache (hit) or from LevelDB (miss).',
    'counter',
    ['cache', 'result'],
    () =>
      caches().flatMap(([cache, figures]) => [
        [[cache, 'hit'], figures.hits],
        [[cache, 'miss'], figures.misses],
      ]),
  );
  metrics.collected(
    'trackmilter_store_read_cache_entries',
    'Records held in each read cache (store.read_cache_entries each at most).',
    'gauge',
    ['cache'],
    () => caches().map(([cache, figures]) => [[cache], figures.entries]),
  );
  metrics.gauge('trackmilter_store_pending_writes', 'Store writes waiting for, or inside, a LevelDB batch not yet on disk.', () => store.stats().pendingCalls);
}
