// Every configuration key, its type, default and meaning, in one place: validation, defaults and the
// documented reference all come from here.
import { parseSocketSpec } from '../milter/address.js';
import { parseHostPort } from '../util/host-port.js';

type KeyType = 'string' | 'integer' | 'boolean' | 'enum' | 'socket' | 'hostport' | 'mode' | 'host';

export interface KeySpec {
  type: KeyType;
  default: string | number | boolean;
  doc: string;
  values?: readonly string[];
  min?: number;
}

/** Settings a mail class may set; `tracking.*` holds the default class, `classes.NAME.*` the others. */
export const CLASS_SCHEMA = {
  clicks: {
    type: 'boolean',
    default: true,
    doc: 'Rewrite links in the top text/html and text/plain parts to go through the redirector.',
  },
  opens: {
    type: 'boolean',
    default: true,
    doc: 'Insert the open pixel in the top text/html part.',
  },
  domain: {
    type: 'host',
    default: '',
    doc: 'Tracking domain of the links (HOST or HOST:PORT). Empty: the http.listen address over http, so one machine works end to end.',
  },
  scheme: {
    type: 'enum',
    values: ['https', 'http'],
    default: 'https',
    doc: 'Scheme of the links when a tracking domain is set.',
  },
  style: {
    type: 'enum',
    values: ['compact', 'path'],
    default: 'compact',
    doc: "compact: DOMAIN/c/TOKEN; path: DOMAIN/original/path-TOKEN, so links look like the sender's own.",
  },
  honeypot: {
    type: 'boolean',
    default: false,
    doc: "Add one hidden link to the top text/html part (invisible, aria-hidden, no tab stop): only machines follow it, and a hit makes the recipient's events around it machines. Shown by rewrite --links as position 0.",
  },
  mode: {
    type: 'enum',
    values: ['stateful', 'stateless'],
    default: 'stateful',
    doc: 'stateful: URLs stored in LevelDB, short links; stateless: links carry everything, any redirector with the key serves them.',
  },
  unsubscribe: {
    type: 'enum',
    values: ['missing', 'replace', 'off'],
    default: 'missing',
    doc: "One-click unsubscribe headers (List-Unsubscribe with a signed /u/ link, List-Unsubscribe-Post) on tracked mail with a ListID and one recipient: missing adds them unless the message has a List-Unsubscribe of its own, which is kept; replace puts ours in place of the message's own; off adds none.",
  },
  unsubscribe_page: {
    type: 'string',
    default: '',
    doc: 'HTML template file of the unsubscribe confirmation page (placeholders {{list}}, {{address}}, and {{form}} or {{action}}; see the README). Empty: the built-in page. Read at start.',
  },
} as const satisfies Record<string, KeySpec>;

type ClassKey = keyof typeof CLASS_SCHEMA;
type SettingValue<S> = S extends { values: readonly (infer V)[] } ? V : S extends { default: boolean } ? boolean : string;
export type ClassSettings = { -readonly [K in ClassKey]: SettingValue<(typeof CLASS_SCHEMA)[K]> };

type Prefixed<P extends string, T> = { [K in keyof T as `${P}.${K & string}`]: T[K] };

function prefixed<P extends string, T extends Record<string, KeySpec>>(prefix: P, keys: T): Prefixed<P, T> {
  return Object.fromEntries(Object.entries(keys).map(([k, v]) => [`${prefix}.${k}`, v])) as Prefixed<P, T>;
}

