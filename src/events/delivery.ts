/**
 * Runs every configured sink against one feed: the piece the daemon starts after opening the feed and
 * stops before closing it.
 *
 *   const feed = new EventFeed(join(dataDir, 'outbox'));
 *   await feed.open();
 *   const delivery = new EventDelivery(feed, [jsonlSink, webhookSink], { log });
 *   delivery.start();
 *   ...
 *   await delivery.close({ deadlineMs: 5000 });
 *   await feed.close();
 */
import { silentLogger, type Logger } from '../util/log.js';
import type { EventFeed, FeedStats } from './feed.js';
import type { Sink } from './sink.js';
import { SinkRunner, type SinkStats } from './sink-runner.js';

interface EventDeliveryStats {
  feed: FeedStats;
  sinks: SinkStats[];
}

export class EventDelivery {
  private readonly runners: SinkRunner[];
  private closing: Promise<void> | undefined;

  constructor(
    private readonly feed: EventFeed,
    sinks: readonly Sink[],
    options: { log?: Logger } = {},
  ) {
    // Before any runner can advance a cursor, so no entry is trimmed that a sink still needs.
    feed.attachSinks(sinks.map((sink) => sink.name));
    const log = options.log ?? silentLogger;
    this.runners = sinks.map((sink) => new SinkRunner(feed, sink, log.child({ sink: sink.name })));
  }

  start(): void {
    for (const runner of this.runners) runner.start();
  }

  /** Counters for /metrics: delivered, retried, dead-lettered and queue depth per sink. */
  stats(): EventDeliveryStats {
    return { feed: this.feed.stats(), sinks: this.runners.map((runner) => runner.stats()) };
  }

  /**
   * Stops every sink: deliveries in flight may finish until `deadlineMs`, then are aborted (and
   * delivered again after the next start). Closes the sinks. Does not close the feed.
   */
  close(options: { deadlineMs?: number } = {}): Promise<void> {
    this.closing ??= Promise.all(this.runners.map((runner) => runner.stop(options.deadlineMs ?? 5000))).then(() => undefined);
    return this.closing;
  }
}
