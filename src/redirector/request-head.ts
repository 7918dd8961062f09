/**
 * The strict request-head reader of the fast front (./fast-front.ts). It accepts only the plainest
 * HTTP/1.1 GET and HEAD heads, all of whose bytes it understands, and answers null for anything else:
 * that connection then goes to node:http, whose parser has the last word on everything unusual.
 * Saying null too often costs speed, never correctness, so every doubt is a null.
 */

interface RequestHead {
  isHead: boolean;
  /** Path and query, visible ASCII only. */
  target: string;
  host: string;
  userAgent: string | undefined;
  /** Several X-Forwarded-For lines joined with ", " as node:http joins them. */
  forwardedFor: string | undefined;
  /** The client asked for the connection to end after this response. */
  close: boolean;
}

// Visible ASCII only in the target: no spaces, controls or raw non-ASCII bytes.
const REQUEST_LINE = /^(GET|HEAD) (\/[\x21-\x7e]*) HTTP\/1\.1$/;
// RFC 9110 token for the name; the value is visible ASCII, spaces and tabs (no obs-text, no controls),
// trimmed of the whitespace around it. A line beginning with whitespace (obs-fold) fails the name.
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[\x21-\x7e](?:[ \t]*[\x21-\x7e])*)?)[ \t]*$/;

/**
 * `head` is a request head without its closing blank line, read as latin1 (one char per byte).
 * Returns null for anything the fast front must leave to node:http.
 */
export function readRequestHead(head: string, maxTargetLength: number): RequestHead | null {
  let lineEnd = head.indexOf('\r\n');
  if (lineEnd === -1) lineEnd = head.length;
  const requestLine = REQUEST_LINE.exec(head.slice(0, lineEnd));
  if (!requestLine) return null;
  const target = requestLine[2]!;
  if (target.length > maxTargetLength) return null;

  let host: string | undefined;
  let userAgent: string | undefined;
  let forwardedFor: string | undefined;
  let close = false;
  let sawLength = false;
  for (let at = lineEnd + 2; at < head.length;) {
    let end = head.indexOf('\r\n', at);
    if (end === -1) end = head.length;
    const header = HEADER_LINE.exec(head.slice(at, end));
    if (!header) return null;
    at = end + 2;
    const value = header[2]!;
    switch (header[1]!.toLowerCase()) {
      case 'host':
        if (host !== undefined || value === '') return null;
        host = value;
        break;
      case 'user-agent':
        if (userAgent !== undefined) return null;
        userAgent = value;
        break;
      case 'x-forwarded-for':
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        break;
      case 'connection': {
        const options = value
          .toLowerCase()
          .split(',')
          .map((option) => option.trim());
        if (options.includes('upgrade')) return null;
        if (options.includes('close')) close = true;
        break;
      }
      case 'content-length':
        if (value !== '0' || sawLength) return null;
        sawLength = true;
        break;
      // A body, a protocol switch or a 100-continue handshake: node:http's business.
      case 'transfer-encoding':
      case 'upgrade':
      case 'expect':
        return null;
    }
  }
  if (host === undefined) return null; // node:http answers 400, as HTTP/1.1 asks
  return { isHead: requestLine[1] === 'HEAD', target, host, userAgent, forwardedFor, close };
}
