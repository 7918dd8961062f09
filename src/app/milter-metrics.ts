// The milter's message outcomes on /metrics, and their total for /healthz.
import type { MetricsRegistry } from '../metrics/registry.js';
import type { MessageOutcome } from '../milter/session.js';

/** Milter counters on the shared registry, served by /metrics (and the total by /healthz). */
export function milterMetrics(metrics: MetricsRegistry): ((o: MessageOutcome) => void) & { total: () => number } {
  const messages = metrics.counter('trackmilter_milter_messages_total', 'Messages seen by the milter, by outcome', ['outcome']);
  const bytes = metrics.counter('trackmilter_milter_body_bytes_total', 'Body bytes seen by the milter', []);
  const skipped = metrics.counter('trackmilter_milter_skipped_total', 'Messages passed unchanged on purpose or after an error, by reason', ['reason']);
  const limits = metrics.counter('trackmilter_milter_limit_hits_total', 'Messages tracked in part only because they hit a limit (max-links), by limit', [
    'limit',
  ]);
  let total = 0;
  const count = (o: MessageOutcome): void => {
    total += 1;
    messages.labels(o.outcome).inc();
    bytes.inc(o.bodyBytes);
    if (o.reason) skipped.labels(o.reason).inc();
    for (const limit of o.limitsHit ?? []) limits.labels(limit).inc();
  };
  return Object.assign(count, { total: () => total });
}
