// The long-running process in its three roles:
//   serve       milter + redirector + the store they share (LevelDB allows one process per directory)
//   redirector  redirector alone, for stateless links: keys to verify them, its own store for events
//   milter      milter alone: stateless classes are tracked; stateful ones need the store and pass untouched
import { mkdir } from 'node:fs/promises';
import { MilterServer } from '../milter/server.js';
import { formatSocketSpec, parseSocketSpec } from '../milter/address.js';
import { parseHostPort } from '../util/host-port.js';
import type { MessageFilter } from '../milter/filter.js';
import { DEFAULT_LIMITS, RedirectorServer } from '../redirector/server.js';
import { MetricsRegistry } from '../metrics/registry.js';
import { createStoreResolver } from './store-resolver.js';
import type { ConfigValues } from '../config/load.js';
import type { Logger } from '../util/log.js';
import { createTrackingFilter } from '../tracking/tracking-filter.js';
import { bounceAddressSet, createMessageRouter } from './message-router.js';
import { createBounceReader } from './bounce-reader.js';
import { trackingHosts } from '../tracking/settings.js';
import { loadKeyring, type Keyring } from '../tokens/index.js';
import { isTokenText } from '../tokens/token-text.js';
import type { TrackStore } from '../store/index.js';
import { createTrackStore } from './store-backend.js';
import { storeMetrics } from './store-metrics.js';
import { milterMetrics } from './milter-metrics.js';
import { createAdminApi } from '../admin/admin-api.js';
import { loadOrCreateAdminToken } from '../admin/admin-token.js';
import { createDashboard } from '../admin/dashboard.js';
import { AdminSessions } from '../admin/sessions.js';
import { startRetentionSweep } from './retention-schedule.js';
import { errorCode, errorMessage } from '../util/errors.js';
import { startEventPipeline, type EventPipeline } from '../events/pipeline.js';
import { takeInReport } from '../bounce/intake.js';
import { startTrackingWork } from './tracking-workers.js';
import { eventLoopDelayMetrics } from '../metrics/event-loop.js';
import { gcMetrics } from '../metrics/gc.js';
import type { TrackingWork } from '../tracking/tracking-work.js';
import { UnsubscribeService } from '../unsubscribe/service.js';
import { PageTemplates } from '../unsubscribe/page.js';
import { suppressionPostHandlers } from '../unsubscribe/admin.js';
import { createMailtoReader, parseUnsubscribeAddress } from '../unsubscribe/mailto-reader.js';
import { loadRangeDir, SHIPPED_RANGES_DIR } from '../truth/address-ranges.js';

const DAEMON_ROLES = ['serve', 'redirector', 'milter'] as const;
export type DaemonRole = (typeof DAEMON_ROLES)[number];

export function isDaemonRole(value: unknown): value is DaemonRole {
  return (DAEMON_ROLES as readonly unknown[]).includes(value);
}

interface Daemon {
  milterAddress: string | null;
  httpAddress: string | null;
  /**
   * Re-reads what can change without a restart (the JSONL event file, the TLS certificate). Never rejects: a part that
   * cannot be reloaded keeps what it had, and the failure is logged with its code. Resolves true when
   * everything was reloaded.
   */
  reload(): Promise<boolean>;
  stop(): Promise<void>;
}

interface Closeable {
  close(): Promise<void>;
}

