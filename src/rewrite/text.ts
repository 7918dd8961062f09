import { applySplices, mintPending, unchangedOutcome, withinLinkLimit, type PendingLink } from './link-splices.js';
import type { LinkFound, RewriteOptions, RewriteOutcome } from './types.js';
import { judgeUrlOnce } from './url-rules.js';

/** A URL found in running text: source[start, end) is exactly the URL (no brackets, no punctuation). */
interface TextUrl {
  start: number;
  end: number;
}

const SCHEME_END = '://';
const TRAILING_PUNCTUATION = '.,;:!?\'"';
const CLOSER_TO_OPENER: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/**
 * The run of characters a URL in text can hold, from where it starts: it ends at whitespace and
 * controls, `<>"` (they cannot be in a URL and delimit one), and CJK punctuation and full-width forms,
 * which follow URLs in text without a space. Code units, as the class has no u flag.
 */
// eslint-disable-next-line no-control-regex -- controls end a URL, so the class names them
const URL_RUN = /[^\x00-\x20\x7f<>"\u00a0\u2000-\u200b\u2028\u2029\u202f\u205f\ufeff\u3000-\u303f\uff00-\uffef]*/y;

function isAsciiAlphanumeric(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || ((code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a);
}

function count(text: string, start: number, end: number, char: string): number {
  let n = 0;
  for (let i = start; i < end; i++) if (text[i] === char) n++;
  return n;
}

/** Drop what running text puts after a URL: sentence punctuation and a closing bracket it did not open. */
function trimUrlEnd(text: string, start: number, end: number): number {
  while (end > start) {
    const last = text[end - 1] as string;
    if (TRAILING_PUNCTUATION.includes(last)) {
      end--;
      continue;
    }
    const opener = CLOSER_TO_OPENER[last];
    if (opener !== undefined && count(text, start, end, last) > count(text, start, end, opener)) {
      end--;
      continue;
    }
    return end;
  }
  return end;
}

function scanToUrlEnd(text: string, from: number): number {
  URL_RUN.lastIndex = from;
  URL_RUN.test(text); // always matches, if only the empty run; test() makes no match object
  return URL_RUN.lastIndex;
}

/**
 * In `<URL>` the brackets delimit the URL (RFC 3986, appendix C), so it runs to the `>` as it is,
 * punctuation included; null when the bracketed text is not a plain URL.
 */
function angleBracketedEnd(text: string, start: number): number | null {
  if (start === 0 || text[start - 1] !== '<') return null;
  const end = scanToUrlEnd(text, start);
  return text[end] === '>' ? end : null;
}

/** The length of the `http` or `https` (any case) that ends at text[end], or 0. */
function httpSchemeBefore(text: string, end: number): number {
  if (end < 4) return 0;
  const s = end >= 5 && (text.charCodeAt(end - 1) | 0x20) === 0x73 /* s */ ? 1 : 0;
  const at = end - 4 - s;
  return (text.charCodeAt(at) | 0x20) === 0x68 /* h */ &&
    (text.charCodeAt(at + 1) | 0x20) === 0x74 /* t */ &&
    (text.charCodeAt(at + 2) | 0x20) === 0x74 /* t */ &&
    (text.charCodeAt(at + 3) | 0x20) === 0x70 /* p */
    ? 4 + s
    : 0;
}

/**
 * Every `http(s)://` URL in running text, in order. Why indexOf and a sticky class: both run natively,
 * where the case-insensitive expression and the charCodeAt loop they replace stepped through the text
 * in JS (bench:message's text part, 41 URLs in 5,600 characters: 17 µs to 6).
 */
export function findTextUrls(text: string): TextUrl[] {
  const urls: TextUrl[] = [];
  for (let found = text.indexOf(SCHEME_END); found !== -1;) {
    const scheme = httpSchemeBefore(text, found);
    const start = found - scheme;
    // `xhttp://` is not the start of a URL, and text like that is rarely a link at all.
    if (scheme === 0 || (start > 0 && isAsciiAlphanumeric(text.charCodeAt(start - 1)))) {
      found = text.indexOf(SCHEME_END, found + SCHEME_END.length);
      continue;
    }
    const end = angleBracketedEnd(text, start) ?? trimUrlEnd(text, start, scanToUrlEnd(text, start));
    urls.push({ start, end });
    found = text.indexOf(SCHEME_END, Math.max(end, found + SCHEME_END.length));
  }
  return urls;
}

/** Rewrite the `http(s)://` URLs of a decoded text/plain part (no open pixel in text). */
export function rewriteText(text: string, opts: RewriteOptions): RewriteOutcome {
  if (!opts.clicks) return unchangedOutcome(text, 0);
  const pending: PendingLink[] = [];
  let skipped = 0;
  for (const { start, end } of findTextUrls(text)) {
    const verdict = judgeUrlOnce(text.slice(start, end), opts.minter, opts.urlVerdicts);
    if (!verdict.track) {
      skipped++;
      continue;
    }
    const found: LinkFound = { position: pending.length + 1, part: 't', url: verdict.url };
    if (verdict.beforeQuery !== undefined) found.urlBeforeQuery = verdict.beforeQuery;
    pending.push({ splice: { start, end, text: null }, found });
  }
  const { tracked, left, limit } = withinLinkLimit(pending, opts.maxLinks);
  const { links, declined } = mintPending(tracked, opts.minter, (newUrl) => newUrl);
  const output = applySplices(
    text,
    pending.map((link) => link.splice),
  );
  return { text: output, links, skippedLinks: skipped + declined + left, pixel: null, changed: output !== text, ...(limit ? { limit } : {}) };
}
