/**
 * The redirector's contracts with the rest of the daemon. The redirector knows nothing of tokens or
 * storage: the daemon implements LinkResolver on top of src/tokens + src/store (app/store-resolver.ts), and
 * EventSink on the event pipeline. Its events are the store's event records.
 */
import type { TrackEvent } from '../store/index.js';
import type { LinkStyle } from '../tokens/url-style.js';

export type { LinkStyle };

export type LinkKind = 'click' | 'open';

/** A tracking request, as the route parser understood its path. Nothing in it is verified yet. */
export interface TrackingRoute {
  style: LinkStyle;
  /** What the path claims; for path-preserving links always 'click' (the resolver has the last word). */
  kind: LinkKind;
  /** The token as it appeared in the path (never percent-decoded: tokens are URL-safe by syntax). */
  token: string;
  /** The raw query string without '?', or ''. Stateful links carry the destination's query here. */
  query: string;
  /** The raw path without the query string. For path-preserving links the original path is in it. */
  path: string;
}

/** What a verified token stands for. */
export interface ResolvedLink {
  kind: LinkKind;
  /** Click destination, query string included. Only absolute http(s) URLs ever become a Location. */
  url?: string;
  sendId: string;
  listId: string;
  recipient: string;
  emailCode: string;
  linkName?: string;
  /** Ordinal position of the link in its part; 0 or absent for opens. */
  position?: number;
  /** Which part the link was in: 'h' html, 't' text. */
  part?: 'h' | 't' | '';
  /** A link marked data-msys-unsubscribe: its click is recorded as an unsubscribe (source 'link'), never a suppression. */
  unsubscribeLink?: true;
  /** When the message was delivered to the milter; time since delivery is a machine signal. */
  deliveredAt?: Date | number;
  /** The message's id (stateful links), hex: tells recipients of a message sent to several apart. */
  messageId?: string;
}

/** What the redirector needs of an HTTP request, whichever front read it (node:http or ./fast-front.ts). */
export interface IncomingRequest {
  method: string | undefined;
  target: string;
  host: string | undefined;
  userAgent: string | undefined;
  forwardedFor: string | string[] | undefined;
  remoteAddress: string | undefined;
}

export interface LinkResolver {
  /**
   * A verified link, or null for an unknown, forged, expired or malformed token. May throw or reject:
   * the redirector then answers as for null (404 / the GIF), logs and counts it.
   */
  resolve(route: TrackingRoute): Promise<ResolvedLink | null> | ResolvedLink | null;
}

/**
 * A click or open as the redirector records it: the store's event, restricted to the two kinds the
 * redirector sees. Its id is 16 bytes, unique across restarts (random prefix + counter); its ip is the
 * client after X-Forwarded-For from trusted proxies, truncated if so configured.
 */
export type RedirectEvent = Omit<TrackEvent, 'type' | 'details'> & ({ type: LinkKind } | { type: 'unsubscribe'; details: { source: 'link' } });

export interface EventSink {
  /** Resolves once the events are durably written (group commit: with the batch that holds them). */
  record(events: RedirectEvent[]): Promise<void>;
  /**
   * Earlier events with a new verdict (same id, new machine and machineReason): the store's reports
   * take it; with `publish` (the verdict changed, not only its reasons) sinks get a follow-up. Called
   * after the responses, never before a redirect.
   */
  reclassify?(events: RedirectEvent[], publish: boolean): Promise<void>;
}
