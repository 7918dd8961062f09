import { applySplices, mintPending, unchangedOutcome, withinLinkLimit, type PendingLink } from './link-splices.js';
import type { RewriteOptions, RewriteOutcome } from './types.js';
import { judgeUrlOnce } from './url-rules.js';

/** A URL found in running text: source[start, end) is exactly the URL (no brackets, no punctuation). */
interface TextUrl {
  start: number;
  end: number;
}

const URL_START = /https?:\/\//gi;
const TRAILING_PUNCTUATION = '.,;:!?\'"';
const CLOSER_TO_OPENER: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/**
 * Characters that end a URL in text: whitespace and controls, `<>"` (they cannot be in a URL and
 * delimit one), and CJK punctuation and full-width forms, which follow URLs in text without a space.
 */
function endsUrl(code: number): boolean {
  if (code <= 0x20 || code === 0x7f) return true;
  if (code === 0x3c /* < */ || code === 0x3e /* > */ || code === 0x22 /* " */) return true;
  if (code < 0x80) return false;
  return (
    code === 0xa0 ||
    (code >= 0x2000 && code <= 0x200b) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0xfeff ||
    (code >= 0x3000 && code <= 0x303f) ||
    (code >= 0xff00 && code <= 0xffef)
  );
}

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
  let end = from;
  while (end < text.length && !endsUrl(text.charCodeAt(end))) end++;
  return end;
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

/** Every `http(s)://` URL in running text, in order. */
export function findTextUrls(text: string): TextUrl[] {
  const urls: TextUrl[] = [];
  URL_START.lastIndex = 0;
  for (let match = URL_START.exec(text); match !== null; match = URL_START.exec(text)) {
    const start = match.index;
    // `xhttp://` is not the start of a URL, and text like that is rarely a link at all.
    if (start > 0 && isAsciiAlphanumeric(text.charCodeAt(start - 1))) continue;
    const end = angleBracketedEnd(text, start) ?? trimUrlEnd(text, start, scanToUrlEnd(text, start));
    URL_START.lastIndex = Math.max(end, start + match[0].length);
    urls.push({ start, end });
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
    pending.push({ splice: { start, end, text: null }, found: { position: pending.length + 1, part: 't', url: verdict.url } });
  }
  const { tracked, left, limit } = withinLinkLimit(pending, opts.maxLinks);
  const { links, declined } = mintPending(tracked, opts.minter, (newUrl) => newUrl);
  const output = applySplices(
    text,
    pending.map((link) => link.splice),
  );
  return { text: output, links, skippedLinks: skipped + declined + left, pixel: null, changed: output !== text, ...(limit ? { limit } : {}) };
}
