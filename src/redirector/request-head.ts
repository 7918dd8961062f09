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
// Every header line at once, from the CRLF that ends the request line: an RFC 9110 token for the name,
// a colon, then visible ASCII, spaces and tabs (no obs-text, no controls). A line beginning with
// whitespace (obs-fold), an empty line, a bare CR or LF fails the name. One pass of the regex engine:
// a browser's head has 15 lines or so, and a regex with captures per line took 3 µs to read one. A
// CRLF at the very end is passed over, as the line loop below passes it over.
const HEADER_LINES = /(?:\r\n[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e]*)*(?:\r\n)?$/y;

/** The header names the reader acts on; any other header is passed over. */
const enum Field {
  // Falsy, so that fieldOf tries a line's other candidate name with `||`.
  Other = 0,
  Host,
  UserAgent,
  ForwardedFor,
  Connection,
  ContentLength,
  // A body, a protocol switch or a 100-continue handshake: node:http's business.
  NodeOnly,
}

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
  HEADER_LINES.lastIndex = lineEnd;
  if (!HEADER_LINES.test(head)) return null;

  let host: string | undefined;
  let userAgent: string | undefined;
  let forwardedFor: string | undefined;
  let close = false;
  let sawLength = false;
  for (let at = lineEnd + 2; at < head.length;) {
    let end = head.indexOf('\r\n', at);
    if (end === -1) end = head.length;
    const field = fieldOf(head, at);
    const lineAt = at;
    at = end + 2;
    if (field === Field.Other) continue;
    if (field === Field.NodeOnly) return null;
    // The line passed HEADER_LINES: its first colon ends the name.
    const value = trimmedValue(head, head.indexOf(':', lineAt) + 1, end);
    switch (field) {
      case Field.Host:
        if (host !== undefined || value === '') return null;
        host = value;
        break;
      case Field.UserAgent:
        if (userAgent !== undefined) return null;
        userAgent = value;
        break;
      case Field.ForwardedFor:
        forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
        break;
      case Field.Connection: {
        const options = value
          .toLowerCase()
          .split(',')
          .map((option) => option.trim());
        if (options.includes('upgrade')) return null;
        if (options.includes('close')) close = true;
        break;
      }
      case Field.ContentLength:
        if (value !== '0' || sawLength) return null;
        sawLength = true;
        break;
    }
  }
  if (host === undefined) return null; // node:http answers 400, as HTTP/1.1 asks
  return { isHead: requestLine[1] === 'HEAD', target, host, userAgent, forwardedFor, close };
}

/** Which field the line at `at` holds, read in place: no name string made and lowered per line. */
function fieldOf(head: string, at: number): Field {
  switch (head.charCodeAt(at) | 0x20) {
    case 0x68: // h
      return named(head, at, 'host', Field.Host);
    case 0x75: // u
      return named(head, at, 'user-agent', Field.UserAgent) || named(head, at, 'upgrade', Field.NodeOnly);
    case 0x78: // x
      return named(head, at, 'x-forwarded-for', Field.ForwardedFor);
    case 0x63: // c
      return named(head, at, 'connection', Field.Connection) || named(head, at, 'content-length', Field.ContentLength);
    case 0x74: // t
      return named(head, at, 'transfer-encoding', Field.NodeOnly);
    case 0x65: // e
      return named(head, at, 'expect', Field.NodeOnly);
    default:
      return Field.Other;
  }
}

/**
 * `field` when the line's name is `name` in any case, else Field.Other. The line has passed
 * HEADER_LINES, so a colon right after `name`'s length ends the name there. Or'ing 0x20 lowers a
 * letter, keeps `-`, and turns no other token character into a letter or `-`.
 */
function named(head: string, at: number, name: string, field: Field): Field {
  if (head.charCodeAt(at + name.length) !== 0x3a) return Field.Other;
  for (let i = 0; i < name.length; i++) if ((head.charCodeAt(at + i) | 0x20) !== name.charCodeAt(i)) return Field.Other;
  return field;
}

/** The value between `from` and `end`, without the spaces and tabs around it. */
function trimmedValue(head: string, from: number, end: number): string {
  let start = from;
  let stop = end;
  while (start < stop && isBlank(head.charCodeAt(start))) start++;
  while (stop > start && isBlank(head.charCodeAt(stop - 1))) stop--;
  return head.slice(start, stop);
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}