export async function startDaemon(config: ConfigValues, logger: Logger, role: DaemonRole = 'serve', filterOverride?: MessageFilter): Promise<Daemon> {
  const dataDir = config['data.dir'];
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const keyring = await loadKeyring(dataDir);
  const store = role === 'milter' ? null : createTrackStore(config, dataDir, logger);
  const metrics = new MetricsRegistry();
  // Started parts, closed in reverse when a later part fails to start, and on stop.
  const started: Closeable[] = [];
  try {
    let events: EventPipeline | null = null;
    if (store) {
      await store.open();
      started.push(store);
      storeMetrics(metrics, store);
      events = await startEventPipeline(config, store, logger, metrics);
      started.push(events);
    }
    let work: TrackingWork | undefined;
    if (role !== 'redirector' && !filterOverride) {
      const tracking = await startTrackingWork(config, keyring, logger, metrics);
      work = tracking.work;
      const pool = tracking.pool;
      if (pool) started.push({ close: () => pool.close() });
    }
    // One service for the /u/ pages and the mailto reader, so a POST and a mail at once record one unsubscribe.
    const unsubscribe =
      store && events ? new UnsubscribeService({ keyring, store, record: (e) => events.record(e), maxAgeMs: config['retention.days'] * 86_400_000 }) : null;
    const filter = filterOverride ?? messageRouter(config, keyring, store, events, work, metrics, unsubscribe);
    const milter = role === 'redirector' ? null : await startMilter(config, logger, metrics, filter);
    if (milter) started.push({ close: () => milter.close(config['milter.shutdown_timeout_ms']) });
    const http = store && events && unsubscribe ? await startHttp(config, logger, metrics, keyring, store, events, milter, unsubscribe) : null;
    if (http) started.push(http);
    const sweep = store ? startSweep(config, logger, store) : null;
    if (sweep) started.push({ close: () => sweep.stop() });
    const stopDelayMonitor = eventLoopDelayMetrics(metrics);
    const stopGcMonitor = gcMetrics(metrics);
    started.push({
      close: () => {
        stopDelayMonitor();
        stopGcMonitor();
        return Promise.resolve();
      },
    });
    return {
      milterAddress: milter ? formatSocketSpec(milter.address) : null,
      httpAddress: http ? printableHostPort(config['http.listen'], http.port) : null,
      async reload() {
        const steps: Array<[failure: string, step: () => Promise<void>]> = [];
        if (events) steps.push(['JSONL reopen failed; events wait in the outbox until the file can be written', () => events.reopen()]);
        if (http && config['http.tls_cert']) steps.push(['TLS reload failed; serving the old certificate', () => http.reloadTls()]);
        let complete = true;
        for (const [failure, step] of steps) {
          try {
            await step();
          } catch (err) {
            complete = false;
            logger.error({ code: errorCode(err), err: errorMessage(err) }, failure);
          }
        }
        return complete;
      },
      async stop() {
        await closeAll(started.reverse());
      },
    };
  } catch (err) {
    await closeAll(started.reverse()).catch(() => undefined);
    throw err;
  }
}

/** Mail to a bounce address to the bounce reader (where events can be recorded), the rest to tracking. */
function messageRouter(
  config: ConfigValues,
  keyring: Keyring,
  store: TrackStore | null,
  events: EventPipeline | null,
  work: TrackingWork | undefined,
  metrics: MetricsRegistry,
  unsubscribe: UnsubscribeService | null,
): MessageFilter {
  const mailto = parseUnsubscribeAddress(config['unsubscribe.mailto']);
  const suppressed = metrics.counter(
    'trackmilter_suppressed_recipients_total',
    "Envelope recipients who had unsubscribed from the message's list, by what was done (removed, tagged).",
    ['action'],
  );
  return createMessageRouter({
    bounceAddresses: bounceAddressSet(config['bounce.addresses']),
    bounceReader: events ? createBounceReader({ keyring, recordEvents: events.record, afterRecord: config['bounce.after_record'] }) : null,
    tracking: createTrackingFilter({
      config,
      keyring,
      store,
      ...(work ? { work } : {}),
      onSuppressed: (s) => suppressed.labels(s.policy === 'tag' ? 'tagged' : 'removed').inc(s.unsubscribed.length),
    }),
    ...(mailto
      ? {
          unsubscribe: {
            address: mailto,
            reader: unsubscribe
              ? createMailtoReader({ address: mailto, service: unsubscribe, keyring, afterRecord: config['unsubscribe.mailto_after_record'] })
              : null,
          },
        }
      : {}),
  });
}

/** In reverse order of starting: the listeners and sweep first, then the event outbox, then the store. */
async function closeAll(parts: Closeable[]): Promise<void> {
  for (const p of parts) await p.close();
}

type CountingMilter = MilterServer & { messagesSeen(): number };

async function startMilter(config: ConfigValues, logger: Logger, metrics: MetricsRegistry, filter: MessageFilter): Promise<CountingMilter> {
  const counter = milterMetrics(metrics);
  const milter = new MilterServer({
    listen: parseSocketSpec(config['milter.listen']),
    socketMode: parseInt(config['milter.socket_mode'], 8),
    socketGroup: config['milter.socket_group'] || undefined,
    maxPacket: config['milter.max_packet_bytes'],
    filter,
    logger,
    filterTimeoutMs: config['milter.filter_timeout_ms'],
    failurePolicy: config['milter.on_error'],
    maxMessageBytes: config['milter.max_message_bytes'],
    onMessage: counter,
  });
  await milter.listen();
  return Object.assign(milter, { messagesSeen: counter.total });
}

