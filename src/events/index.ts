/** Event delivery: the durable outbox of recorded events and the sinks it feeds (JSONL, webhooks). */
export { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './backoff.js';
export { EventDelivery, type EventDeliveryStats } from './delivery.js';
export { EventsErrorCode } from './errors.js';
export {
  greenarrowType,
  toEventJson,
  type BounceClassification,
  type DeliveryReportDetails,
  type EventJson,
  type GreenArrowEventType,
  type SinkEvent,
} from './event-json.js';
export { EventFeed, type DeadLetter, type EventFeedOptions, type FeedEntry, type FeedStats } from './feed.js';
export { JsonlSink, type FsyncPolicy, type JsonlSinkOptions } from './jsonl-sink.js';
export { SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook, verifyWebhookSignature, type VerifyOptions } from './signature.js';
export type { DeliveryPolicy, Sink } from './sink.js';
export { SinkRunner, type SinkStats } from './sink-runner.js';
export { WEBHOOK_DEFAULTS, WebhookSink, type WebhookSinkOptions } from './webhook-sink.js';
