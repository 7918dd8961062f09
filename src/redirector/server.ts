/**
 * The redirector: an HTTP(S) server answering click links with a 302, open links with the pixel,
 * plus /healthz and /metrics. Tokens and storage stay behind LinkResolver and EventSink. Connections
 * (after the TLS handshake, with HTTPS) start on the fast front (./fast-front.ts) and move to node:http
 * when it cannot serve them; both feed the same handler through a ResponseWriter.
 *
 * Each click and open is recorded before its response is sent (the sink group-commits concurrent
 * requests into one write). If recording fails the response is sent anyway, and the failure logged
 * and counted: the person clicking must not be punished for our disk, and a redirect withheld would
 * not make the event any less lost.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { CodedError, errorCode, errorMessage, CommonErrorCode } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { createClientIpResolver, type ClientIpResolver } from './client-ip.js';
import { buildEvent, EventIdSource } from './build-event.js';
import { createHostCheck, type HostCheck } from './host-check.js';
import { truncateAddress, validateTruncation, type IpTruncation } from './ip-address.js';
import { createMachineJudge, type MachineFlagOptions } from './machine-flags.js';
import { recipientKey, type MachineJudge } from '../truth/judge.js';
import { METRICS_CONTENT_TYPE, MetricsRegistry } from '../metrics/registry.js';
import { registerMetrics, type RedirectorMetrics, type RouteLabel } from './server-metrics.js';
import { answerClientError } from './client-errors.js';
import { FastFront, putFastFrontBefore } from './fast-front.js';
import {
  GIF,
  METHOD_NOT_ALLOWED,
  NodeResponseWriter,
  NOT_FOUND,
  OPTIONS_ALLOWED,
  safeLocation,
  serviceUnavailable,
  URI_TOO_LONG,
  type CannedResponse,
  type ResponseWriter,
} from './responses.js';
import { createRouteParser, type RouteParser, type TokenSyntax } from './routes.js';
import { ThrottledLog } from './throttled-log.js';
import { StringPool } from '../util/string-pool.js';
import { createUnsubscribeRoute, UNSUBSCRIBE_PREFIX, unsubscribeToken } from './unsubscribe-route.js';
import type { UnsubscribeService } from '../unsubscribe/service.js';
import type { PageTemplates } from '../unsubscribe/page.js';
import type { EventSink, IncomingRequest, LinkKind, LinkResolver, RedirectEvent, ResolvedLink, TrackingRoute } from './types.js';
import { RedirectorErrorCode } from './errors.js';

const ADMIN_PREFIX = '/admin/';

interface RedirectorLimits {
  /** Longest request target (path + query) served; longer -> 414. Default 8192 (Outlook cuts links near 2048). */
  maxUrlBytes: number;
  /** Request line + headers; beyond it -> 431 (414 when the request line alone is too long). Default 16384. */
  maxHeaderBytes: number;
  /** A client must have sent its whole request head within this time (slowloris). Default 10 s. */
  headersTimeoutMs: number;
  /** ...and the whole request within this time. Default 15 s. */
  requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this. Default 5 s. */
  keepAliveTimeoutMs: number;
  /** How often the two timeouts above are checked. Default 1 s (node's 30 s lets slow clients linger). */
  timeoutCheckIntervalMs: number;
  /** close() waits this long for requests in flight before cutting connections. Default 2 s. */
  closeGraceMs: number;
}

export const DEFAULT_LIMITS: RedirectorLimits = {
  maxUrlBytes: 8192,
  maxHeaderBytes: 16384,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  timeoutCheckIntervalMs: 1_000,
  closeGraceMs: 2_000,
};

interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface RedirectorServerOptions {
  host: string;
  port: number;
  logger: Logger;
  /** Handles every request under /admin/ (any method); without it those paths are 404. */
  admin?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** Serves `/u/TOKEN` (one-click unsubscribe and its confirmation page); without it those paths are 404. */
  unsubscribe?: { service: UnsubscribeService; templates: PageTemplates };
  /**
   * Extra facts for /healthz (e.g. milter sessions). A `status` other than ok is the daemon's: degraded
   * still answers 200 (this host serves what it can), failing answers 503 (send traffic elsewhere).
   */
  health?: () => Record<string, unknown> & { status?: 'ok' | 'degraded' | 'failing' };
  /** Retry-After (seconds) of the 503 answered when the resolver cannot verify a link now. Default 30. */
  retryAfterSeconds?: number;
  /** Verifies tokens. Without one every click is a 404 and every open the GIF, nothing recorded. */
  resolver?: LinkResolver;
  /** Where clicks and opens go; each response waits for its own write. Without one nothing is recorded. */
  events?: EventSink;
  /** Shared with the milter side, so /metrics shows both. A private registry when absent. */
  metrics?: MetricsRegistry;
  /** Hosts (HOST or HOST:PORT; the port is ignored) whose requests we serve. Empty or absent: any Host. */
  trackingHosts?: readonly string[];
  /** Proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed. */
  trustedProxies?: readonly string[];
  /** Keep only the leading bits of client addresses in events (e.g. { ipv4Bits: 24, ipv6Bits: 48 }). */
  ipTruncation?: IpTruncation;
  machineFlags?: MachineFlagOptions;
  /** The syntactic gate for tokens before they reach the resolver (default: base64url). */
  tokenSyntax?: TokenSyntax;
  /** Serve path-preserving links (`/original/path-TOKEN`). Default true. */
  pathStyle?: boolean;
  /** Serve HTTPS with these PEM files; reloadTls() rereads them. */
  tls?: TlsFiles;
  /** Answer plain GET and HEAD requests on the fast front (./fast-front.ts) rather than node:http. Default true. */
  fastFront?: boolean;
  limits?: Partial<RedirectorLimits>;
  /** Milliseconds since the epoch; tests pin it. */
  now?: () => number;
}

/** Longer user agents are cut: they are for reports, and headers may be 16 KB. */
const MAX_USER_AGENT_CHARS = 512;
/** User agents and client addresses of the events the judge keeps, shared rather than each its own. */
const EVENT_STRINGS_HELD = 4096;

export class RedirectorServer {
  private server: http.Server | https.Server | null = null;
  private front: FastFront | null = null;
  private readonly limits: RedirectorLimits;
  private readonly parseRoute: RouteParser;
  private readonly hostAllowed: HostCheck;
  private readonly clientIp: ClientIpResolver;
  /** Machine or person, with what the recipient did just before (src/truth). */
  private readonly judge: MachineJudge;
  private readonly ids = new EventIdSource();
  private readonly eventStrings = new StringPool(EVENT_STRINGS_HELD);
  private readonly log: ThrottledLog;
  private readonly now: () => number;
  readonly metrics: MetricsRegistry;
  private readonly m: RedirectorMetrics;
  private readonly unsubscribe: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | null;
  private readonly unavailable: CannedResponse;

  constructor(private readonly options: RedirectorServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.parseRoute = createRouteParser({ tokenSyntax: options.tokenSyntax, pathStyle: options.pathStyle });
    this.hostAllowed = createHostCheck(options.trackingHosts);
    this.clientIp = createClientIpResolver(options.trustedProxies ?? []);
    if (options.ipTruncation) validateTruncation(options.ipTruncation);
    this.log = new ThrottledLog(options.logger);
    this.now = options.now ?? Date.now;
    this.metrics = options.metrics ?? new MetricsRegistry();
    this.m = registerMetrics(this.metrics);
    this.unavailable = serviceUnavailable(options.retryAfterSeconds ?? 30);
    this.judge = createMachineJudge(options.machineFlags, (changed, amended) => {
      if (changed.length > 0) this.reclassify(changed, true);
      if (amended.length > 0) this.reclassify(amended, false);
    });
    const judge = this.judge;
    this.metrics.gauge(
      'trackmilter_machine_recipients_held',
      'Recipients whose recent events the machine judge holds (machine.recipients at most).',
      () => judge.recipientsHeld,
    );
    this.metrics.collected(
      'trackmilter_machine_history_overflows_total',
      'Times a recipient had more recent events than the judge keeps (32): the oldest were dropped.',
      'counter',
      [],
      () => [[[], judge.historyOverflows]],
    );
    this.unsubscribe = options.unsubscribe ? this.createUnsubscribe(options.unsubscribe) : null;
  }

