// The tracking pool as the daemon runs it: its size from `milter.workers`, its figures on /metrics.
import os from 'node:os';
import type { ConfigValues } from '../config/load.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import type { Keyring } from '../tokens/index.js';
import type { Logger } from '../util/log.js';
import { TrackingPool } from '../tracking/worker-pool.js';
import { inlineWork, pooledWork, type TrackingWork } from '../tracking/tracking-work.js';

/**
 * `milter.workers`: -1 is one per core. Not one less for the main thread: it mostly waits on sockets,
 * and with one worker on two cores every message queued behind the one before (bench:mta over inet:
 * 0.79 of the echo milter with one worker, 0.94 with two; README, "Worker threads").
 */
export function workerCount(setting: number, cores = os.availableParallelism()): number {
  return setting >= 0 ? setting : Math.max(1, cores);
}

/** Where the milter's tracking work runs, and how to stop it; null pool when it all runs inline. */
export async function startTrackingWork(
  config: ConfigValues,
  keyring: Keyring,
  logger: Logger,
  metrics: MetricsRegistry,
): Promise<{ work: TrackingWork; pool: TrackingPool | null }> {
  const inline = inlineWork(config, keyring);
  const size = workerCount(config['milter.workers']);
  if (size === 0) return { work: inline, pool: null };
  const pool = await TrackingPool.start({ size, config, keyring, logger });
  metrics.gauge('trackmilter_tracking_workers', "Worker threads doing the milter's message work.", () => pool.stats().size);
  metrics.gauge('trackmilter_tracking_workers_busy', 'Worker threads working on a message now.', () => pool.stats().busy);
  metrics.gauge('trackmilter_tracking_queue', 'Messages waiting for a free worker thread.', () => pool.stats().queued);
  metrics.collected('trackmilter_tracking_worker_messages_total', 'Messages whose work ran on a worker thread.', 'counter', [], () => [
    [[], pool.stats().done],
  ]);
  metrics.collected(
    'trackmilter_tracking_workers_replaced_total',
    'Worker threads terminated (a message overran milter.filter_timeout_ms, or the thread died) and started again.',
    'counter',
    [],
    () => [[[], pool.stats().replaced]],
  );
  return { work: pooledWork(pool, inline, config['milter.worker_min_bytes']), pool };
}
