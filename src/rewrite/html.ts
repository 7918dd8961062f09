import { Tokenizer, TokenizerMode, html, type Token, type TokenHandler } from 'parse5';
import { encodeAttrValue, truncateUtf8, type QuoteStyle } from './attr-encoding.js';
import { HONEYPOT_LINK_NAME, HONEYPOT_POSITION, honeypotHtml } from './honeypot.js';
import { openPixelHtml } from './pixel.js';
import { applySplices, insertSorted, mintPending, unchangedOutcome, withinLinkLimit, type PendingLink, type Splice } from './link-splices.js';
import type { LinkFound, LinkMinter, RewriteOptions, RewriteOutcome, RewrittenLink } from './types.js';
import { judgeUrlOnce, type UrlVerdicts } from './url-rules.js';
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

const { TAG_ID } = html;

/** Momentum keeps link names up to 63 bytes. */
const MAX_LINK_NAME_BYTES = 63;

const LINK_NAME_ATTR = 'data-msys-linkname';
/** Momentum's unsubscribe mark; a marked link without a URL of its own leads to our confirmation page. */
const UNSUBSCRIBE_ATTR = 'data-msys-unsubscribe';

/** Where a quoted or unquoted attribute value sits in the source. */
interface ValueSpan {
  start: number;
  end: number;
  quote: QuoteStyle;
}

interface HtmlLinkPending extends PendingLink {
  quote: QuoteStyle;
}

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
class HtmlScanner implements TokenHandler {
  private readonly tokenizer: Tokenizer;

  constructor(
    private readonly state: ScanState,
    private readonly base: number,
    private readonly insideComment: boolean,
  ) {
    this.tokenizer = new Tokenizer({ sourceCodeLocationInfo: true }, this);
  }

  run(text: string): void {
    this.tokenizer.write(text, true);
  }

  onStartTag(tag: Token.TagToken): void {
    this.enterTextModeFor(tag.tagID);
    if (tag.tagID === TAG_ID.A || tag.tagID === TAG_ID.AREA) {
      if (this.state.clicks) this.visitLink(tag);
    } else if (tag.tagID === TAG_ID.UNKNOWN) {
      this.visitUnknownTag(tag);
    }
  }

  onEndTag(tag: Token.TagToken): void {
    if (tag.tagID === TAG_ID.BODY && this.state.bodyEndStart < 0 && !this.insideComment && tag.location) {
      this.state.bodyEndStart = this.base + tag.location.startOffset;
    }
  }

  onComment(comment: Token.CommentToken): void {
    if (!this.state.clicks || this.insideComment || !comment.location) return;
    // Most conditional comments only wrap Outlook's table scaffolding; tokenizing their inside again is
    // needed only when it can hold a link or one of our markers.
    if (!CONDITIONAL_COMMENT.test(comment.data) || !MAY_HOLD_LINK.test(comment.data)) return;
    const start = this.base + comment.location.startOffset;
    const end = this.base + comment.location.endOffset;
    const { source } = this.state;
    // Only a complete `<!--...-->` has a known inside; anything odder is left as it is.
    if (!source.startsWith('<!--', start) || !source.startsWith('-->', end - 3) || end - 3 < start + 4) return;
    new HtmlScanner(this.state, start + 4, true).run(source.slice(start + 4, end - 3));
  }

  onDoctype(): void {}
  onEof(): void {}
  onCharacter(): void {}
  onNullCharacter(): void {}
  onWhitespaceCharacter(): void {}

  /**
   * The bare tokenizer does not know that the content of `<style>`, `<title>` and the like is text (the
   * tree builder tells it); without this, markup-like text inside them would be taken for tags.
   */
  private enterTextModeFor(tagID: html.TAG_ID): void {
    switch (tagID) {
      case TAG_ID.STYLE:
      case TAG_ID.XMP:
      case TAG_ID.IFRAME:
      case TAG_ID.NOEMBED:
      case TAG_ID.NOFRAMES:
      case TAG_ID.NOSCRIPT:
        this.tokenizer.state = TokenizerMode.RAWTEXT;
        break;
      case TAG_ID.TITLE:
      case TAG_ID.TEXTAREA:
        this.tokenizer.state = TokenizerMode.RCDATA;
        break;
      case TAG_ID.SCRIPT:
        this.tokenizer.state = TokenizerMode.SCRIPT_DATA;
        break;
      case TAG_ID.PLAINTEXT:
        this.tokenizer.state = TokenizerMode.PLAINTEXT;
        break;
      default:
    }
  }

  private visitUnknownTag(tag: Token.TagToken): void {
    const name = tag.tagName;
    if (name === 'v:roundrect' || name === 'v:rect') {
      if (this.state.clicks) this.visitLink(tag);
    } else if (name === 'opentag') {
      this.noteOpentag(tag);
    }
  }

  private noteOpentag(tag: Token.TagToken): void {
    const { state } = this;
    if (!state.opens || this.insideComment || state.opentagStart >= 0 || !tag.location) return;
    state.opentagStart = this.base + tag.location.startOffset;
    state.opentagEnd = this.base + tag.location.endOffset;
  }

