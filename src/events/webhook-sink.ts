/**
 * Webhook sink: POSTs batches of events as `{"events": [EventJson, ...]}` (./event-json.ts), signed as
 * ./signature.ts describes, to one URL.
 *
 * Any 2xx answer acknowledges the whole batch. Anything else (another status, a network error, no
 * answer within the timeout) fails it, and the runner retries the same batch with backoff until it is
 * acknowledged or dead-lettered. Each endpoint has one request in flight at a time (concurrency 1):
 * that is what keeps batches in feed order at the receiver, since a batch is only sent once the one
 * before it has been acknowledged or dead-lettered. For more throughput raise batchSize, not
 * concurrency. A batch can arrive twice (acknowledged by the receiver but the answer lost, or the
 * process killed before its cursor moved); receivers drop duplicates by event id.
 */
import { VERSION } from '../version.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { EventsErrorCode, eventsError } from './errors.js';
import type { FeedEntry } from './feed.js';
import { SIGNATURE_HEADER, signWebhook, TIMESTAMP_HEADER } from './signature.js';
import type { DeliveryPolicy, Sink } from './sink.js';

export interface WebhookSinkOptions {
  /** The sink's cursor name, e.g. "webhook:crm". */
  name: string;
  url: string;
  /** HMAC key (its UTF-8 bytes). */
  secret: string;
  /** Events per POST. Default 100. */
  batchSize?: number;
  /** How long a batch waits to fill up, ms. Default 500. */
  lingerMs?: number;
  /** Per request, from sending to the last byte of the answer, ms. Default 10,000. */
  timeoutMs?: number;
  /** Retry delays. Default base 1 s, max 5 min. */
  backoff?: Partial<BackoffOptions>;
  /** Give up on a batch older than this that still fails, ms. Default 72 hours; Infinity: never. */
  deadLetterAfterMs?: number;
  /** Extra request headers (e.g. an Authorization the receiver wants). */
  headers?: Record<string, string>;
}

const WEBHOOK_DEFAULTS = {
  batchSize: 100,
  lingerMs: 500,
  timeoutMs: 10_000,
  deadLetterAfterMs: 72 * 3600_000,
} as const;

export class WebhookSink implements Sink {
  readonly name: string;
  readonly policy: DeliveryPolicy;
  private readonly url: URL;
  private readonly secret: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(options: WebhookSinkOptions) {
    this.name = options.name;
    try {
      this.url = new URL(options.url);
    } catch (err) {
      throw eventsError(EventsErrorCode.INVALID, `webhook ${options.name}: bad URL ${JSON.stringify(options.url)}`, err);
    }
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') {
      throw eventsError(EventsErrorCode.INVALID, `webhook ${options.name}: URL must be http or https`);
    }
    if (!options.secret) throw eventsError(EventsErrorCode.INVALID, `webhook ${options.name}: a secret is required`);
    this.secret = options.secret;
    this.timeoutMs = positive(options.timeoutMs ?? WEBHOOK_DEFAULTS.timeoutMs, 'timeoutMs');
    this.headers = { ...options.headers };
    const deadLetterAfterMs = options.deadLetterAfterMs ?? WEBHOOK_DEFAULTS.deadLetterAfterMs;
    this.policy = {
      batchSize: positive(options.batchSize ?? WEBHOOK_DEFAULTS.batchSize, 'batchSize'),
      lingerMs: Math.max(0, options.lingerMs ?? WEBHOOK_DEFAULTS.lingerMs),
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      deadLetterAfterMs: Number.isFinite(deadLetterAfterMs) ? deadLetterAfterMs : undefined,
    };
  }

  async deliver(entries: readonly FeedEntry[], signal: AbortSignal): Promise<void> {
    const body = JSON.stringify({ events: entries.map((entry) => entry.event) });
    const timestamp = Math.floor(Date.now() / 1000);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(this.url, {
        method: 'POST',
        body,
        headers: {
          ...this.headers,
          'Content-Type': 'application/json',
          'User-Agent': `trackmilter/${VERSION}`,
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signWebhook(this.secret, timestamp, body),
        },
        signal: AbortSignal.any([signal, timeout]),
      });
      // Read the answer to its end so the connection can be reused (and a receiver that stalls
      // mid-answer runs into the same timeout).
      await response.arrayBuffer();
    } catch (err) {
      throw this.requestError(err, timeout.aborted, signal.aborted);
    }
    if (response.status < 200 || response.status > 299) {
      throw eventsError(EventsErrorCode.HTTP_STATUS, `webhook ${this.name} answered ${response.status} ${response.statusText}`);
    }
  }

  async close(): Promise<void> {
    // fetch keeps no state of ours; idle keep-alive connections belong to undici's global pool.
  }

  private requestError(err: unknown, timedOut: boolean, stopped: boolean): Error {
    if (stopped) return eventsError(EventsErrorCode.STOPPED, `webhook ${this.name}: request aborted by close()`, err);
    if (timedOut) return eventsError(EventsErrorCode.HTTP_TIMEOUT, `webhook ${this.name}: no answer within ${this.timeoutMs} ms`, err);
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    const detail = typeof cause?.code === 'string' ? cause.code : err instanceof Error ? err.message : String(err);
    return eventsError(EventsErrorCode.HTTP_NETWORK, `webhook ${this.name}: request to ${this.url.host} failed: ${detail}`, err);
  }
}

function positive(value: number, what: string): number {
  if (!Number.isFinite(value) || value <= 0) throw eventsError(EventsErrorCode.INVALID, `${what} must be a positive number`);
  return value;
}
