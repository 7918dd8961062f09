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

export type LinkStyle = 'compact' | 'path';
type LinkScheme = 'http' | 'https';

export interface TrackingOrigin {
  scheme: LinkScheme;
  /** HOST or HOST:PORT. */
  domain: string;
}

/** The destination a click link is dressed as. */
interface ClickTarget {
  /** The URL whose path a path-preserving link shows (a stateful row's URL, or a stateless full URL). */
  url: string;
  /** `?...` carried in the link, or '' (the default). */
  query?: string;
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

/**
 * The click links of one origin and style: what they share is built once (a message mints one link
 * per URL it tracks with the same maker).
 */
export function clickLinkMaker(origin: TrackingOrigin, style: LinkStyle): (token: string, target: ClickTarget) => string {
  const start = base(origin);
  const compact = `${start}/c/`;
  return (token, target) => {
    const query = target.query ?? '';
    if (query !== '' && !query.startsWith('?')) throw new RangeError('a carried query starts with "?"');
    if (style === 'compact') return compact + token + query;
    return `${start}${shownPath(target.url)}-${token}${query}`;
  };
}

export function clickLink(origin: TrackingOrigin, style: LinkStyle, token: string, target: ClickTarget): string {
  return clickLinkMaker(origin, style)(token, target);
}

export function openLink(origin: TrackingOrigin, token: string): string {
  return `${base(origin)}/o/${token}`;
}