  private createUnsubscribe(u: NonNullable<RedirectorServerOptions['unsubscribe']>): (req: http.IncomingMessage, res: http.ServerResponse) => void {
    const answers = this.metrics.counter('trackmilter_unsubscribe_requests_total', 'Requests to /u/ (unsubscribe), by outcome and status.', [
      'outcome',
      'status',
    ]);
    return createUnsubscribeRoute({
      service: u.service,
      templates: u.templates,
      log: this.log,
      onAnswer: (outcome, status) => answers.labels(outcome, String(status)).inc(),
      ...(this.options.retryAfterSeconds !== undefined ? { retryAfterSeconds: this.options.retryAfterSeconds } : {}),
      facts: (req) => {
        const now = this.now();
        const fullIp = this.clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for']);
        const header = req.headers['user-agent'] ?? '';
        const userAgent = header.length > MAX_USER_AGENT_CHARS ? header.slice(0, MAX_USER_AGENT_CHARS) : header;
        // A POST is never a link followed; the verdict still reports a tool or scanner by its agent or range.
        const machineReason = this.judge.requestVerdict({ kind: 'click', method: req.method ?? 'POST', userAgent, ip: fullIp, deliveredAt: undefined, now });
        const truncation = this.options.ipTruncation;
        return {
          time: new Date(now),
          ip: truncation ? truncateAddress(fullIp, truncation) : fullIp,
          userAgent,
          ...(machineReason !== undefined ? { machineReason } : {}),
        };
      },
    });
  }

  get port(): number {
    const addr = this.server?.address();
    return addr && typeof addr === 'object' ? addr.port : this.options.port;
  }

