/** Event delivery: the durable outbox of recorded events and the sinks it feeds (JSONL, webhooks). */
export { backoffDelay } from './backoff.js';
export { EventDelivery } from './delivery.js';
export { EventsErrorCode } from './errors.js';
export { toEventJson, type SinkEvent } from './event-json.js';
export { EventFeed, type EventFeedOptions } from './feed.js';
export { JsonlSink, type FsyncPolicy } from './jsonl-sink.js';
export { signWebhook, verifyWebhookSignature } from './signature.js';
export type { Sink } from './sink.js';

export { WebhookSink, type WebhookSinkOptions } from './webhook-sink.js';
