// Where a message's tracking work runs: on the main thread (small messages, or `milter.workers = 0`),
// or on the pool of worker threads (the rest), so that large messages never hold up clicks.
import type { ConfigValues } from '../config/load.js';
import type { Keyring } from '../tokens/index.js';
import { trackingHosts } from './settings.js';
import { TrackingCaches } from './tracking-caches.js';
import { prepareTracking } from './tracking-filter.js';
import { workOutcome, type WorkOutcome } from './work-outcome.js';
import type { TrackingPool } from './worker-pool.js';
import type { WorkerEnvelope } from './worker-messages.js';

export interface TrackingWork {
  /** The message's outcome. Its body may be moved to another thread: not to be read afterwards. */
  prepare(msg: WorkerEnvelope, signal: AbortSignal): WorkOutcome | Promise<WorkOutcome>;
}

/** On the calling thread: with `milter.workers = 0`, and for bodies under `milter.worker_min_bytes`. */
export function inlineWork(config: ConfigValues, keyring: Keyring): TrackingWork {
  const caches = new TrackingCaches(trackingHosts(config));
  return { prepare: (msg) => workOutcome(prepareTracking(msg, config, keyring, caches)) };
}

/**
 * Bodies of at least `minBytes` go to the pool; smaller ones stay on the main thread, which they hold
 * only briefly, and where they save the hand-over's fixed cost (`milter.worker_min_bytes`).
 */
export function pooledWork(pool: TrackingPool, inline: TrackingWork, minBytes: number): TrackingWork {
  return {
    prepare: (msg, signal) => (msg.body.length < minBytes ? inline.prepare(msg, signal) : pool.run(msg, signal)),
  };
}
