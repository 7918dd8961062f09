/**
 * What a tracked link looks like, and how the redirector reads one back.
 *
 *   compact          SCHEME://DOMAIN/c/TOKEN[?query]     open pixel SCHEME://DOMAIN/o/TOKEN
 *   path-preserving  SCHEME://DOMAIN/original/path-TOKEN[?query]   (SMTPeter: the link keeps the
 *                    sender's path and only gains a small identifier at the end)
 *
 * `query` is what a stateful link carries: the original URL's query string, not stored in its row.
 * Token text never contains `-` (token-text.ts), so in a path-preserving link the token is whatever
 * follows the last `-` of the last segment, however many `-` the original path has.
 */
import { isTokenText } from './token-text.js';

export type LinkStyle = 'compact' | 'path';
export type LinkScheme = 'http' | 'https';
export type LinkRoute = 'click' | 'open';

export interface TrackingOrigin {
  scheme: LinkScheme;
  /** HOST or HOST:PORT. */
  domain: string;
}

/** The destination a click link is dressed as. */
export interface ClickTarget {
  /** The URL whose path a path-preserving link shows (a stateful row's URL, or a stateless full URL). */
  url: string;
  /** `?...` carried in the link, or '' (the default). */
  query?: string;
}

export interface ParsedLinkPath {
  route: LinkRoute;
  style: LinkStyle;
  token: string;
  /** The request's query string from its `?` on, or ''. */
  query: string;
}

function base(origin: TrackingOrigin): string {
  return `${origin.scheme}://${origin.domain}`;
}

/** The original URL's path as WHATWG serializes it (ASCII, percent-encoded); `/` when there is none. */
function shownPath(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.pathname : '/';
  } catch {
    return '/';
  }
}

export function clickLink(origin: TrackingOrigin, style: LinkStyle, token: string, target: ClickTarget): string {
  const query = target.query ?? '';
  if (query !== '' && !query.startsWith('?')) throw new RangeError('a carried query starts with "?"');
  const path = style === 'compact' ? `/c/${token}` : `${shownPath(target.url)}-${token}`;
  return base(origin) + path + query;
}

export function openLink(origin: TrackingOrigin, token: string): string {
  return `${base(origin)}/o/${token}`;
}

const COMPACT = /^\/([co])\/([^/]+)$/;
// Some link scanners and old encoders escape `~`, which RFC 3986 says they should not.
const ESCAPED_TILDE = /%7e/gi;

function tokenFrom(text: string): string | null {
  const token = text.replace(ESCAPED_TILDE, '~');
  return isTokenText(token) ? token : null;
}

/**
 * The route, style, token and carried query of a request target (path and query, as in the request
 * line); null when it is no tracking link. Whether the token is genuine is decodeToken's business.
 */
export function parseLinkPath(target: string): ParsedLinkPath | null {
  const withoutFragment = target.split('#', 1)[0] as string; // browsers never send one; be safe anyway
  const at = withoutFragment.indexOf('?');
  const path = at < 0 ? withoutFragment : withoutFragment.slice(0, at);
  const query = at < 0 ? '' : withoutFragment.slice(at);
  if (!path.startsWith('/')) return null;

  const compact = COMPACT.exec(path);
  if (compact) {
    const token = tokenFrom(compact[2] as string);
    if (token) return { route: compact[1] === 'c' ? 'click' : 'open', style: 'compact', token, query };
  }

  const segment = path.slice(path.lastIndexOf('/') + 1);
  const dash = segment.lastIndexOf('-');
  if (dash < 0) return null;
  const token = tokenFrom(segment.slice(dash + 1));
  return token ? { route: 'click', style: 'path', token, query } : null;
}