async function startHttp(
  config: ConfigValues,
  logger: Logger,
  metrics: MetricsRegistry,
  keyring: Keyring,
  store: TrackStore,
  events: EventPipeline,
  milter: CountingMilter | null,
  unsubscribe: UnsubscribeService,
): Promise<RedirectorServer> {
  const { host, port } = parseHostPort(config['http.listen']);
  const tlsCert = config['http.tls_cert'];
  const sessions = new AdminSessions();
  const http = new RedirectorServer({
    host,
    port,
    logger,
    metrics,
    resolver: createStoreResolver(keyring, store),
    unsubscribe: {
      service: unsubscribe,
      templates: PageTemplates.load(
        config['tracking.unsubscribe_page'],
        Object.fromEntries(Object.entries(config.classes).map(([name, c]) => [name, c.unsubscribe_page])),
      ),
    },
    events: { record: (recorded) => events.record(recorded), reclassify: (changed, publish) => events.reclassify(changed, publish) },
    trackingHosts: [...trackingHosts(config)],
    trustedProxies: splitList(config['http.trusted_proxies']),
    retryAfterSeconds: config['http.retry_after_seconds'],
    limits: {
      maxUrlBytes: config['http.max_url_bytes'],
      maxHeaderBytes: config['http.max_header_bytes'],
      headersTimeoutMs: config['http.headers_timeout_ms'],
      requestTimeoutMs: Math.max(config['http.headers_timeout_ms'], DEFAULT_LIMITS.requestTimeoutMs),
      keepAliveTimeoutMs: config['http.keep_alive_timeout_ms'],
    },
    fastFront: config['http.fast_front'],
    tokenSyntax: (token) => isTokenText(token),
    machineFlags: {
      fastClickSeconds: config['http.fast_click_seconds'],
      earlySeconds: config['machine.early_seconds'],
      burstGapMs: config['machine.burst_gap_ms'],
      burstMinLinks: config['machine.burst_min_links'],
      honeypotWindowMs: config['machine.honeypot_window_ms'],
      pairWindowMs: config['machine.pair_window_ms'],
      scanNetworkWindowMs: config['machine.scan_network_window_ms'],
      recipients: config['machine.recipients'],
      ranges: await loadRangeDir(config['machine.ranges_dir'] || SHIPPED_RANGES_DIR),
    },
    ...(config['http.truncate_ip'] ? { ipTruncation: { ipv4Bits: 24, ipv6Bits: 48 } } : {}),
    ...(tlsCert ? { tls: { certFile: tlsCert, keyFile: config['http.tls_key'] } } : {}),
    health: () => ({ ...storeHealth(store), ...(milter ? { milterSessions: milter.sessionCount, messages: milter.messagesSeen() } : {}) }),
    admin: createAdminApi({
      token: await loadOrCreateAdminToken(config['data.dir']),
      store,
      logger,
      dashboard: createDashboard({ store, sessions, secure: tlsCert !== '', logger }),
      post: {
        ...suppressionPostHandlers(store),
        'login-code': () => Promise.resolve({ status: 200, json: sessions.issueCode() }),
        bounce: async (body) => {
          const outcome = await takeInReport(body, keyring, events.record);
          logger.info({ ...outcome, bytes: body.length }, 'bounce');
          return { status: 200, json: outcome };
        },
      },
    }),
  });
  await http.listen();
  return http;
}

/**
 * /healthz's view of the store. PostgreSQL down is `degraded`, answered 200: every host of a fleet
 * shares the database, so a load balancer taking degraded hosts out would take them all out, and with
 * them the clicks they can still answer (stateless and cached links) and record (to the outbox). Only a
 * host that cannot record at all (PostgreSQL down and its outbox at a limit) is `failing`, 503, so the
 * balancer sends clicks to a host whose outbox has room.
 */
function storeHealth(store: TrackStore): { status?: 'degraded' | 'failing'; store?: Record<string, unknown> } {
  const health = store.health?.();
  if (!health) return {};
  const outbox = health.outbox;
  const facts = {
    available: health.available,
    ...(health.downSince === undefined ? {} : { unavailableSince: new Date(health.downSince).toISOString() }),
    ...(outbox ? { outboxWaiting: outbox.waiting, outboxFull: outbox.full } : {}),
  };
  if (health.available) return { store: facts };
  return { status: outbox?.full ? 'failing' : 'degraded', store: facts };
}

function startSweep(config: ConfigValues, logger: Logger, store: TrackStore): { stop(): Promise<void> } {
  const days = config['retention.days'];
  return startRetentionSweep(store, days, (result, err) => {
    if (err) logger.error({ code: errorCode(err), err: errorMessage(err) }, 'retention sweep failed');
    else logger.info({ ...result, retentionDays: days }, 'retention sweep');
  });
}

function printableHostPort(listen: string, port: number): string {
  const { host } = parseHostPort(listen);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
