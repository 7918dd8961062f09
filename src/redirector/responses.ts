/**
 * Every response the redirector sends, built once at load time: the request path only picks one and
 * fills in a Location, and writes it through node:http or the fast front.
 */
import type { ServerResponse } from 'node:http';
import { BoundedMap } from '../util/bounded-map.js';

/** The 1x1 transparent GIF89a (43 bytes): header, 2-colour table, transparency extension, 1 pixel. */
export const TRANSPARENT_GIF = Buffer.from([
  0x47,
  0x49,
  0x46,
  0x38,
  0x39,
  0x61, // "GIF89a"
  0x01,
  0x00,
  0x01,
  0x00,
  0x80,
  0x00,
  0x00, // 1x1, global colour table of 2 entries
  0x00,
  0x00,
  0x00,
  0xff,
  0xff,
  0xff, // black, white
  0x21,
  0xf9,
  0x04,
  0x01,
  0x00,
  0x00,
  0x00,
  0x00, // graphic control: colour 0 is transparent
  0x2c,
  0x00,
  0x00,
  0x00,
  0x00,
  0x01,
  0x00,
  0x01,
  0x00,
  0x00, // image descriptor 1x1
  0x02,
  0x02,
  0x44,
  0x01,
  0x00, // LZW data for one pixel of colour 0
  0x3b, // trailer
]);

const NOT_FOUND_PAGE = Buffer.from(
  '<!doctype html>\n<html><head><meta charset="utf-8"><title>Link not found</title></head>' +
    '<body><h1>Link not found</h1><p>This link is not valid or has expired.</p></body></html>\n',
);

/** A response fixed at load time, apart from a redirect's Location. */
export interface CannedResponse {
  status: number;
  /** Flat name/value list: node's writeHead copies it without building an object per request. */
  headers: readonly string[];
  body: Buffer;
  /** The same headers as HTTP/1.1 lines, for the connections the fast front answers itself. */
  headerLines: string;
}

function canned(status: number, headers: string[], body: Buffer = Buffer.alloc(0)): CannedResponse {
  const all = [...headers, 'Content-Length', String(body.length)];
  return { status, headers: all, body, headerLines: headerLines(all) };
}

/** A flat name/value list as HTTP/1.1 header lines, each ending in CRLF. */
export function headerLines(headers: readonly string[]): string {
  let lines = '';
  for (let i = 0; i < headers.length; i += 2) lines += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return lines;
}

// Mail clients and proxies must fetch the pixel every time it is shown: each fetch is an open.
export const GIF = canned(
  200,
  [
    'Content-Type',
    'image/gif',
    'Cache-Control',
    'no-store, no-cache, must-revalidate, max-age=0',
    'Pragma',
    'no-cache',
    'Expires',
    'Thu, 01 Jan 1970 00:00:00 GMT',
  ],
  TRANSPARENT_GIF,
);

export const NOT_FOUND = canned(
  404,
  [
    'Content-Type',
    'text/html; charset=utf-8',
    'Cache-Control',
    'no-store',
    'X-Content-Type-Options',
    'nosniff',
    'Content-Security-Policy',
    "default-src 'none'",
  ],
  NOT_FOUND_PAGE,
);

/**
 * A redirect must not be cached (every click is an event) nor leak the tracking URL as a Referer to
 * the destination. Its Location goes in front of these headers.
 */
export const REDIRECT = canned(302, ['Cache-Control', 'no-store', 'Referrer-Policy', 'no-referrer']);

export const METHOD_NOT_ALLOWED = canned(405, ['Allow', 'GET, HEAD', 'Cache-Control', 'no-store']);

/** OPTIONS on a tracking link (Office's existence discovery): what the link allows, nothing else. */
export const OPTIONS_ALLOWED = canned(200, ['Allow', 'GET, HEAD, OPTIONS', 'Cache-Control', 'no-store']);

export const URI_TOO_LONG = canned(414, ['Connection', 'close']);

const UNAVAILABLE_PAGE = Buffer.from(
  '<!doctype html><meta charset="utf-8"><title>Try again in a moment</title><p>This link cannot be followed right now. Please try again in a moment.</p>\n',
);

/**
 * A link the store cannot verify now (its database unreachable, its row not cached): 503 with
 * Retry-After, never a redirect to a destination we could not check, never a 404 for a link that is fine.
 */
export function serviceUnavailable(retryAfterSeconds: number): CannedResponse {
  return canned(
    503,
    ['Content-Type', 'text/html; charset=utf-8', 'Retry-After', String(retryAfterSeconds), 'Cache-Control', 'no-store', 'X-Content-Type-Options', 'nosniff'],
    UNAVAILABLE_PAGE,
  );
}

/**
 * Where the request handler sends its answer: a node:http response, or a slot of a connection the
 * fast front serves (./fast-front.ts). `location` must come from safeLocation.
 */
export interface ResponseWriter {
  canned(response: CannedResponse): void;
  redirect(location: string): void;
  text(status: number, contentType: string, body: string): void;
}

// Index 1 is the Location slot, filled per request: writeHead copies the array synchronously, so one
// shared array serves every request.
const REDIRECT_HEADERS = ['Location', '', ...REDIRECT.headers];

/** Writes to a node:http response. Node drops bodies itself for HEAD. */
export class NodeResponseWriter implements ResponseWriter {
  constructor(private readonly res: ServerResponse) {}

  canned(response: CannedResponse): void {
    this.res.writeHead(response.status, response.headers as string[]);
    this.res.end(response.body);
  }

  redirect(location: string): void {
    REDIRECT_HEADERS[1] = location;
    this.res.writeHead(302, REDIRECT_HEADERS);
    REDIRECT_HEADERS[1] = '';
    this.res.end();
  }

  text(status: number, contentType: string, body: string): void {
    this.res.writeHead(status, textHeaders(contentType, body));
    this.res.end(body);
  }
}

export function textHeaders(contentType: string, body: string): string[] {
  return ['Content-Type', contentType, 'Content-Length', String(Buffer.byteLength(body)), 'Cache-Control', 'no-store'];
}

/** Anything outside visible ASCII has no place in a serialized URL; its presence means a parser bug. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * The Location for a click destination, or null when it must not be one. Only absolute http and https
 * URLs qualify (so never `javascript:`, `data:`, relative or protocol-relative ones), and the value
 * sent is the WHATWG serialization: it drops tabs and line breaks and percent-encodes spaces, controls
 * and non-ASCII, so a stored URL can neither inject a header nor make a malformed one.
 */
export function safeLocation(url: string | undefined): string | null {
  if (!url) return null;
  // Clicks repeat a few destinations: each is parsed once while it stays among the recent ones.
  return locations.getOrAdd(url, parseLocation);
}

const locations = new BoundedMap<string | null>(4096);

function parseLocation(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
  if (parsed.hostname === '') return null;
  const href = parsed.href;
  return VISIBLE_ASCII.test(href) ? href : null;
}
