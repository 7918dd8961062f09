import type { UrlVerdicts } from './url-rules.js';

/** `h` for the HTML part, `t` for the plain-text part (GreenArrow's html_or_text column). */
export type PartCode = 'h' | 't';

export interface LinkFound {
  /** Ordinal of the trackable link within its part, 1-based, in document order. */
  position: number;
  part: PartCode;
  /** The real (decoded, trimmed) URL. */
  url: string;
  /** `url` up to its query's `?`, as the URL verdict gave it (UrlVerdict), when it has a query. */
  urlBeforeQuery?: string;
  linkName?: string;
  /** Marked `data-msys-unsubscribe="1"`: a click on it is an unsubscribe (the sender's page, or ours). */
  unsubscribe?: true;
}

export interface LinkMinter {
  /** New URL for a tracked link, or null to leave it alone. */
  click(link: LinkFound): string | null;
  /** URL of the open pixel image. */
  open(): string;
  /** True when the URL already points at one of our tracking domains (never re-track it). */
  isTrackingUrl(url: URL): boolean;
}

export interface RewrittenLink extends LinkFound {
  newUrl: string;
}

/** Set when the part holds more trackable links than allowed: only the first maxLinks were tracked. */
export interface LimitHit {
  reason: 'max-links';
  maxLinks: number;
  /** Trackable links found (at least maxLinks + 1). */
  found: number;
}

export interface RewriteOutcome {
  text: string;
  links: RewrittenLink[];
  /** Link candidates (hrefs / URLs seen) that were not rewritten, for any reason. */
  skippedLinks: number;
  pixel: 'opentag' | 'before-body' | 'appended' | null;
  changed: boolean;
  limit?: LimitHit;
}

export interface RewriteOptions {
  minter: LinkMinter;
  clicks: boolean;
  opens: boolean;
  maxLinks: number;
  /** Add the hidden honeypot link to an HTML part with tracked links (./honeypot.ts). Default false. */
  honeypot?: boolean;
  /** URL verdicts shared by the parts of one message, or by messages with the same tracking hosts (see judgeUrlOnce). */
  urlVerdicts?: UrlVerdicts;
}
