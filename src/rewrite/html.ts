import { encodeAttrValue, truncateUtf8, type QuoteStyle } from './attr-encoding.js';
import { attributeValue, tokenizeHtml, TokenFilter, type HtmlTokenHandler, type SourceAttribute, type SourceTag } from './html-tokenizer.js';
import { HONEYPOT_LINK_NAME, HONEYPOT_POSITION, honeypotHtml } from './honeypot.js';
import { openPixelHtml } from './pixel.js';
import { applySplices, insertSorted, mintPending, unchangedOutcome, withinLinkLimit, type PendingLink, type Splice } from './link-splices.js';
import type { LinkFound, LinkMinter, RewriteOptions, RewriteOutcome, RewrittenLink } from './types.js';
import { judgeUrlOnce, type UrlVerdict, type UrlVerdicts } from './url-rules.js';
import { UNSUBSCRIBE_PLACEHOLDER } from './unsubscribe-placeholder.js';

/*
 * Rules beyond what the types say:
 * - Tracked: href of `a`, `area`, `v:roundrect`, `v:rect`, also inside conditional comments (`<!--[if ...]>`),
 *   which Outlook renders as markup; only the first of duplicate href attributes (the one browsers use).
 * - A link marked data-msys-unsubscribe="1" is flagged; marked with an href of `#` or nothing, it gets
 *   UNSUBSCRIBE_PLACEHOLDER as its URL, which the minter turns into our unsubscribe page.
 * - Markers (opt-outs, data-msys-linkname, data-msys-unsubscribe) are removed from those elements whenever click tracking is on,
 *   whether or not the link itself gets tracked; with click tracking off nothing but the pixel changes.
 * - A position is given to every link that passes the URL rules, before the minter is asked; a link the
 *   minter declines keeps its position and its original href and counts as skipped.
 * - Minting happens after the scan; over maxLinks only the first maxLinks links (document order) are minted.
 * - `<opentag>` and `</body>` count only outside comments and raw-text elements.
 */

/** Momentum keeps link names up to 63 bytes. */
const MAX_LINK_NAME_BYTES = 63;

const LINK_NAME_ATTR = 'data-msys-linkname';
/** Momentum's unsubscribe mark; a marked link without a URL of its own leads to our confirmation page. */
const UNSUBSCRIBE_ATTR = 'data-msys-unsubscribe';

interface HtmlLinkPending extends PendingLink {
  quote: QuoteStyle;
}

const LINK_ELEMENTS = ['a', 'area', 'v:roundrect', 'v:rect'];
/** The attributes of a link that matter: its href and the markers readMarker knows. */
const LINK_ATTRIBUTES = ['href', 'data-msys-clicktrack', 'data-notrack', 'data-mautic-disable-tracking', 'clicktracking', LINK_NAME_ATTR, UNSUBSCRIBE_ATTR];
/** What the scanner looks at; the tokenizer reads past the rest (most of a document) making nothing of it. */
const SCANNED = new TokenFilter([...LINK_ELEMENTS, 'opentag', 'body'], LINK_ATTRIBUTES);

/** What the scan of one document collects; shared with the scans of its conditional comments. */
class ScanState {
  readonly splices: Splice[] = [];
  readonly pending: HtmlLinkPending[] = [];
  skipped = 0;
  /** Source offsets of the first `<opentag>`, or -1. */
  opentagStart = -1;
  opentagEnd = -1;
  /** Source offset of the first `</body>`, or -1. */
  bodyEndStart = -1;

  constructor(
    readonly source: string,
    readonly minter: LinkMinter,
    readonly clicks: boolean,
    readonly opens: boolean,
    readonly urlVerdicts: UrlVerdicts | undefined,
  ) {}
}

/**
 * One tokenizer pass over the document (or over the inside of a conditional comment, `base` being where
 * that text starts in the document). Handlers only look at tags that matter and record splices by source
 * offset; nothing is re-serialized.
 */
class HtmlScanner implements HtmlTokenHandler {
  readonly only = SCANNED;

  constructor(
    private readonly state: ScanState,
    private readonly text: string,
    private readonly base: number,
    private readonly insideComment: boolean,
  ) {}

  run(): void {
    tokenizeHtml(this.text, this);
  }

  wantsAttributes(name: string): boolean {
    return this.state.clicks && isLinkElement(name);
  }

  startTag(tag: SourceTag): void {
    if (isLinkElement(tag.name)) {
      if (this.state.clicks) this.visitLink(tag);
    } else if (tag.name === 'opentag') {
      this.noteOpentag(tag);
    }
  }

