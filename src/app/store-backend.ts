// The tracking store the config names: LevelDB in data.dir (one process), or a shared PostgreSQL (a fleet).
import path from 'node:path';
import type { ConfigValues } from '../config/load.js';
import type { Logger } from '../util/log.js';
import { LevelTrackStore, type TrackStore } from '../store/index.js';
import { PgTrackStore } from '../store/postgres/pg-store.js';

export function createTrackStore(config: ConfigValues, dataDir: string, logger: Logger): TrackStore {
  const readCacheEntries = config['store.read_cache_entries'];
  if (config['store.backend'] === 'postgres') {
    return new PgTrackStore({
      url: config['store.postgres_url'],
      poolSize: config['store.postgres_pool'],
      connectTimeoutMs: config['store.postgres_connect_timeout_ms'],
      queryTimeoutMs: config['store.postgres_query_timeout_ms'],
      retryMs: config['store.postgres_retry_ms'],
      logger,
      // A daemon started while PostgreSQL is down serves what it can (degraded) rather than exiting.
      startUnavailable: true,
      // Events recorded while PostgreSQL is down wait here (this host's disk) until it is back.
      outbox: {
        dir: path.join(dataDir, 'store-outbox'),
        maxEvents: config['store.outbox_max_events'],
        maxAgeMs: config['store.outbox_max_age_hours'] * 3_600_000,
        sync: config['store.sync'],
      },
      readCacheEntries,
    });
  }
  return new LevelTrackStore(path.join(dataDir, 'db'), {
    sync: config['store.sync'],
    readCacheEntries,
    aggregateCacheEntries: config['store.aggregate_cache_entries'],
  });
}
