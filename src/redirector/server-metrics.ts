// The redirector's metrics, registered once on the shared registry and kept as children, so that a
// request touches no label lookup it can avoid.
import type { Counter, CounterChild, Histogram, MetricsRegistry } from '../metrics/registry.js';
import type { LinkKind } from './types.js';

export type RouteLabel = 'click' | 'open' | 'healthz' | 'metrics' | 'other';

export interface RedirectorMetrics {
  requests: Counter;
  latency: Histogram;
  /** By kind, then by machine flag: kept, as Counter.labels asks, rather than looked up per event. */
  eventsRecorded: Record<LinkKind, { person: CounterChild; machine: CounterChild }>;
  eventFailures: CounterChild;
  /** Clicks and opens turned from person to machine by later evidence (src/truth). */
  reclassified: Record<LinkKind, CounterChild>;
  reclassifyFailures: CounterChild;
  rejected: Counter;
  limits: Counter;
  handedToNode: Counter;
}

export function registerMetrics(registry: MetricsRegistry): RedirectorMetrics {
  return {
    requests: registry.counter('trackmilter_http_requests_total', 'HTTP requests answered, by route and status.', ['route', 'status']),
    latency: registry.histogram('trackmilter_http_request_duration_seconds', 'Time from request head to response, event write included.'),
    eventsRecorded: recordedByKind(
      registry.counter('trackmilter_events_recorded_total', 'Click and open events written by the redirector.', ['type', 'machine']),
    ),
    eventFailures: registry.counter('trackmilter_event_record_failures_total', 'Events whose write failed (the response was still sent).').labels(),
    reclassified: reclassifiedByKind(
      registry.counter('trackmilter_events_reclassified_total', 'Clicks and opens recorded as a person and turned into a machine by later evidence.', ['type']),
    ),
    reclassifyFailures: registry
      .counter('trackmilter_event_reclassify_failures_total', 'Verdict changes whose write failed (reports keep the earlier verdict).')
      .labels(),
    rejected: registry.counter('trackmilter_http_rejected_total', 'Tracking requests refused, by reason.', ['reason']),
    limits: registry.counter('trackmilter_http_limit_hits_total', 'Requests cut off by an abuse limit, by limit.', ['limit']),
    handedToNode: registry.counter('trackmilter_http_handed_to_node_total', 'Connections the fast front passed to node:http, by reason.', ['reason']),
  };
}

function reclassifiedByKind(counter: Counter): RedirectorMetrics['reclassified'] {
  return { click: counter.labels('click'), open: counter.labels('open') };
}

function recordedByKind(counter: Counter): RedirectorMetrics['eventsRecorded'] {
  const byMachine = (kind: LinkKind) => ({ person: counter.labels(kind, 'false'), machine: counter.labels(kind, 'true') });
  return { click: byMachine('click'), open: byMachine('open') };
}