export const CONFIG_SCHEMA = {
  'milter.listen': {
    type: 'socket',
    default: 'inet:127.0.0.1:8899',
    doc: 'Where the milter listens: inet:HOST:PORT, inet:[IPv6]:PORT, PORT@HOST, or unix:/path.',
  },
  'milter.socket_mode': {
    type: 'mode',
    default: '0660',
    doc: 'Permissions of a unix milter socket (octal).',
  },
  'milter.socket_group': {
    type: 'string',
    default: '',
    doc: 'Group owning a unix milter socket, so that the MTA (e.g. group postfix) can connect; empty keeps the default.',
  },
  'milter.filter_timeout_ms': {
    type: 'integer',
    default: 10_000,
    min: 1,
    doc: 'Time the filter may spend on one message before the failure policy applies. Keep it well under Postfix milter_content_timeout.',
  },
  'milter.on_error': {
    type: 'enum',
    values: ['accept', 'tempfail'],
    default: 'accept',
    doc: 'What happens to a message when the filter fails or overruns its time: accept it unchanged, or tempfail it so the sender retries.',
  },
  'milter.workers': {
    type: 'integer',
    default: -1,
    min: -1,
    doc: 'Worker threads doing the message work (MIME, rewriting, re-encoding) off the thread that serves clicks. -1: one per CPU core; 0: all on the main thread.',
  },
  'milter.worker_min_bytes': {
    type: 'integer',
    default: 131072,
    min: 0,
    doc: "Bodies smaller than this are worked on the main thread: handing a message to a worker costs about 0.3 ms of CPU whatever its size, a large share of a small message's work, while a body this size holds the main thread about 2 ms.",
  },
  'milter.max_message_bytes': {
    type: 'integer',
    default: 50 * 1024 * 1024,
    min: 1,
    doc: 'Bodies larger than this are not buffered or rewritten; the message passes unchanged and the skip is logged.',
  },
  'milter.max_packet_bytes': {
    type: 'integer',
    default: 1024 * 1024,
    min: 65536,
    doc: 'Largest milter packet accepted from the MTA; a larger length closes the connection.',
  },
  'milter.shutdown_timeout_ms': {
    type: 'integer',
    default: 10_000,
    min: 0,
    doc: 'On SIGTERM, how long sessions in flight may take to finish their message before they are cut.',
  },
  'http.listen': {
    type: 'hostport',
    default: '127.0.0.1:8080',
    doc: 'Where the HTTP side (redirector, /healthz, /metrics, /admin/) listens: HOST:PORT or [IPv6]:PORT.',
  },
  ...prefixed('tracking', CLASS_SCHEMA),
  'tracking.untagged': {
    type: 'enum',
    values: ['track', 'pass'],
    default: 'track',
    doc: 'Mail without any X-GreenArrow-* or X-MSYS-API header: track it under the default class (empty SendID), or pass it untouched.',
  },
  'tracking.multiple_recipients': {
    type: 'enum',
    values: ['track', 'skip'],
    default: 'track',
    doc: 'A message with several envelope recipients cannot name one person in its links: track it with the recipient left empty (the message record keeps the list), or pass it untouched.',
  },
  'headers.remove_control': {
    type: 'boolean',
    default: true,
    doc: 'Remove X-GreenArrow-* and X-MSYS-API headers before the message leaves.',
  },
  'headers.invalid_msys_api': {
    type: 'enum',
    values: ['reject', 'ignore'],
    default: 'reject',
    doc: 'An X-MSYS-API header that is not valid JSON: refuse the message with 550 5.6.0 (as Momentum does), or ignore the header.',
  },
  'rewrite.skip_dkim_signed': {
    type: 'boolean',
    default: true,
    doc: 'Pass messages that already carry a DKIM-Signature unchanged (rewriting would break the signature).',
  },
  'rewrite.max_links': {
    type: 'integer',
    default: 1000,
    min: 1,
    doc: 'Most trackable links tracked in one part: past it, the first this many (in document order) are tracked and the rest left as they are; logged and counted.',
  },
  'rewrite.max_mime_depth': {
    type: 'integer',
    default: 20,
    min: 1,
    doc: 'Deepest multipart nesting looked into; deeper messages pass unchanged, logged.',
  },
  'rewrite.max_mime_parts': {
    type: 'integer',
    default: 500,
    min: 1,
    doc: 'Most MIME parts in a message; more and the message passes unchanged, logged.',
  },
  'rewrite.max_part_bytes': {
    type: 'integer',
    default: 10 * 1024 * 1024,
    min: 1,
    doc: 'Largest text/html or text/plain part rewritten; a larger part is left as it is, logged.',
  },
  'http.tls_cert': {
    type: 'string',
    default: '',
    doc: 'PEM certificate file: set with http.tls_key to serve HTTPS. Reloaded on SIGHUP (systemctl reload).',
  },
  'http.tls_key': {
    type: 'string',
    default: '',
    doc: 'PEM private key file for http.tls_cert (mode 0600).',
  },
  'http.max_url_bytes': {
    type: 'integer',
    default: 8192,
    min: 64,
    doc: 'Longest request target (path and query) the redirector serves; a longer one is answered 414 and logged.',
  },
  'http.max_header_bytes': {
    type: 'integer',
    default: 16384,
    min: 1024,
    doc: 'Largest request head (request line and header fields); a larger one is answered 431 (414 when the request line alone is too long) and logged.',
  },
  'http.headers_timeout_ms': {
    type: 'integer',
    default: 10_000,
    min: 100,
    doc: 'A client must have sent its whole request head within this time, or it is answered 408 and cut off (slow clients hold connections open).',
  },
  'http.keep_alive_timeout_ms': {
    type: 'integer',
    default: 5_000,
    min: 100,
    doc: 'An idle keep-alive connection is closed after this long.',
  },
  'http.retry_after_seconds': {
    type: 'integer',
    default: 30,
    min: 1,
    doc: 'The Retry-After of a 503: a stateful link (or unsubscribe) asked for while the store cannot be read and its row is not in the read cache. Never a redirect that could not be verified.',
  },
  'http.fast_front': {
    type: 'boolean',
    default: true,
    doc: 'Answer plain GET and HEAD requests (over HTTP, or HTTPS after the handshake) on the fast front, which reads request heads itself; anything it does not fully understand goes to node:http, as every request does when false.',
  },
  'http.trusted_proxies': {
    type: 'string',
    default: '',
    doc: 'Comma-separated addresses or CIDR ranges of proxies whose X-Forwarded-For is believed; the client is the right-most untrusted address.',
  },
  'http.truncate_ip': {
    type: 'boolean',
    default: false,
    doc: 'Store client addresses truncated to /24 (IPv4) and /48 (IPv6).',
  },
  'http.fast_click_seconds': {
    type: 'integer',
    default: 0,
    min: 0,
    doc: 'A click this soon after the message passed the milter is a machine on that alone (0: off; scanners mostly come later than 10 s, and some people sooner: see machine.early_seconds).',
  },
  'machine.ranges_dir': {
    type: 'string',
    default: '',
    doc: 'Directory of address range files (*.txt, one CIDR a line, with "# reason:" headers) of security vendors and Apple MPP; empty: the lists shipped in ranges.',
  },
  'machine.early_seconds': {
    type: 'integer',
    default: 0,
    min: 0,
    doc: 'An event this soon after delivery gets the weak reason "early" (a machine only with another weak reason: no open before an HTML click). 0: off, the default, as bench:truth found it flagged people (60 s: 0.6% of their clicks) and no machine the other rules missed.',
  },
  'machine.burst_gap_ms': {
    type: 'integer',
    default: 1000,
    min: 0,
    doc: 'Events of one recipient no further apart than this form one run; a run with clicks on machine.burst_min_links different links is a scan ("burst").',
  },
  'machine.burst_min_links': {
    type: 'integer',
    default: 2,
    min: 2,
    doc: 'Different links clicked in one run that make it a burst.',
  },
  'machine.honeypot_window_ms': {
    type: 'integer',
    default: 10_000,
    min: 0,
    doc: "A honeypot hit makes the recipient's events of the same client (network /24 or /48, and user agent) this close to it (either side) machines, besides those of its run.",
  },
  'machine.pair_window_ms': {
    type: 'integer',
    default: 5000,
    min: 0,
    doc: "The same link clicked twice within this time from two networks: the first is a vendor's time-of-click check (e.g. Safe Links), the second the person.",
  },
  'machine.scan_network_window_ms': {
    type: 'integer',
    default: 300_000,
    min: 0,
    doc: "Events of the client (network /24 or /48, and user agent) of a scan (burst or honeypot), this close to it, are the scanner's too (its pixel fetch).",
  },
  'machine.recipients': {
    type: 'integer',
    default: 50_000,
    min: 0,
    doc: 'Recipients whose recent events (up to 32 each, none older than the longest window) the redirector keeps in memory for the burst, honeypot, pair and scan rules; the least recently active are forgotten first, and can then no longer be reclassified. Each event held costs about 0.6 KB (`npm run bench:judge-memory`): at most about 0.95 GB with the default, if every recipient had 32 events in the window.',
  },
  'events.jsonl_path': {
    type: 'string',
    default: '',
    doc: 'Append every event as one JSON line to this file (empty: off). Rotate by renaming it and sending SIGHUP.',
  },
  'events.jsonl_fsync': {
    type: 'enum',
    values: ['interval', 'always', 'never'],
    default: 'interval',
    doc: 'When the JSONL file is fsynced: every second, after every batch, or never (the OS decides).',
  },
  'events.webhook_url': {
    type: 'string',
    default: '',
    doc: 'POST events in batches as JSON to this URL (empty: off), signed with events.webhook_secret_file, retried from a durable queue.',
  },
  'events.webhook_secret_file': {
    type: 'string',
    default: '',
    doc: 'File (mode 0600) holding the webhook signing secret; required with events.webhook_url.',
  },
  'events.webhook_batch_size': {
    type: 'integer',
    default: 100,
    min: 1,
    doc: 'Events per webhook POST.',
  },
  'events.webhook_dead_letter_hours': {
    type: 'integer',
    default: 72,
    min: 1,
    doc: 'A webhook batch still failing after this many hours is set aside (logged, counted) and delivery moves on.',
  },
  'bounce.addresses': {
    type: 'string',
    default: '',
    doc: 'Comma-separated addresses whose mail the milter reads as bounces and complaints (recorded as events, never rewritten).',
  },
  'bounce.after_record': {
    type: 'enum',
    values: ['accept', 'discard'],
    default: 'accept',
    doc: 'What the milter does with a message to a bounce address once recorded: deliver it on, or discard it. A report that could not be recorded is always delivered.',
  },
  'unsubscribe.mailto': {
    type: 'string',
    default: '',
    doc: 'Unsubscribe address: List-Unsubscribe also offers mailto:, and the milter reads mail to it as unsubscribes (never delivered on unless unsubscribe.mailto_after_record says so). Empty: no mailto form.',
  },
  'unsubscribe.mailto_after_record': {
    type: 'enum',
    values: ['discard', 'accept'],
    default: 'discard',
    doc: 'What the milter does with mail to unsubscribe.mailto once the unsubscribe is recorded: discard it, or deliver it on. Mail it cannot read an unsubscribe from is always delivered.',
  },
  'unsubscribe.suppression': {
    type: 'enum',
    values: ['suppress', 'tag', 'off'],
    default: 'suppress',
    doc: "Recipients who unsubscribed from a message's ListID: suppress removes them from the envelope (the message is discarded when none remain); tag delivers but adds X-Trackmilter-Suppressed and logs; off does neither. Needs the store (serve).",
  },
  'store.backend': {
    type: 'enum',
    values: ['leveldb', 'postgres'],
    default: 'leveldb',
    doc: 'Where URL rows, messages, events and suppressions are kept: leveldb, a directory under data.dir that one process opens; postgres, one PostgreSQL database any number of trackmilter processes and hosts share (a fleet).',
  },
  'store.postgres_url': {
    type: 'string',
    default: '',
    doc: "With store.backend = postgres: a libpq connection URI (postgres://user@host:5432/trackmilter). Empty: libpq's environment variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE). Keep a password out of the file: use PGPASSWORD or ~/.pgpass.",
  },
  'store.postgres_pool': {
    type: 'integer',
    default: 10,
    min: 1,
    doc: 'With store.backend = postgres: most connections this process opens to PostgreSQL.',
  },
  'store.postgres_connect_timeout_ms': {
    type: 'integer',
    default: 5000,
    min: 100,
    doc: 'With store.backend = postgres: give up connecting after this long (the call fails with ESTORE_UNAVAILABLE).',
  },
  'store.postgres_query_timeout_ms': {
    type: 'integer',
    default: 5000,
    min: 100,
    doc: "With store.backend = postgres: a statement of mail or click handling (reading a link's row, a message, suppressions; writing) not answered within this long fails with ESTORE_UNAVAILABLE and its connection is dropped. Keep it under milter.filter_timeout_ms. Reports and the retention sweep are not bounded by it.",
  },
  'store.postgres_retry_ms': {
    type: 'integer',
    default: 1000,
    min: 50,
    doc: 'With store.backend = postgres: once PostgreSQL is found unreachable (or too slow), calls fail at once with ESTORE_UNAVAILABLE and it is tried again this often; the first answer ends the outage and the outbox is written.',
  },
  'store.outbox_max_events': {
    type: 'integer',
    default: 1_000_000,
    min: 1,
    doc: 'With store.backend = postgres: most events (and verdict changes) kept in the local outbox (data.dir/store-outbox, a few hundred bytes each) while PostgreSQL is unavailable. At the limit further events are not recorded (ESTORE_OUTBOX_FULL, logged; clicks are still redirected) and /healthz answers 503.',
  },
  'store.outbox_max_age_hours': {
    type: 'integer',
    default: 24,
    min: 1,
    doc: 'With store.backend = postgres: once the oldest event in the outbox has waited this long for PostgreSQL, further events are not recorded (ESTORE_OUTBOX_FULL, logged) until it is written: reports are never further behind than this.',
  },
  'store.sync': {
    type: 'boolean',
    default: false,
    doc: 'fsync every LevelDB batch. Off: a crash or kill of the daemon loses nothing acknowledged, a power loss can. On: slower writes, survives power loss.',
  },
  'store.read_cache_entries': {
    type: 'integer',
    default: 100_000,
    min: 0,
    doc: 'URL rows, and separately message records, kept in memory once a click or open has read them or, with LevelDB, once this process has written them (about 550 bytes a message record), so clicks need no LevelDB read; emptied by every retention sweep. 0 reads LevelDB for every click.',
  },
  'store.aggregate_cache_entries': {
    type: 'integer',
    default: 200_000,
    min: 0,
    doc: "Running-aggregate records (a send's totals, time buckets, links, and who was seen opening or clicking) kept in memory between writes, so folding an event seldom reads LevelDB; about 100 bytes each. 0 reads LevelDB for every one.",
  },
  'dashboard.click_map': {
    type: 'enum',
    values: ['redact', 'keep', 'off'],
    default: 'redact',
    doc: "The HTML of a send's first message, kept for the dashboard's click map: redact removes the recipient's address, the email code and every URL's query string first (a greeting by name stays: use off for such mail); keep stores it as it came; off keeps none.",
  },
  'retention.days': {
    type: 'integer',
    default: 365,
    min: 2,
    doc: 'Events, URL rows and message records older than this many days are removed by a background sweep (hourly). Links in mail older than this stop resolving (stateful mode).',
  },
  'data.dir': {
    type: 'string',
    default: './data',
    doc: 'Directory for the LevelDB store and the signing keys.',
  },
  'log.level': {
    type: 'enum',
    values: ['debug', 'info', 'warn', 'error', 'silent'],
    default: 'info',
    doc: 'Log level of the JSON lines written to stdout.',
  },
} as const satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;

