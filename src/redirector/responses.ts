/**
 * Every response the redirector sends, built once at load time: the request path only picks one and
 * fills in a Location. Header lists are flat arrays because writeHead copies them without building
 * an object per request.
 */
import type { ServerResponse } from 'node:http';

/** The 1x1 transparent GIF89a (43 bytes): header, 2-colour table, transparency extension, 1 pixel. */
export const TRANSPARENT_GIF = Buffer.from([
  0x47, 0x49, 0x46, 0x38, 0x39, 0x61, // "GIF89a"
  0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, // 1x1, global colour table of 2 entries
  0x00, 0x00, 0x00, 0xff, 0xff, 0xff, // black, white
  0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, // graphic control: colour 0 is transparent
  0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, // image descriptor 1x1
  0x02, 0x02, 0x44, 0x01, 0x00, // LZW data for one pixel of colour 0
  0x3b, // trailer
]);

const NOT_FOUND_PAGE = Buffer.from(
  '<!doctype html>\n<html><head><meta charset="utf-8"><title>Link not found</title></head>' +
    '<body><h1>Link not found</h1><p>This link is not valid or has expired.</p></body></html>\n',
);

// Mail clients and proxies must fetch the pixel every time it is shown: each fetch is an open.
const GIF_HEADERS = [
  'Content-Type', 'image/gif',
  'Content-Length', String(TRANSPARENT_GIF.length),
  'Cache-Control', 'no-store, no-cache, must-revalidate, max-age=0',
  'Pragma', 'no-cache',
  'Expires', 'Thu, 01 Jan 1970 00:00:00 GMT',
];

const NOT_FOUND_HEADERS = [
  'Content-Type', 'text/html; charset=utf-8',
  'Content-Length', String(NOT_FOUND_PAGE.length),
  'Cache-Control', 'no-store',
  'X-Content-Type-Options', 'nosniff',
  'Content-Security-Policy', "default-src 'none'",
];

// A redirect must not be cached (every click is an event) nor leak the tracking URL as a Referer to
// the destination. Index 1 is the Location slot, filled per request: writeHead copies the array
// synchronously, so one shared array serves every request.
const REDIRECT_HEADERS = [
  'Location', '',
  'Cache-Control', 'no-store',
  'Referrer-Policy', 'no-referrer',
  'Content-Length', '0',
];

export function sendGif(res: ServerResponse): void {
  res.writeHead(200, GIF_HEADERS);
  res.end(TRANSPARENT_GIF); // node drops the body itself for HEAD
}

export function sendNotFound(res: ServerResponse): void {
  res.writeHead(404, NOT_FOUND_HEADERS);
  res.end(NOT_FOUND_PAGE);
}

/** `location` must come from safeLocation. */
export function sendRedirect(res: ServerResponse, location: string): void {
  REDIRECT_HEADERS[1] = location;
  res.writeHead(302, REDIRECT_HEADERS);
  REDIRECT_HEADERS[1] = '';
  res.end();
}

const METHOD_NOT_ALLOWED_HEADERS = ['Allow', 'GET, HEAD', 'Content-Length', '0', 'Cache-Control', 'no-store'];

export function sendMethodNotAllowed(res: ServerResponse): void {
  res.writeHead(405, METHOD_NOT_ALLOWED_HEADERS);
  res.end();
}

const URI_TOO_LONG_HEADERS = ['Content-Length', '0', 'Connection', 'close'];

export function sendUriTooLong(res: ServerResponse): void {
  res.writeHead(414, URI_TOO_LONG_HEADERS);
  res.end();
}

export function sendText(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, ['Content-Type', contentType, 'Content-Length', String(Buffer.byteLength(body)), 'Cache-Control', 'no-store']);
  res.end(body);
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
