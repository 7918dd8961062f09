/**
 * The redirector's contracts with the rest of the daemon. The redirector knows nothing of tokens or
 * storage: the lead implements LinkResolver on top of src/links + src/store, and EventSink on the
 * store's group-committed `recordEvents`. RedirectEvent is shaped so that a store TrackEvent[] accepts
 * it as is.
 */

export type LinkKind = 'click' | 'open';

/** Compact: `/c/TOKEN`, `/o/TOKEN`. Path-preserving: `/original/path-TOKEN` (token after the last '-'). */
export type LinkStyle = 'compact' | 'path';

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
  /** When the message was delivered to the milter; enables the fast-click machine flag. */
  deliveredAt?: Date | number;
}

export interface LinkResolver {
  /**
   * A verified link, or null for an unknown, forged, expired or malformed token. May throw or reject:
   * the redirector then answers as for null (404 / the GIF), logs and counts it.
   */
  resolve(route: TrackingRoute): Promise<ResolvedLink | null> | ResolvedLink | null;
}

/** A click or open as the redirector records it; assignable to the store's TrackEvent. */
export interface RedirectEvent {
  /** 16 bytes, unique per process lifetime and across restarts (random prefix + counter). */
  id: Uint8Array;
  time: Date;
  type: LinkKind;
  sendId: string;
  listId: string;
  recipient: string;
  emailCode: string;
  /** The destination for clicks; '' for opens. */
  url: string;
  linkName: string;
  position: number;
  part: 'h' | 't' | '';
  /** The client address (after X-Forwarded-For from trusted proxies), truncated if so configured. */
  ip: string;
  userAgent: string;
  /** A scanner, prefetcher, privacy proxy, HEAD request or implausibly fast click rather than a person. */
  machine: boolean;
  /** Comma-separated reasons when machine, e.g. `head,scanner:proofpoint`; absent otherwise. */
  machineReason?: string;
}

export interface EventSink {
  /** Resolves once the events are durably written (group commit: with the batch that holds them). */
  record(events: RedirectEvent[]): Promise<void>;
}
