/**
 * Stateful links, as GreenArrow stores them: a URL row holds the URL up to (not including) its first `?`;
 * the query string travels in the rewritten link and is put back at redirect time. Per-subscriber query
 * strings therefore never multiply rows.
 */
import { BoundedMap } from '../util/bounded-map.js';
import { ByteWriter } from './binary.js';
import { hmacKey, hmacSha256 } from './hmac.js';
import type { SigningKey } from './keyring.js';

/** 96 bits: row ids of one key never collide by chance (birthday bound ~2^48 rows). */
export const ROW_ID_BYTES = 12;

export interface UrlRowContent {
  sendId: string;
  listId: string;
  /** The URL up to its first `?`; the empty string is the row opens are counted against. */
  url: string;
  linkName: string;
}

/**
 * The row's id: a keyed hash of its content, so rewriting computes it without a database read, the same
 * row always gets the same id, and nobody without the key can aim a URL at another send's row.
 * Ids depend on the key: after a key rotation the same URL gets a new row.
 */
export function urlRowId(key: SigningKey, row: UrlRowContent): Buffer {
  if (splitQuery(row.url).query !== '') throw new RangeError('a URL row holds the URL without its query string');
  const content = new ByteWriter().string(row.sendId).string(row.listId).string(row.url).string(row.linkName).toBuffer();
  const id = Buffer.allocUnsafe(ROW_ID_BYTES);
  hmacSha256(hmacKey(key.rowIdKey), content, content.length, id, 0, ROW_ID_BYTES);
  return id;
}

interface SplitUrl {
  /** Up to the query's `?`. */
  rowUrl: string;
  /** From the query's `?` to the end (fragment included), or '' when the URL has no query. */
  query: string;
}

/** Splits at the first `?`, unless a `#` comes before it: a `?` inside a fragment starts no query. */
export function splitQuery(url: string): SplitUrl {
  const at = url.indexOf('?');
  const hash = url.indexOf('#');
  if (at < 0 || (hash >= 0 && hash < at)) return { rowUrl: url, query: '' };
  return { rowUrl: url.slice(0, at), query: url.slice(at) };
}

/** The inverse of splitQuery: `joinQuery(splitQuery(u).rowUrl, splitQuery(u).query) === u`. */
export function joinQuery(rowUrl: string, query: string): string {
  return rowUrl + query;
}

/**
 * A carried query is what a browser sends: `?` then visible ASCII. No fragment (browsers never send one),
 * no spaces or control characters (CR/LF would split the Location header), nothing non-ASCII.
 */
const CARRIED_QUERY = /^\?[\x21-\x22\x24-\x7e]*$/;

function parseHttpUrl(text: string): URL | null {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

/**
 * Where a stateful click goes: the row's URL with the query string the link carried, serialized by the
 * WHATWG URL parser (ASCII only, safe for a Location header).
 *
 * The result always has the row's own scheme, host, port and path. A carried query that is not a plain
 * query, or that would change any of those once parsed (whatever the trick: `?@evil.com`, `#`,
 * `%0d%0a`, `//evil.com`, backslashes), is dropped, and the click goes to the row's URL alone. Null when
 * the row's URL itself is not an absolute http(s) URL.
 */
export function clickDestination(rowUrl: string, carriedQuery: string): string | null {
  // A send's clicks go to a few rows: each row's destination, and how it takes a query, is worked out once.
  const row = rowDestinations.getOrAdd(rowUrl, rowDestination);
  if (row === null) return null;
  if (row.query === 'none' || carriedQuery === '' || !CARRIED_QUERY.test(carriedQuery)) return row.href;
  return row.query === 'as-is' ? row.href + serializedQuery(carriedQuery) : destinationWithQuery(rowUrl, carriedQuery);
}

/**
 * A row's destination alone, and how a carried query joins it:
 * - `none`: the row URL has a fragment, so it had no query (splitQuery); anything appended would land
 *   inside the fragment.
 * - `as-is`: the parser reads the row URL followed by `?` exactly as it reads it alone, so the joined
 *   URL is the row's href and the query. It ends a path, host, port or authority as the end of input
 *   does, and a row without `?` has no query of its own. Not so when the row ends in a space or control
 *   character: the parser trims those at the end of input, but not before a `?`. Most clicks carry a
 *   query (utm_*, subscriber ids), and parsing the joined URL took about 1.1 µs a click, as much as
 *   checking the token.
 * - `parsed`: any other row; the joined URL is parsed and held to the row (destinationWithQuery).
 */
interface RowDestination {
  href: string;
  query: 'none' | 'as-is' | 'parsed';
}

const rowDestinations = new BoundedMap<RowDestination | null>(4096);

function rowDestination(rowUrl: string): RowDestination | null {
  const href = parseHttpUrl(rowUrl)?.href;
  if (href === undefined) return null;
  if (rowUrl.includes('#')) return { href, query: 'none' };
  const asIs = rowUrl.charCodeAt(rowUrl.length - 1) > 0x20 && !rowUrl.includes('?');
  return { href, query: asIs ? 'as-is' : 'parsed' };
}

/** Of what CARRIED_QUERY lets through, the special-query percent-encode set holds these four. */
const QUERY_ESCAPES: Record<string, string> = { '"': '%22', "'": '%27', '<': '%3C', '>': '%3E' };
const QUERY_ESCAPED = /["'<>]/g;
const QUERY_NEEDS_ESCAPES = /["'<>]/;

/**
 * A carried query as the WHATWG URL serializer writes it in a special (http, https) URL. Tested
 * before replaced: a replace with a function runs in V8's runtime even when nothing matches.
 */
function serializedQuery(carriedQuery: string): string {
  return QUERY_NEEDS_ESCAPES.test(carriedQuery) ? carriedQuery.replace(QUERY_ESCAPED, (c) => QUERY_ESCAPES[c]!) : carriedQuery;
}

/** The carried query on a row the parser may read differently once followed by `?`: both parsed. */
function destinationWithQuery(rowUrl: string, carriedQuery: string): string | null {
  const row = parseHttpUrl(rowUrl);
  if (!row) return null;
  const joined = parseHttpUrl(joinQuery(rowUrl, carriedQuery));
  if (!joined || joined.origin !== row.origin || joined.pathname !== row.pathname || joined.hash !== '') return row.href;
  if (joined.username !== row.username || joined.password !== row.password) return row.href;
  return joined.href;
}
