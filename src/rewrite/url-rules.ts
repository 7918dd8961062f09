import type { LinkMinter } from './types.js';

type UrlSkipReason = 'not-http' | 'no-host' | 'invalid' | 'placeholder' | 'tracking-domain';

export type UrlVerdict =
  | {
      track: true;
      url: string;
      /**
       * The URL up to its query's `?`, when it has a query (and no fragment before it): the string every
       * copy of a send shares, as the verdict cache keeps it (see judgeUrlOnce).
       */
      beforeQuery?: string;
    }
  | { track: false; reason: UrlSkipReason };

/** Verdicts kept for reuse: a message's own Map, or a cache shared by messages (./url-verdict-cache.ts). */
export interface UrlVerdicts {
  get(value: string): UrlVerdict | undefined;
  set(value: string, verdict: UrlVerdict): void;
}

// Browsers drop tabs and line breaks anywhere in a URL (WHATWG URL parsing): a long href wrapped over
// lines leads where the joined string leads, and that is what the link must record.
const INNER_TAB_OR_NEWLINE = /[\t\n\r]/g;
const HTTP_SCHEME = /^https?:\/\//i;
// After the scheme there must be an authority: `http://` alone (a template's empty slot) is not a link.
const HOST_START = /^https?:\/\/[^/?#\s]/i;
// Merge tags of common template engines (Handlebars/Liquid/Jinja, Mailchimp, Salesforce/ExactTarget,
// wiki-style, JS template literals), also as editors percent-encode `{{`. A URL that still holds one was
// not expanded yet: tracking it would record the placeholder, not the link.
const PLACEHOLDER = /\{\{|\{%|\*\|[^|]*\|\*|%%[^%]*%%|\[\[|\$\{|%7b%7b|%7b%25/i;

/** The URL a browser follows for an attribute's or a text's URL: trimmed, tabs and line breaks dropped. */
function followedUrl(value: string): string {
  const url = trimHtmlWhitespace(value);
  // Looked for before replaced: three searches cost a fifth of a regex replace that finds nothing.
  return url.indexOf('\n') === -1 && url.indexOf('\r') === -1 && url.indexOf('\t') === -1 ? url : url.replace(INNER_TAB_OR_NEWLINE, '');
}

function isHtmlWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

/**
 * The value without HTML's ASCII whitespace at its ends, which browsers strip around attribute URLs.
 * By loops: V8 runs `[\t\n\f\r ]+$` in time quadratic in a run of blanks that is not at the end (an href
 * holding 100 KB of tabs took 9 s).
 */
function trimHtmlWhitespace(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isHtmlWhitespace(value.charCodeAt(start))) start++;
  while (end > start && isHtmlWhitespace(value.charCodeAt(end - 1))) end--;
  return value.slice(start, end);
}

/** Decide whether a link target (already entity-decoded) is one we track. */
export function judgeUrl(value: string, minter: LinkMinter): UrlVerdict {
  const url = followedUrl(value);
  if (!HTTP_SCHEME.test(url)) return { track: false, reason: 'not-http' };
  if (!HOST_START.test(url)) return { track: false, reason: 'no-host' };
  if (PLACEHOLDER.test(url)) return { track: false, reason: 'placeholder' };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // A browser could not follow it either (e.g. a space in the host): leave it as the sender wrote it.
    return { track: false, reason: 'invalid' };
  }
  if (minter.isTrackingUrl(parsed)) return { track: false, reason: 'tracking-domain' };
  return { track: true, url };
}

/**
 * judgeUrl, remembered in `verdicts` when given: the parts of one message mostly link to the same URLs
 * (a text part mirrors its HTML), so do the copies of one send, and each verdict costs a URL parse.
 *
 * A URL with a query or a fragment is judged by what comes before it, remembered under that, and
 * itself is not remembered: a list's copies differ in their queries (subscriber ids, tokens), so
 * such URLs are new in every message, and a cache keyed by them missed every time and filled with
 * strings never asked for again (`npm run bench:message-builds`: 0.78 of the time on such copies).
 * The verdict is the same: the parser reads scheme, host and port before the first `?` or `#` as it
 * reads them at the end of input, and a query or fragment never makes it fail; only a template's merge
 * tag can be in the query, and that is looked for in the whole URL.
 */
export function judgeUrlOnce(value: string, minter: LinkMinter, verdicts: UrlVerdicts | undefined): UrlVerdict {
  if (!verdicts) return judgeUrl(value, minter);
  if (queryOrFragmentAt(value) === -1) return remembered(value, minter, verdicts);
  // Trimming and dropping tabs and line breaks leave the `?` or `#`.
  const url = followedUrl(value);
  const cut = queryOrFragmentAt(url);
  // A space or control character before the `?` or `#` is trimmed off the part alone, not off the
  // whole URL, where it can make the host invalid: such a URL is judged whole, and not remembered.
  if (!(url.charCodeAt(cut - 1) > 0x20)) return judgeUrl(value, minter);
  const before = remembered(url.slice(0, cut), minter, verdicts);
  if (!before.track && (before.reason === 'not-http' || before.reason === 'no-host')) return before;
  if (PLACEHOLDER.test(url)) return { track: false, reason: 'placeholder' };
  if (!before.track) return before;
  return url.charCodeAt(cut) === 0x3f ? { track: true, url, beforeQuery: before.url } : { track: true, url };
}

/** judgeUrl of a value with no `?` or `#`, from `verdicts` or worked out and kept there. */
function remembered(value: string, minter: LinkMinter, verdicts: UrlVerdicts): UrlVerdict {
  let verdict = verdicts.get(value);
  if (verdict === undefined) {
    verdict = judgeUrl(value, minter);
    verdicts.set(value, verdict);
  }
  return verdict;
}

/** Where the URL's query or fragment starts (its first `?` or `#`), or -1. */
function queryOrFragmentAt(url: string): number {
  const query = url.indexOf('?');
  const fragment = url.indexOf('#');
  return query === -1 ? fragment : fragment === -1 ? query : Math.min(query, fragment);
}