  endTag(tag: SourceTag): void {
    if (tag.name === 'body' && this.state.bodyEndStart < 0 && !this.insideComment) {
      this.state.bodyEndStart = this.base + tag.start;
    }
  }

  comment(start: number, dataStart: number, end: number): void {
    if (!this.state.clicks || this.insideComment) return;
    // Most conditional comments only wrap Outlook's table scaffolding; tokenizing their inside again is
    // needed only when it can hold a link or one of our markers.
    const { text } = this;
    const data = text.slice(dataStart, end);
    if (!CONDITIONAL_COMMENT.test(data) || !MAY_HOLD_LINK.test(data)) return;
    // Only a complete `<!--...-->` has a known inside; anything odder is left as it is.
    if (!text.startsWith('<!--', start) || !text.startsWith('-->', end - 3) || end - 3 < start + 4) return;
    new HtmlScanner(this.state, text.slice(start + 4, end - 3), this.base + start + 4, true).run();
  }

  private noteOpentag(tag: SourceTag): void {
    const { state } = this;
    if (!state.opens || this.insideComment || state.opentagStart >= 0) return;
    state.opentagStart = this.base + tag.start;
    state.opentagEnd = this.base + tag.end;
  }

  /** A link element: strip our marker attributes, and queue its href if it is trackable. */
  private visitLink(tag: SourceTag): void {
    const edits: Splice[] = [];
    let href: SourceAttribute | undefined;
    let optedOut = false;
    let linkName: string | undefined;
    let unsubscribe = false;
    for (const attr of tag.attributes) {
      if (attr.name === 'href') {
        href = attr;
        continue;
      }
      const marker = readMarker(attr, this.text);
      if (marker === null) continue;
      optedOut ||= marker === 'opt-out';
      if (attr.name === LINK_NAME_ATTR) linkName = truncateUtf8(attributeValue(this.text, attr), MAX_LINK_NAME_BYTES) || undefined;
      if (attr.name === UNSUBSCRIBE_ATTR) unsubscribe = attributeValue(this.text, attr).trim() === '1';
      edits.push(this.removalOf(attr, tag.start));
    }
    if (href) {
      const link = optedOut ? null : this.queueHref(href, linkName, unsubscribe);
      if (link) edits.push(link);
      else this.state.skipped++;
    }
    if (edits.length > 1) edits.sort((a, b) => a.start - b.start);
    for (const edit of edits) this.state.splices.push(edit);
  }

  /** The splice for a trackable href (its minted URL is filled in later), or null when it is not tracked. */
  private queueHref(href: SourceAttribute, linkName: string | undefined, unsubscribe: boolean): Splice | null {
    const { state } = this;
    const value = attributeValue(this.text, href);
    const bare = unsubscribe && (value.trim() === '' || value.trim() === '#');
    const verdict: UrlVerdict = bare ? { track: true, url: UNSUBSCRIBE_PLACEHOLDER } : judgeUrlOnce(value, state.minter, state.urlVerdicts);
    if (!verdict.track || href.valueStart < 0) return null;
    const [start, end] = trimmedRange(state.source, this.base + href.valueStart, this.base + href.valueEnd);
    const splice: Splice = { start, end, text: null };
    const found = htmlLink(state.pending.length + 1, verdict.url, linkName);
    if (verdict.beforeQuery !== undefined) found.urlBeforeQuery = verdict.beforeQuery;
    if (unsubscribe) found.unsubscribe = true;
    state.pending.push({ splice, found, quote: href.quote });
    return splice;
  }

  /**
   * Remove a whole attribute with the whitespace before it (not reaching into the tag name). An attribute
   * written `name=` with no value ends after its name: the `=` goes too, or it would stay behind as an
   * attribute of its own named `=`.
   */
  private removalOf(attr: SourceAttribute, tagStart: number): Splice {
    const { source } = this.state;
    let start = this.base + attr.start;
    while (start > this.base + tagStart + 1 && isHtmlSpace(source.charCodeAt(start - 1))) start--;
    const end = this.base + attr.end;
    return { start, end: attr.valueStart < 0 ? this.endOfAttribute(end) : end, text: '' };
  }

  private endOfAttribute(end: number): number {
    const { source } = this.state;
    let i = end;
    while (isHtmlSpace(source.charCodeAt(i))) i++;
    if (source.charCodeAt(i) !== 0x3d /* = */) return end;
    i++;
    while (isHtmlSpace(source.charCodeAt(i))) i++;
    return source.charCodeAt(i) === 0x3e /* > */ || i >= source.length ? i : end;
  }
}

