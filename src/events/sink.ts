/** What a sink is to the runner that feeds it (./sink-runner.ts). */
import type { BackoffOptions } from './backoff.js';
import type { FeedEntry } from './feed.js';

export interface DeliveryPolicy {
  /** Most entries handed to one deliver() call. */
  batchSize: number;
  /** How long a batch smaller than batchSize waits for more entries, counted from its oldest entry's append. */
  lingerMs: number;
  /** Delays between failed attempts. */
  backoff: BackoffOptions;
  /**
   * A batch whose oldest entry was appended this long ago and whose attempt fails is dead-lettered (kept
   * in the feed's dead-letter range, logged, counted) and delivery moves on. Undefined: retry forever.
   */
  deadLetterAfterMs: number | undefined;
}

export interface Sink {
  /** The name of the sink's cursor in the feed: stable across restarts, unique, [A-Za-z0-9_.:-]. */
  readonly name: string;
  readonly policy: DeliveryPolicy;
  /**
   * Delivers a batch, in order, or throws. Called for one batch at a time; after a throw the same
   * entries come again (until dead-lettered). `signal` aborts when close() hits its deadline.
   */
  deliver(entries: readonly FeedEntry[], signal: AbortSignal): Promise<void>;
  /** Releases files, timers and connections. Called once, after the last deliver(). */
  close(): Promise<void>;
}
