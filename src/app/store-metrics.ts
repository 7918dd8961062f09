// The store's figures on /metrics, read at scrape time.
import type { MetricsRegistry } from '../metrics/registry.js';
import type { TrackStore, ReadCacheStats } from '../store/index.js';
import type { StoreHealth, StoreOutboxStats } from '../store/types.js';

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

  if (store.health) storeHealthMetrics(metrics, () => store.health!());
}

/** A store on a server (PostgreSQL): whether it is reachable, what failed, and the outbox waiting for it. */
function storeHealthMetrics(metrics: MetricsRegistry, health: () => StoreHealth): void {
  metrics.gauge('trackmilter_store_available', 'Whether the store database (PostgreSQL) is usable now: 1, or 0 while unreachable or too slow.', () =>
    health().available ? 1 : 0,
  );
  metrics.collected(
    'trackmilter_store_errors_total',
    'Operations on PostgreSQL that failed, or were refused at once while it was unavailable, by error code (ESTORE_UNAVAILABLE: unreachable or too slow).',
    'counter',
    ['code'],
    () => Object.entries(health().errors).map(([code, n]) => [[code], n]),
  );
  const outbox = (): StoreOutboxStats | undefined => health().outbox;
  metrics.gauge('trackmilter_store_outbox_events', 'Events and verdict changes waiting in the local outbox for PostgreSQL.', () => outbox()?.waiting ?? 0);
  metrics.gauge('trackmilter_store_outbox_oldest_seconds', 'How long the oldest event in the outbox has waited (0 when none waits).', () => {
    const oldest = outbox()?.oldestAt;
    return oldest === undefined ? 0 : (Date.now() - oldest) / 1000;
  });
  metrics.collected('trackmilter_store_outbox_written_total', 'Events from the outbox written to PostgreSQL.', 'counter', [], () => [
    [[], outbox()?.written ?? 0],
  ]);
  metrics.collected(
    'trackmilter_store_outbox_rejected_total',
    'Events from the outbox PostgreSQL refused for another reason than being unreachable: set aside (ESTORE_OUTBOX_REJECTED).',
    'counter',
    [],
    () => [[[], outbox()?.rejected ?? 0]],
  );
  metrics.collected(
    'trackmilter_store_outbox_refused_total',
    'Events not recorded because the outbox was at a limit (ESTORE_OUTBOX_FULL).',
    'counter',
    [],
    () => [[[], outbox()?.refused ?? 0]],
  );
}