  /** A link element: strip our marker attributes, and queue its href if it is trackable. */
  private visitLink(tag: Token.TagToken): void {
    const attrLocations = tag.location?.attrs;
    if (!attrLocations || !tag.location) return;
    const tagStart = this.base + tag.location.startOffset;
    const edits: Splice[] = [];
    let href: Token.Attribute | undefined;
    let optedOut = false;
    let linkName: string | undefined;
    let unsubscribe = false;
    for (const attr of tag.attrs) {
      if (attr.name === 'href') {
        href = attr;
        continue;
      }
      const marker = readMarker(attr);
      if (marker === null) continue;
      optedOut ||= marker === 'opt-out';
      if (attr.name === LINK_NAME_ATTR) linkName = truncateUtf8(attr.value, MAX_LINK_NAME_BYTES) || undefined;
      if (attr.name === UNSUBSCRIBE_ATTR) unsubscribe = attr.value.trim() === '1';
      const location = attrLocations[attr.name];
      if (location) edits.push(this.removalOf(location, tagStart));
    }
    if (href) {
      const link = optedOut ? null : this.queueHref(href, attrLocations[href.name], linkName, unsubscribe);
      if (link) edits.push(link);
      else this.state.skipped++;
    }
    if (edits.length > 1) edits.sort((a, b) => a.start - b.start);
    for (const edit of edits) this.state.splices.push(edit);
  }

  /** The splice for a trackable href (its minted URL is filled in later), or null when it is not tracked. */
  private queueHref(href: Token.Attribute, location: Token.Location | undefined, linkName: string | undefined, unsubscribe: boolean): Splice | null {
    const { state } = this;
    const bare = unsubscribe && (href.value.trim() === '' || href.value.trim() === '#');
    const verdict = bare ? { track: true as const, url: UNSUBSCRIBE_PLACEHOLDER } : judgeUrlOnce(href.value, state.minter, state.urlVerdicts);
    if (!verdict.track || !location) return null;
    const span = locateValue(state.source, this.base + location.startOffset, this.base + location.endOffset, href.name);
    if (!span) return null;
    const [start, end] = trimmedRange(state.source, span.start, span.end);
    const splice: Splice = { start, end, text: null };
    const found = htmlLink(state.pending.length + 1, verdict.url, linkName);
    if (unsubscribe) found.unsubscribe = true;
    state.pending.push({ splice, found, quote: span.quote });
    return splice;
  }

  /** Remove a whole attribute with the whitespace before it (not reaching into the tag name). */
  private removalOf(location: Token.Location, tagStart: number): Splice {
    const { source } = this.state;
    let start = this.base + location.startOffset;
    while (start > tagStart + 1 && isHtmlSpace(source.charCodeAt(start - 1))) start--;
    const end = this.base + location.endOffset;
    const valueless = !source.slice(this.base + location.startOffset, end).includes('=');
    return { start, end: valueless ? this.endOfAttribute(end) : end, text: '' };
  }

  /**
   * parse5 ends the location of `name=` with a missing value (`name=>`, `name= >`) after the name: the
   * `=` must go too, or it stays behind as an attribute of its own named `=`.
   */
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

const CONDITIONAL_COMMENT = /^\[if\b/i;
const MAY_HOLD_LINK = /href|data-msys-|data-notrack|clicktracking|data-mautic-/i;

type Marker = 'opt-out' | 'remove';

/** Is this attribute one of the per-link instructions to the tracker (removed from the HTML)? */
function readMarker(attr: Token.Attribute): Marker | null {
  switch (attr.name) {
    case 'data-msys-clicktrack':
      return attr.value.trim() === '0' ? 'opt-out' : 'remove';
    case 'data-notrack':
    case 'data-mautic-disable-tracking':
      return 'opt-out';
    case 'clicktracking':
      return attr.value.trim().toLowerCase() === 'off' ? 'opt-out' : null;
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

/**
 * Find the value of the attribute whose `name[ws]=[ws]value` source span is [start, end). The tokenizer
 * gives the decoded value but not where its raw text is; this is where the new value gets spliced.
 */
function locateValue(source: string, start: number, end: number, name: string): ValueSpan | null {
  // Guard against any offset surprise: the span must begin with the attribute's name.
  if (source.slice(start, start + name.length).toLowerCase() !== name) return null;
  let i = start + name.length;
  while (i < end && isHtmlSpace(source.charCodeAt(i))) i++;
  if (i >= end || source.charCodeAt(i) !== 0x3d /* = */) return null;
  i++;
  while (i < end && isHtmlSpace(source.charCodeAt(i))) i++;
  const quote = source[i];
  if (quote === '"' || quote === "'") {
    if (end - 1 <= i || source[end - 1] !== quote) return null;
    return { start: i + 1, end: end - 1, quote };
  }
  return { start: i, end, quote: '' };
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
  new HtmlScanner(state, 0, false).run(source);
  const { tracked, left, limit } = withinLinkLimit(state.pending, opts.maxLinks);
  const { links, declined } = mintPending(tracked, opts.minter, encodeForAttribute);
  if (opts.honeypot && links.length > 0) placeHoneypot(state, links, opts.minter);
  const pixel = opts.opens ? placePixel(state, openPixelHtml(opts.minter.open())) : null;
  const text = applySplices(source, state.splices);
  return { text, links, skippedLinks: state.skipped + declined + left, pixel, changed: text !== source, ...(limit ? { limit } : {}) };
}