/**
 * Keys renamed when the configuration was grouped by who reads it (rewrite limits under `rewrite.*`,
 * redirector settings under `http.*`). A file that uses an old name still works: the value is read
 * under the new name, and the daemon's log and `check-config` say so.
 */
export const RENAMED_KEYS: Readonly<Record<string, ConfigKey>> = {
  'limits.max_links': 'rewrite.max_links',
  'limits.max_mime_depth': 'rewrite.max_mime_depth',
  'limits.max_mime_parts': 'rewrite.max_mime_parts',
  'limits.max_part_bytes': 'rewrite.max_part_bytes',
  'events.truncate_ip': 'http.truncate_ip',
  'events.fast_click_seconds': 'http.fast_click_seconds',
};

/**
 * Keys a release read and this one no longer needs, with why: a file that still sets one starts, and
 * the daemon's log and `check-config` say it can go.
 */
export const RETIRED_KEYS: Readonly<Record<string, string>> = {
  'machine.verdict_rebuild_ms': 'later verdicts correct the running aggregates in the write that records them',
};

/** Why a value does not fit its key, or null when it does. */
export function checkValue(spec: KeySpec, value: unknown): string | null {
  switch (spec.type) {
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return 'must be a whole number';
      if (spec.min !== undefined && value < spec.min) return `must be at least ${spec.min}`;
      return null;
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'host':
      if (value === '') return null;
      return typeof value === 'string' && isHostName(value) ? null : 'must be a host name such as click.example.com, optionally with :PORT';
    case 'enum':
      return typeof value === 'string' && spec.values?.includes(value) ? null : `must be one of ${spec.values?.join(', ')}`;
    case 'mode':
      return typeof value === 'string' && /^0?[0-7]{3}$/.test(value) ? null : 'must be an octal mode such as "0660"';
    case 'string':
      return typeof value === 'string' ? null : 'must be a string';
    case 'socket':
    case 'hostport':
      if (typeof value !== 'string') return 'must be a string';
      try {
        if (spec.type === 'socket') parseSocketSpec(value);
        else parseHostPort(value);
        return null;
      } catch (err) {
        return (err as Error).message;
      }
  }
}

/** A DNS name (or IP literal) with an optional port, nothing else: no scheme, path or spaces. */
export function isHostName(value: string): boolean {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)(?::(\d{1,5}))?$/i.exec(value);
  return m !== null && (m[2] === undefined || Number(m[2]) <= 65535) && value.length <= 253;
}
