import type { LimitHit, LinkFound, LinkMinter, RewriteOutcome, RewrittenLink } from './types.js';

/** Replace source[start, end) with text; text null means "keep the source" (a link the minter declined). */
export interface Splice {
  start: number;
  end: number;
  text: string | null;
}

/** A trackable link whose replacement is decided after the scan, once the link count is known. */
export interface PendingLink {
  splice: Splice;
  found: LinkFound;
}

/** Join the untouched source around the splices, which must be sorted and must not overlap. */
export function applySplices(source: string, splices: readonly Splice[]): string {
  let out = '';
  let at = 0;
  let touched = false;
  for (const splice of splices) {
    if (splice.text === null) continue;
    out += source.slice(at, splice.start) + splice.text;
    at = splice.end;
    touched = true;
  }
  // Hand back the very same string when nothing applies, so callers can compare with ===.
  return touched ? out + source.slice(at) : source;
}

/** Insert a splice keeping the list sorted by start; equal starts keep insertion order. */
export function insertSorted(splices: Splice[], splice: Splice): void {
  let i = splices.length;
  while (i > 0 && (splices[i - 1] as Splice).start > splice.start) i--;
  splices.splice(i, 0, splice);
}

/** The found link with its new URL; built field by field, not spread (this runs per link). */
function rewritten(found: LinkFound, newUrl: string): RewrittenLink {
  const link: RewrittenLink = { position: found.position, part: found.part, url: found.url, newUrl };
  if (found.linkName !== undefined) link.linkName = found.linkName;
  if (found.unsubscribe) link.unsubscribe = true;
  return link;
}

interface MintResult {
  links: RewrittenLink[];
  declined: number;
}

/** Ask the minter for each link's new URL and fill in its splice (encoded for where it is written). */
export function mintPending(pending: readonly PendingLink[], minter: LinkMinter, encode: (newUrl: string, link: PendingLink) => string): MintResult {
  const links: RewrittenLink[] = [];
  let declined = 0;
  for (const link of pending) {
    const newUrl = minter.click(link.found);
    if (newUrl === null) {
      declined++;
      continue;
    }
    link.splice.text = encode(newUrl, link);
    links.push(rewritten(link.found, newUrl));
  }
  return { links, declined };
}

/**
 * The links to track when a part may hold at most maxLinks: the first ones in document order (as
 * SendGrid does), the rest left as they are, and the limit hit when there were more.
 */
export function withinLinkLimit<L extends PendingLink>(pending: L[], maxLinks: number): { tracked: L[]; left: number; limit?: LimitHit } {
  if (pending.length <= maxLinks) return { tracked: pending, left: 0 };
  const tracked = pending.slice(0, Math.max(0, maxLinks));
  return { tracked, left: pending.length - tracked.length, limit: { reason: 'max-links', maxLinks, found: pending.length } };
}

export function unchangedOutcome(source: string, skipped: number): RewriteOutcome {
  return { text: source, links: [], skippedLinks: skipped, pixel: null, changed: false };
}
