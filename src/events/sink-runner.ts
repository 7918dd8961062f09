/**
 * Feeds one sink from the event feed: read after the cursor, deliver, advance the cursor, repeat.
 * One batch at a time, so a sink sees entries in feed order and never two batches at once.
 *
 * A failed delivery is retried with backoff (./backoff.ts) on the same entries. When it fails and its
 * oldest entry is older than the policy's dead-letter age, the batch is written to the feed's
 * dead-letter range together with the cursor advance (one atomic batch) and delivery moves on.
 *
 * Stopping: stop() ends waits and backoff sleeps at once and starts no new attempt; an attempt in flight
 * may finish (and its cursor advance) until the deadline, when its signal aborts. Whatever was not
 * acknowledged is delivered again after the next start.
 */
import { errorCode, errorMessage } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { backoffDelay, sleep } from './backoff.js';
import type { DeadLetter, EventFeed, FeedEntry } from './feed.js';
import type { Sink } from './sink.js';

export interface SinkStats {
  name: string;
  /** Events delivered (acknowledged by the sink) and the batches that carried them. */
  delivered: number;
  deliveredBatches: number;
  /** Attempts that failed and were retried. */
  retried: number;
  /** Events given up on after the dead-letter age. */
  deadLettered: number;
  /** Events in the feed this sink has not delivered yet. */
  queueDepth: number;
  /** The last sequence number delivered. */
  cursor: number;
  /** The last failure's code and message, cleared by a success. */
  lastError: string | undefined;
}

/** What one batch's delivery came to. */
type Outcome = { kind: 'delivered' } | { kind: 'dead'; attempts: number; reason: string } | { kind: 'stopped' };

export class SinkRunner {
  private readonly stopping = new AbortController();
  private readonly deadline = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly counts = { delivered: 0, deliveredBatches: 0, retried: 0, deadLettered: 0 };
  private lastError: string | undefined;

  constructor(
    private readonly feed: EventFeed,
    private readonly sink: Sink,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops after the attempt in flight, aborting it at `deadlineMs`; then closes the sink. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping.abort();
    const timer = setTimeout(() => this.deadline.abort(), deadlineMs);
    try {
      await this.loop;
    } finally {
      clearTimeout(timer);
      await this.sink.close();
    }
  }

  stats(): SinkStats {
    const cursor = this.feed.cursor(this.sink.name);
    return {
      name: this.sink.name,
      ...this.counts,
      queueDepth: Math.max(0, this.feed.lastSeq - cursor),
      cursor,
      lastError: this.lastError,
    };
  }

  private async run(): Promise<void> {
    const { batchSize, lingerMs, backoff } = this.sink.policy;
    let feedFailures = 0;
    while (!this.stopping.signal.aborted) {
      try {
        const cursor = this.feed.cursor(this.sink.name);
        let entries = await this.feed.read(cursor, batchSize);
        if (entries.length === 0) {
          await this.feed.waitForEntries(cursor, { signal: this.stopping.signal });
          continue;
        }
        const lingerLeft = entries[0]!.appendedAt + lingerMs - this.now();
        if (entries.length < batchSize && lingerLeft > 0) {
          await this.waitForFullBatch(cursor + batchSize - 1, lingerLeft);
          if (this.stopping.signal.aborted) break;
          entries = await this.feed.read(cursor, batchSize);
        }
        const outcome = await this.deliverWithRetry(entries);
        if (outcome.kind === 'stopped') break;
        const last = entries[entries.length - 1]!.seq;
        const deadLetters = outcome.kind === 'dead' ? entries.map((entry) => this.deadLetter(entry, outcome)) : [];
        await this.feed.advance(this.sink.name, last, deadLetters);
        feedFailures = 0;
        if (outcome.kind === 'dead') {
          this.counts.deadLettered += entries.length;
          this.log.error(
            { sink: this.sink.name, events: entries.length, firstSeq: entries[0]!.seq, lastSeq: last, attempts: outcome.attempts, reason: outcome.reason },
            'event delivery gave up: batch dead-lettered',
          );
        } else {
          this.counts.delivered += entries.length;
          this.counts.deliveredBatches += 1;
        }
      } catch (err) {
        // The feed itself failed (disk full, closed under us): wait and look again.
        if (this.stopping.signal.aborted) break;
        feedFailures += 1;
        this.log.error({ sink: this.sink.name, code: errorCode(err), err: errorMessage(err) }, 'event feed read or cursor write failed');
        await sleep(backoffDelay(feedFailures, backoff), this.stopping.signal);
      }
    }
  }

  /** Waits until the feed holds `seq`, for at most `ms`. */
  private async waitForFullBatch(seq: number, ms: number): Promise<void> {
    const until = this.now() + ms;
    while (this.feed.lastSeq < seq && !this.stopping.signal.aborted) {
      const left = until - this.now();
      if (left <= 0) return;
      await this.feed.waitForEntries(this.feed.lastSeq, { signal: this.stopping.signal, timeoutMs: left });
    }
  }

  private async deliverWithRetry(entries: readonly FeedEntry[]): Promise<Outcome> {
    const { backoff, deadLetterAfterMs } = this.sink.policy;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.sink.deliver(entries, this.deadline.signal);
        if (this.lastError !== undefined) this.log.info({ sink: this.sink.name, attempts: attempt }, 'event delivery recovered');
        this.lastError = undefined;
        return { kind: 'delivered' };
      } catch (err) {
        if (this.deadline.signal.aborted) return { kind: 'stopped' };
        const reason = `${errorCode(err)}: ${errorMessage(err)}`;
        this.lastError = reason;
        const age = this.now() - entries[0]!.appendedAt;
        if (deadLetterAfterMs !== undefined && age >= deadLetterAfterMs) return { kind: 'dead', attempts: attempt, reason };
        if (this.stopping.signal.aborted) return { kind: 'stopped' };
        this.counts.retried += 1;
        const delayMs = backoffDelay(attempt, backoff);
        this.log.warn({ sink: this.sink.name, attempt, delayMs, events: entries.length, reason }, 'event delivery failed; will retry');
        await sleep(delayMs, this.stopping.signal);
        if (this.stopping.signal.aborted) return { kind: 'stopped' };
      }
    }
  }

  private deadLetter(entry: FeedEntry, outcome: { attempts: number; reason: string }): DeadLetter {
    return { ...entry, deadAt: this.now(), attempts: outcome.attempts, reason: outcome.reason };
  }
}
