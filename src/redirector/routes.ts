/**
 * Maps a request target (the path and query of the request line) to what the redirector should do.
 * Pure string work, no URL parsing: this runs for every request, and the token is checked by the
 * resolver anyway, so all we need here is a cheap syntactic gate that keeps junk away from it.
 */
import type { LinkStyle, TrackingRoute } from './types.js';

/** Whether a string may be a token of the given link style. Cheap and allocation-free, ideally. */
export type TokenSyntax = (token: string, style: LinkStyle) => boolean;

type RequestTarget =
  | { type: 'healthz' }
  | { type: 'metrics' }
  | { type: 'link'; route: TrackingRoute }
  /** `/o/...` whose token fails the syntax check: still answered with the GIF, never an image broken. */
  | { type: 'bad-open' }
  | { type: 'not-found' };

const HEALTHZ: RequestTarget = { type: 'healthz' };
const METRICS: RequestTarget = { type: 'metrics' };
const BAD_OPEN: RequestTarget = { type: 'bad-open' };
const NOT_FOUND: RequestTarget = { type: 'not-found' };

/** Tokens are base64url; path-preserving tokens follow the last '-', so they cannot contain one. */
const COMPACT_TOKEN = /^[A-Za-z0-9_-]+$/;
const PATH_TOKEN = /^[A-Za-z0-9_]+$/;

const defaultTokenSyntax: TokenSyntax = (token, style) => (style === 'compact' ? COMPACT_TOKEN.test(token) : PATH_TOKEN.test(token));

interface RouteParserOptions {
  tokenSyntax?: TokenSyntax;
  /** Accept path-preserving links (`/original/path-TOKEN`). Default true. */
  pathStyle?: boolean;
}

export type RouteParser = (target: string) => RequestTarget;

// Some link scanners and old encoders escape `~` (which tokens use), though RFC 3986 says not to.
const ESCAPED_TILDE = /%7e/gi;

function unescapeTilde(token: string): string {
  return token.includes('%') ? token.replace(ESCAPED_TILDE, '~') : token;
}

export function createRouteParser(options: RouteParserOptions = {}): RouteParser {
  const isToken = options.tokenSyntax ?? defaultTokenSyntax;
  const pathStyle = options.pathStyle ?? true;

  return (target) => {
    // Absolute-form targets (`GET http://...`) are proxy requests: not ours.
    if (target.charCodeAt(0) !== 0x2f /* / */) return NOT_FOUND;
    const q = target.indexOf('?');
    const path = q === -1 ? target : target.slice(0, q);
    const query = q === -1 ? '' : target.slice(q + 1);

    let compactKind: 'click' | 'open' | null = null;
    if (path.length > 3 && path.charCodeAt(2) === 0x2f && path.charCodeAt(0) === 0x2f) {
      const letter = path.charCodeAt(1);
      if (letter === 0x63 /* c */ || letter === 0x6f /* o */) {
        compactKind = letter === 0x63 ? 'click' : 'open';
        const token = unescapeTilde(path.slice(3));
        if (isToken(token, 'compact')) return { type: 'link', route: { style: 'compact', kind: compactKind, token, query, path } };
      }
    }
    if (path === '/o/') return BAD_OPEN;
    if (path === '/healthz') return HEALTHZ;
    if (path === '/metrics') return METRICS;

    // A path-preserving link whose original path starts with /c/ or /o/ lands here too.
    if (pathStyle) {
      const dash = path.lastIndexOf('-');
      // The token is after the last '-' of the last segment: a '/' after the dash means no token.
      if (dash !== -1 && path.indexOf('/', dash) === -1) {
        const token = unescapeTilde(path.slice(dash + 1));
        if (token.length > 0 && isToken(token, 'path')) {
          return { type: 'link', route: { style: 'path', kind: 'click', token, query, path } };
        }
      }
    }
    if (compactKind === 'open') return BAD_OPEN;
    return NOT_FOUND;
  };
}