  async listen(): Promise<void> {
    const limits = this.limits;
    const serverOptions: http.ServerOptions = {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
      noDelay: true,
    };
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.handle(req, res);
    const server = this.options.tls
      ? https.createServer({ ...serverOptions, ...this.readTlsFilesSync(this.options.tls) }, handler)
      : http.createServer(serverOptions, handler);
    server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => this.onClientError(err, socket));
    if (this.options.fastFront !== false) this.front = this.installFastFront(server);
    if (this.options.tls) {
      server.on('tlsClientError', (err: Error) => this.log.warn('tls', { code: errorCode(err), err: errorMessage(err) }, 'TLS handshake failed'));
    }
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new CodedError(CommonErrorCode.LISTEN, `cannot listen on ${this.options.host}:${this.options.port}: ${err.message}`, { cause: err })),
      );
      server.listen({ host: this.options.host, port: this.options.port }, () => resolve());
    });
  }

  /**
   * Rereads the certificate and key files (call on SIGHUP). New connections use them; open ones keep
   * theirs. A pair that does not load is refused (CodedError ETLS_RELOAD) and the old one stays.
   */
  async reloadTls(): Promise<void> {
    const files = this.options.tls;
    const server = this.server;
    if (!files || !(server instanceof https.Server)) throw new CodedError(RedirectorErrorCode.TLS_RELOAD, 'HTTPS is not configured');
    let material: { cert: Buffer; key: Buffer };
    try {
      material = { cert: await readFile(files.certFile), key: await readFile(files.keyFile) };
      createSecureContext(material); // throws on a bad or mismatched pair before anything is swapped
    } catch (err) {
      throw new CodedError(RedirectorErrorCode.TLS_RELOAD, `cannot reload TLS from ${files.certFile} and ${files.keyFile}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    server.setSecureContext(material);
    this.options.logger.info({ certFile: files.certFile }, 'TLS certificate reloaded');
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.judge.flush();
    this.server = null;
    const front = this.front;
    await new Promise<void>((resolve) => {
      // Requests waiting for their event write get a grace period to finish, then are cut.
      const grace = setTimeout(() => {
        server.closeAllConnections();
        front?.destroyAll();
      }, this.limits.closeGraceMs);
      server.close(() => {
        clearTimeout(grace);
        resolve();
      });
      server.closeIdleConnections();
      front?.closeIdle();
    });
  }

  /**
   * Puts the fast front between the listening socket (or, with TLS, the finished handshake) and
   * node:http: new connections go to the front, which hands to node:http's own connection listener
   * what it does not serve itself.
   */
  private installFastFront(server: http.Server | https.Server): FastFront | null {
    const event = this.options.tls ? 'secureConnection' : 'connection';
    const front = putFastFrontBefore(
      server,
      event,
      (handOff) =>
        new FastFront({
          handle: (request, out) => this.handleRequest(request, out),
          handOff,
          onHandOff: (reason) => this.m.handedToNode.labels(reason).inc(),
          nodeOnlyPrefixes: [
            ...(this.options.admin ? [[ADMIN_PREFIX, 'admin'] as const] : []),
            ...(this.unsubscribe ? [[UNSUBSCRIBE_PREFIX, 'unsubscribe'] as const] : []),
          ],
          maxUrlBytes: this.limits.maxUrlBytes,
          maxHeaderBytes: this.limits.maxHeaderBytes,
          headersTimeoutMs: this.limits.headersTimeoutMs,
          keepAliveTimeoutMs: this.limits.keepAliveTimeoutMs,
        }),
    );
    if (!front) {
      this.log.warn(
        'fast_front',
        { event, listeners: server.listenerCount(event) },
        'fast front not installed: node:http does not have the single connection listener it was written for; node:http serves every request',
      );
    }
    return front;
  }

  private readTlsFilesSync(files: TlsFiles): { cert: Buffer; key: Buffer } {
    try {
      return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
    } catch (err) {
      throw new CodedError(RedirectorErrorCode.TLS, `cannot read TLS files ${files.certFile}, ${files.keyFile}: ${errorMessage(err)}`, { cause: err });
    }
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const target = req.url ?? '';
    // The admin API (reports, exports, bounce intake) authenticates every request itself.
    if (this.options.admin && target.startsWith(ADMIN_PREFIX)) {
      this.options.admin(req, res);
      return;
    }
    const headers = req.headers;
    // Only a well-formed /u/TOKEN: a path-preserving click link whose original path starts with /u/
    // (`/u/profile-TOKEN`) has a '-' no unsubscribe token has, and goes on to the link routes.
    if (this.unsubscribe && unsubscribeToken(target) !== null) {
      const started = performance.now();
      if (target.length > this.limits.maxUrlBytes || !this.hostAllowed(headers.host)) {
        req.resume();
        new NodeResponseWriter(res).canned(target.length > this.limits.maxUrlBytes ? URI_TOO_LONG : NOT_FOUND);
        return this.count('other', target.length > this.limits.maxUrlBytes ? 414 : 404, started);
      }
      this.unsubscribe(req, res);
      return;
    }
    const request: IncomingRequest = {
      method: req.method,
      target,
      host: headers.host,
      userAgent: headers['user-agent'],
      forwardedFor: headers['x-forwarded-for'],
      remoteAddress: req.socket.remoteAddress,
    };
    this.handleRequest(request, new NodeResponseWriter(res));
  }

  private handleRequest(req: IncomingRequest, out: ResponseWriter): void {
    const started = performance.now();
    const method = req.method;
    const isHead = method === 'HEAD';
    const target = req.target;
    // OPTIONS only on tracking links (Office asks before it opens one): recorded as a machine.
    if (method !== 'GET' && !isHead && !(method === 'OPTIONS' && target.length > 3 && target.charCodeAt(0) === 0x2f)) {
      out.canned(METHOD_NOT_ALLOWED);
      this.count('other', 405, started);
      return;
    }
    if (target.length > this.limits.maxUrlBytes) {
      this.m.limits.labels('url_too_long').inc();
      this.log.warn('url_too_long', { length: target.length, ip: req.remoteAddress }, 'request target too long: 414');
      out.canned(URI_TOO_LONG);
      this.count('other', 414, started);
      return;
    }
    const parsed = this.parseRoute(target);
    switch (parsed.type) {
      case 'link':
        if (!this.hostAllowed(req.host)) return this.reject(out, parsed.route.kind, 'wrong_host', started, false);
        return this.serveLink(req, out, parsed.route, method ?? 'GET', started);
      case 'bad-open':
        if (!this.hostAllowed(req.host)) return this.reject(out, 'open', 'wrong_host', started, false);
        return this.reject(out, 'open', 'bad_token', started, true);
      case 'healthz': {
        if (method === 'OPTIONS') return this.notAllowed(out, started);
        const health = { status: 'ok', ...this.options.health?.() };
        const status = health.status === 'failing' ? 503 : 200;
        out.text(status, 'application/json', JSON.stringify(health));
        return this.count('healthz', status, started);
      }
      case 'metrics':
        if (method === 'OPTIONS') return this.notAllowed(out, started);
        out.text(200, METRICS_CONTENT_TYPE, this.metrics.render());
        return this.count('metrics', 200, started);
      case 'not-found':
        out.canned(NOT_FOUND);
        return this.count('other', 404, started);
    }
  }

  private notAllowed(out: ResponseWriter, started: number): void {
    out.canned(METHOD_NOT_ALLOWED);
    this.count('other', 405, started);
  }

  private serveLink(req: IncomingRequest, out: ResponseWriter, route: TrackingRoute, method: string, started: number): void {
    const resolver = this.options.resolver;
    if (!resolver) return this.reject(out, route.kind, 'no_resolver', started, route.kind === 'open');
    let resolved: ReturnType<LinkResolver['resolve']>;
    try {
      resolved = resolver.resolve(route);
    } catch (err) {
      return this.resolverFailed(out, route, err, started);
    }
    // The daemon's resolver answers stateless links and cached stateful ones with the link itself.
    if (resolved !== null && typeof (resolved as Promise<ResolvedLink | null>).then === 'function') {
      (resolved as Promise<ResolvedLink | null>).then(
        (link) => this.respond(req, out, route, link, method, started),
        (err: unknown) => this.resolverFailed(out, route, err, started),
      );
      return;
    }
    this.respond(req, out, route, resolved as ResolvedLink | null, method, started);
  }

  private respond(req: IncomingRequest, out: ResponseWriter, route: TrackingRoute, link: ResolvedLink | null, method: string, started: number): void {
    // A compact link's path says what it is and must agree with the token; a path-preserving link
    // has no kind in its path, so the token decides.
    const kind: LinkKind = route.style === 'path' && link ? link.kind : route.kind;
    if (!link || link.kind !== kind) return this.reject(out, kind, 'unknown_token', started, kind === 'open');
    let location = '';
    if (kind === 'click') {
      const safe = safeLocation(link.url);
      if (safe === null) {
        this.log.warn('unsafe_location', { token: route.token.slice(0, 64) }, 'link destination is not an absolute http(s) URL: 404');
        return this.reject(out, 'click', 'unsafe_location', started, false);
      }
      location = safe;
    }
    const sink = this.options.events;
    if (!sink) return this.send(out, kind, location, started, method);

    const now = this.now();
    const fullIp = this.clientIp(req.remoteAddress, req.forwardedFor);
    const userAgentHeader = req.userAgent ?? '';
    // The judge keeps this event for minutes: pooled, its user agent and address no longer keep the
    // request head (X-Forwarded-For is a slice of it too).
    const userAgent = this.eventStrings.intern(
      userAgentHeader.length > MAX_USER_AGENT_CHARS ? userAgentHeader.slice(0, MAX_USER_AGENT_CHARS) : userAgentHeader,
    );
    const position = link.position ?? 0;
    const part = link.part ?? '';
    const judged = this.judge.judge({
      kind,
      method,
      userAgent,
      ip: fullIp,
      deliveredAt: link.deliveredAt === undefined ? undefined : +link.deliveredAt,
      now,
      recipientKey: recipientKey(link.sendId, link.recipient, link.emailCode, link.messageId ?? '', fullIp),
      position,
      part,
      honeypot: kind === 'click' && part === 'h' && position === 0,
    });
    const machineReason = judged.machineReason;
    const truncation = this.options.ipTruncation;
    const ip = this.eventStrings.intern(truncation ? truncateAddress(fullIp, truncation) : fullIp);
    const event = buildEvent(this.ids.next(), kind, link, location, { time: new Date(now), ip, userAgent, machineReason });
    judged.remember(event);

    let recording: Promise<void>;
    try {
      recording = sink.record([event]);
    } catch (err) {
      recording = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    recording.then(
      () => {
        const recorded = this.m.eventsRecorded[kind];
        (machineReason === undefined ? recorded.person : recorded.machine).inc();
        this.send(out, kind, location, started, method);
      },
      (err: unknown) => {
        this.m.eventFailures.inc();
        this.log.warn('record_failed', { code: errorCode(err), err: errorMessage(err), type: kind }, 'event not recorded; response sent anyway');
        this.send(out, kind, location, started, method);
      },
    );
  }

  /**
   * Earlier events that later evidence made machines (`publish`: their follow-ups go to the sinks) or
   * gave more reasons (stored only), off the response path.
   */
  private reclassify(events: RedirectEvent[], publish: boolean): void {
    if (publish) for (const e of events) if (e.type !== 'unsubscribe') this.m.reclassified[e.type].inc();
    const sink = this.options.events;
    if (!sink?.reclassify) return;
    const failed = (err: unknown): void => {
      this.m.reclassifyFailures.inc();
      this.log.warn('reclassify_failed', { code: errorCode(err), err: errorMessage(err), events: events.length }, 'verdict changes not recorded');
    };
    try {
      sink.reclassify(events, publish).catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  /** Verdict changes still waiting for their turn are found now (tests; before close). */
  flushVerdicts(): void {
    this.judge.flush();
  }

  private send(out: ResponseWriter, kind: LinkKind, location: string, started: number, method = 'GET'): void {
    if (method === 'OPTIONS') {
      out.canned(OPTIONS_ALLOWED);
      this.count(kind, 200, started);
    } else if (kind === 'click') {
      out.redirect(location);
      this.count('click', 302, started);
    } else {
      out.canned(GIF);
      this.count('open', 200, started);
    }
  }

  /** A tracking request we will not honour: a 404 for clicks, the GIF (no event) for opens. */
  private reject(out: ResponseWriter, kind: LinkKind, reason: string, started: number, gif: boolean): void {
    this.m.rejected.labels(reason).inc();
    if (gif) {
      out.canned(GIF);
      this.count(kind, 200, started);
    } else {
      out.canned(NOT_FOUND);
      this.count(kind, 404, started);
    }
  }

  /**
   * The resolver could not read what verifies the link (the store down, the row not cached): 503 with
   * Retry-After, for opens too (a proxy fetching the pixel again later records the open then).
   */
  private resolverFailed(out: ResponseWriter, route: TrackingRoute, err: unknown, started: number): void {
    this.m.rejected.labels('resolver_error').inc();
    this.log.warn('resolver_failed', { code: errorCode(err), err: errorMessage(err) }, 'link resolver failed: 503');
    out.canned(this.unavailable);
    this.count(route.kind, 503, started);
  }

  private count(route: RouteLabel, status: number, started: number): void {
    this.m.requests.labels(route, String(status)).inc();
    this.m.latency.observe((performance.now() - started) / 1000);
  }

  /** Requests node's parser refused before they reached us: answered minimally, counted, logged, closed. */
  private onClientError(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket): void {
    const answer = answerClientError(err, this.limits.maxUrlBytes);
    if (!answer) {
      socket.destroy();
      return;
    }
    this.m.limits.labels(answer.limit).inc();
    this.log.warn(answer.limit, { code: err.code ?? '', ip: socket.remoteAddress }, `client error: ${answer.status}`);
    if (socket.writable) {
      socket.end(`HTTP/1.1 ${answer.status} ${http.STATUS_CODES[answer.status]}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    }
    socket.destroySoon();
  }
}
