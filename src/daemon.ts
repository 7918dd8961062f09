// One process: the milter listener, the redirector, and the store they share (LevelDB allows one
// process per directory), started together and stopped together.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { MilterServer } from './milter/server.js';
import { formatSocketSpec, parseHostPort, parseSocketSpec } from './milter/address.js';
import type { MessageFilter } from './milter/filter.js';
import type { MessageOutcome } from './milter/session.js';
import { HttpServer } from './redirector/http-server.js';
import { MetricsRegistry } from './redirector/metrics.js';
import { createStoreResolver } from './redirector/store-resolver.js';
import type { ConfigValues } from './config/load.js';
import type { Logger } from './util/log.js';
import { createTrackingFilter } from './filter/tracking-filter.js';
import { trackingHosts } from './filter/settings.js';
import { loadKeyring } from './links/index.js';
import { isTokenText } from './links/token-text.js';
import { LevelTrackStore } from './store/index.js';

export interface Daemon {
  milterAddress: string;
  httpAddress: string;
  /** Re-read what can change without a restart (the TLS certificate). */
  reload(): void;
  stop(): Promise<void>;
}

export function storeDir(dataDir: string): string {
  return path.join(dataDir, 'db');
}

export async function startDaemon(config: ConfigValues, logger: Logger, filterOverride?: MessageFilter): Promise<Daemon> {
  const dataDir = config['data.dir'];
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const keyring = await loadKeyring(dataDir);
  const store = new LevelTrackStore(storeDir(dataDir), { sync: config['store.sync'] });
  await store.open();

  const metrics = new MetricsRegistry();
  const countMessage = milterMetrics(metrics);
  const milter = new MilterServer({
    listen: parseSocketSpec(config['milter.listen']),
    socketMode: parseInt(config['milter.socket_mode'], 8),
    socketGroup: config['milter.socket_group'] || undefined,
    maxPacket: config['milter.max_packet_bytes'],
    filter: filterOverride ?? createTrackingFilter({ config, keyring, store }),
    logger,
    filterTimeoutMs: config['milter.filter_timeout_ms'],
    failurePolicy: config['milter.on_error'],
    maxMessageBytes: config['milter.max_message_bytes'],
    onMessage: countMessage,
  });
  const { host, port } = parseHostPort(config['http.listen']);
  const tlsCert = config['http.tls_cert'];
  const http = new HttpServer({
    host,
    port,
    logger,
    metrics,
    resolver: createStoreResolver(keyring, store),
    events: { record: (events) => store.recordEvents(events) },
    trackingHosts: [...trackingHosts(config)],
    trustedProxies: splitList(config['http.trusted_proxies']),
    tokenSyntax: (token) => isTokenText(token),
    machineFlags: { fastClickSeconds: config['events.fast_click_seconds'] },
    ...(config['events.truncate_ip'] ? { ipTruncation: { ipv4Bits: 24, ipv6Bits: 48 } } : {}),
    ...(tlsCert ? { tls: { certFile: tlsCert, keyFile: config['http.tls_key'] } } : {}),
    health: () => ({ milterSessions: milter.sessionCount }),
  });

  const started: Array<{ close(): Promise<void> }> = [store];
  try {
    await milter.listen();
    started.push({ close: () => milter.close(0) });
    await http.listen();
  } catch (err) {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    throw err;
  }
  const httpAddress = host.includes(':') ? `[${host}]:${http.port}` : `${host}:${http.port}`;
  return {
    milterAddress: formatSocketSpec(milter.address),
    httpAddress,
    reload() {
      if (tlsCert) http.reloadTls();
    },
    async stop() {
      await Promise.all([milter.close(config['milter.shutdown_timeout_ms']), http.close()]);
      await store.close();
    },
  };
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Milter counters on the shared registry, served by /metrics. */
function milterMetrics(metrics: MetricsRegistry): (o: MessageOutcome) => void {
  const messages = metrics.counter('trackmilter_milter_messages_total', 'Messages seen by the milter, by outcome', ['outcome']);
  const bytes = metrics.counter('trackmilter_milter_body_bytes_total', 'Body bytes seen by the milter', []);
  const skipped = metrics.counter('trackmilter_milter_skipped_total', 'Messages passed unchanged on purpose, by reason', ['reason']);
  return (o) => {
    messages.labels(o.outcome).inc();
    bytes.inc(o.bodyBytes);
    if (o.reason) skipped.labels(o.reason).inc();
  };
}