const LINK_ELEMENT_NAMES: ReadonlySet<string> = new Set(LINK_ELEMENTS);

function isLinkElement(name: string): boolean {
  return LINK_ELEMENT_NAMES.has(name);
}

const CONDITIONAL_COMMENT = /^\[if\b/i;
const MAY_HOLD_LINK = /href|data-msys-|data-notrack|clicktracking|data-mautic-/i;

type Marker = 'opt-out' | 'remove';

/** Is this attribute one of the per-link instructions to the tracker (removed from the HTML)? */
function readMarker(attr: SourceAttribute, text: string): Marker | null {
  switch (attr.name) {
    case 'data-msys-clicktrack':
      return attributeValue(text, attr).trim() === '0' ? 'opt-out' : 'remove';
    case 'data-notrack':
    case 'data-mautic-disable-tracking':
      return 'opt-out';
    case 'clicktracking':
      return attributeValue(text, attr).trim().toLowerCase() === 'off' ? 'opt-out' : null;
    case LINK_NAME_ATTR:
    case UNSUBSCRIBE_ATTR:
      return 'remove';
    default:
      return null;
  }
}

function htmlLink(position: number, url: string, linkName: string | undefined): LinkFound {
  return linkName === undefined ? { position, part: 'h', url } : { position, part: 'h', url, linkName };
}

function isHtmlSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d;
}

/** Keep literal whitespace around a value where it was (the URL itself is trimmed). */
function trimmedRange(source: string, start: number, end: number): [number, number] {
  while (start < end && isHtmlSpace(source.charCodeAt(start))) start++;
  while (end > start && isHtmlSpace(source.charCodeAt(end - 1))) end--;
  return [start, end];
}

function encodeForAttribute(newUrl: string, link: PendingLink): string {
  return encodeAttrValue(newUrl, (link as HtmlLinkPending).quote);
}

/** The honeypot link, where the pixel goes without an <opentag> (before </body>, else at the end). */
function placeHoneypot(state: ScanState, links: RewrittenLink[], minter: LinkMinter): void {
  const found: LinkFound = { position: HONEYPOT_POSITION, part: 'h', url: links[0]!.url, linkName: HONEYPOT_LINK_NAME };
  const newUrl = minter.click(found);
  if (newUrl === null) return;
  const at = state.bodyEndStart >= 0 ? state.bodyEndStart : state.source.length;
  insertSorted(state.splices, { start: at, end: at, text: honeypotHtml(newUrl) });
  links.unshift({ ...found, newUrl });
}

/** Place the open pixel by GreenArrow's rules; returns where it went. */
function placePixel(state: ScanState, pixelHtml: string): NonNullable<RewriteOutcome['pixel']> {
  if (state.opentagStart >= 0) {
    insertSorted(state.splices, { start: state.opentagStart, end: state.opentagEnd, text: pixelHtml });
    return 'opentag';
  }
  if (state.bodyEndStart >= 0) {
    insertSorted(state.splices, { start: state.bodyEndStart, end: state.bodyEndStart, text: pixelHtml });
    return 'before-body';
  }
  const end = state.source.length;
  state.splices.push({ start: end, end, text: pixelHtml });
  return 'appended';
}

/**
 * Rewrite the trackable links of a decoded HTML part and insert the open pixel. Every character outside
 * rewritten attribute values, removed marker attributes and the pixel stays as it was.
 */
export function rewriteHtml(source: string, opts: RewriteOptions): RewriteOutcome {
  if (!opts.clicks && !opts.opens) return unchangedOutcome(source, 0);
  const state = new ScanState(source, opts.minter, opts.clicks, opts.opens, opts.urlVerdicts);
  new HtmlScanner(state, source, 0, false).run();
  const { tracked, left, limit } = withinLinkLimit(state.pending, opts.maxLinks);
  const { links, declined } = mintPending(tracked, opts.minter, encodeForAttribute);
  if (opts.honeypot && links.length > 0) placeHoneypot(state, links, opts.minter);
  const pixel = opts.opens ? placePixel(state, openPixelHtml(opts.minter.open())) : null;
  const text = applySplices(source, state.splices);
  return { text, links, skippedLinks: state.skipped + declined + left, pixel, changed: text !== source, ...(limit ? { limit } : {}) };
}
