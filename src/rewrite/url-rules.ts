import type { LinkMinter } from './types.js';

type UrlSkipReason = 'not-http' | 'no-host' | 'invalid' | 'placeholder' | 'tracking-domain';

export type UrlVerdict = { track: true; url: string } | { track: false; reason: UrlSkipReason };

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
  const url = trimHtmlWhitespace(value).replace(INNER_TAB_OR_NEWLINE, '');
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
 */
export function judgeUrlOnce(value: string, minter: LinkMinter, verdicts: UrlVerdicts | undefined): UrlVerdict {
  if (!verdicts) return judgeUrl(value, minter);
  let verdict = verdicts.get(value);
  if (verdict === undefined) {
    verdict = judgeUrl(value, minter);
    verdicts.set(value, verdict);
  }
  return verdict;
}
