// Where recorded events go: the store (reports) and, when sinks are configured, the outbox that feeds
// them. An event is acknowledged (a redirect sent, a bounce accepted) only once both writes are done.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ConfigValues } from '../config/load.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import type { TrackEvent, TrackStore } from '../store/index.js';
import { CodedError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { EventDelivery } from './delivery.js';
import { EventFeed } from './feed.js';
import { JsonlSink } from './jsonl-sink.js';
import type { Sink } from './sink.js';
import { WebhookSink } from './webhook-sink.js';
import { ConfigErrorCode } from '../config/errors.js';

export interface EventPipeline {
  record: (events: readonly TrackEvent[]) => Promise<void>;
  /**
   * Events recorded earlier with a new verdict (same id; machine and machineReason as they are now):
   * the store's reports read it, and with `publish` (the default) sinks get the event again marked
   * `reclassified`. Without it only the store learns of it (a machine event that gained reasons).
   */
  reclassify(events: readonly TrackEvent[], publish?: boolean): Promise<void>;
  /**
   * SIGHUP: a rotated JSONL file is reopened at its configured path. Rejects (EEVENTS_FILE_IO) when it
   * cannot be opened; the sink then retries opening it with each delivery, events waiting in the outbox.
   */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

function outboxDir(dataDir: string): string {
  return path.join(dataDir, 'outbox');
}

export async function startEventPipeline(config: ConfigValues, store: TrackStore, logger: Logger, metrics: MetricsRegistry): Promise<EventPipeline> {
  const sinks = await configuredSinks(config, logger);
  if (sinks.length === 0) {
    return {
      record: (events) => store.recordEvents(events),
      reclassify: (events) => store.recordVerdicts(events),
      reopen: async () => {},
      close: async () => {},
    };
  }
  const feed = new EventFeed(outboxDir(config['data.dir']), { sync: config['store.sync'] });
  await feed.open();
  const delivery = new EventDelivery(feed, sinks, { log: logger });
  delivery.start();
  registerSinkMetrics(metrics, delivery);
  return {
    record: async (events) => {
      await Promise.all([store.recordEvents(events), feed.append(events)]);
    },
    reclassify: async (events, publish = true) => {
      if (!publish) return store.recordVerdicts(events);
      await Promise.all([store.recordVerdicts(events), feed.append(events.map((e) => ({ ...e, reclassified: true })))]);
    },
    async reopen() {
      await Promise.all(sinks.filter((sink) => sink instanceof JsonlSink).map((sink) => sink.reopen()));
    },
    async close() {
      await delivery.close({ deadlineMs: 5000 });
      await feed.close();
    },
  };
}

async function configuredSinks(config: ConfigValues, logger: Logger): Promise<Sink[]> {
  const sinks: Sink[] = [];
  const jsonlPath = config['events.jsonl_path'];
  if (jsonlPath) {
    const fsync = config['events.jsonl_fsync'];
    sinks.push(new JsonlSink({ path: jsonlPath, fsync: fsync === 'interval' ? 1000 : fsync, log: logger }));
  }
  const url = config['events.webhook_url'];
  if (url) {
    sinks.push(
      new WebhookSink({
        name: 'webhook',
        url,
        secret: await readSecret(config['events.webhook_secret_file']),
        batchSize: config['events.webhook_batch_size'],
        deadLetterAfterMs: config['events.webhook_dead_letter_hours'] * 3600_000,
      }),
    );
  }
  return sinks;
}

async function readSecret(file: string): Promise<string> {
  if (!file) throw new CodedError(ConfigErrorCode.INVALID, 'events.webhook_url is set but events.webhook_secret_file is not');
  const info = await stat(file).catch((err: unknown) => {
    throw new CodedError(ConfigErrorCode.INVALID, `cannot read events.webhook_secret_file ${file}: ${(err as Error).message}`, { cause: err });
  });
  if ((info.mode & 0o077) !== 0) throw new CodedError(ConfigErrorCode.INVALID, `events.webhook_secret_file ${file} is readable by others; chmod 600 it`);
  const secret = (await readFile(file, 'utf8')).trim();
  if (secret.length < 16) throw new CodedError(ConfigErrorCode.INVALID, `events.webhook_secret_file ${file} holds fewer than 16 characters`);
  return secret;
}

function registerSinkMetrics(metrics: MetricsRegistry, delivery: EventDelivery): void {
  const stat = (name: string) => (): { delivered: number; retried: number; deadLettered: number; queueDepth: number } =>
    delivery.stats().sinks.find((s) => s.name === name) ?? { delivered: 0, retried: 0, deadLettered: 0, queueDepth: 0 };
  for (const s of delivery.stats().sinks) {
    const read = stat(s.name);
    const prefix = `trackmilter_sink_${s.name.replace(/[^a-z0-9_]/gi, '_')}`;
    metrics.gauge(`${prefix}_delivered`, `Events delivered to the ${s.name} sink`, () => read().delivered);
    metrics.gauge(`${prefix}_retried`, `Failed deliveries retried by the ${s.name} sink`, () => read().retried);
    metrics.gauge(`${prefix}_dead_lettered`, `Events set aside by the ${s.name} sink after failing too long`, () => read().deadLettered);
    metrics.gauge(`${prefix}_queue_depth`, `Events waiting for the ${s.name} sink`, () => read().queueDepth);
  }
}
