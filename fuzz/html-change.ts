/**
 * What changed in an html part beyond what the rewriter may change, compared token by token as the HTML
 * tokenizer reads both texts (on mutated input, text-level comparisons break: a quote cut open by a bit
 * flip runs an attribute value over the next tags, a marker's value may be unquoted). The rewriter may:
 * change the href of a link element (`a`, `area`, `v:roundrect`, `v:rect`; compared after the
 * minted URLs were put back), remove marker attributes from a link element, put the open pixel in
 * place of one `<opentag>` tag or anywhere between tokens, and do the same inside conditional comments
 * (`<!--[if ...]>`), which Outlook reads as markup. Which of the link elements it tracks and which
 * markers it removes are rules its own tests check on valid HTML; here only "nothing else changed".
 * Linear in the length of the texts.
 */
import { Tokenizer, TokenizerMode, html, type Token, type TokenHandler } from 'parse5';

const LINK_ELEMENTS = new Set(['a', 'area', 'v:roundrect', 'v:rect']);
const MARKERS = new Set(['data-msys-clicktrack', 'data-notrack', 'clicktracking', 'data-mautic-disable-tracking', 'data-msys-linkname']);

type HtmlToken =
  | { t: 'text'; s: string }
  | { t: 'start'; name: string; attrs: Token.Attribute[]; selfClosing: boolean }
  | { t: 'end'; name: string }
  | { t: 'comment'; s: string }
  | { t: 'doctype'; s: string };

/** The tokens of `source`, runs of characters merged into one text token. */
function tokenize(source: string): HtmlToken[] {
  const out: HtmlToken[] = [];
  const chars = (token: Token.CharacterToken): void => {
    const last = out[out.length - 1];
    if (last?.t === 'text') last.s += token.chars;
    else out.push({ t: 'text', s: token.chars });
  };
  const handler: TokenHandler = {
    onStartTag(tag) {
      out.push({ t: 'start', name: tag.tagName, attrs: tag.attrs, selfClosing: tag.selfClosing });
      // What the tree builder would tell the tokenizer: the content of these elements is text.
      const mode = TEXT_MODES.get(tag.tagID);
      if (mode !== undefined) tokenizer.state = mode;
    },
    onEndTag: (tag) => out.push({ t: 'end', name: tag.tagName }),
    onComment: (comment) => out.push({ t: 'comment', s: comment.data }),
    onDoctype: (doctype) => out.push({ t: 'doctype', s: JSON.stringify([doctype.name, doctype.publicId, doctype.systemId]) }),
    onCharacter: chars,
    onNullCharacter: chars,
    onWhitespaceCharacter: chars,
    onEof: () => undefined,
  };
  const tokenizer: Tokenizer = new Tokenizer({ sourceCodeLocationInfo: false }, handler);
  tokenizer.write(source, true);
  return out;
}

const { TAG_ID } = html;
const TEXT_MODES = new Map<html.TAG_ID, (typeof TokenizerMode)[keyof typeof TokenizerMode]>([
  [TAG_ID.STYLE, TokenizerMode.RAWTEXT],
  [TAG_ID.XMP, TokenizerMode.RAWTEXT],
  [TAG_ID.IFRAME, TokenizerMode.RAWTEXT],
  [TAG_ID.NOEMBED, TokenizerMode.RAWTEXT],
  [TAG_ID.NOFRAMES, TokenizerMode.RAWTEXT],
  [TAG_ID.NOSCRIPT, TokenizerMode.RAWTEXT],
  [TAG_ID.TITLE, TokenizerMode.RCDATA],
  [TAG_ID.TEXTAREA, TokenizerMode.RCDATA],
  [TAG_ID.SCRIPT, TokenizerMode.SCRIPT_DATA],
  [TAG_ID.PLAINTEXT, TokenizerMode.PLAINTEXT],
]);

/**
 * The rewriter records the URL a browser would follow: line breaks in an href dropped, NUL read as
 * U+FFFD; a rewritten link's original comes back from the minter in that form.
 */
function hrefValue(value: string): string {
  return value.replace(/[\t\r\n]/g, '').replace(/\0/g, '\ufffd');
}

function describe(token: HtmlToken | undefined): string {
  if (!token) return 'the end';
  const text =
    token.t === 'start'
      ? `<${token.name}${token.attrs.map((a) => ` ${a.name}=${JSON.stringify(a.value)}`).join('')}>`
      : token.t === 'end'
        ? `</${token.name}>`
        : `${token.t} ${JSON.stringify(token.s)}`;
  return text.length > 160 ? `${text.slice(0, 160)}...` : text;
}

/** Stands for the pixel when it may have taken the place of an `<opentag>` tag (whatever that tag held). */
const PIXEL_AS_OPENTAG = '<opentag data-fuzz-pixel>';

/** Why the start tag `after` is not `before` as the rewriter may leave it, or null. */
function startTagChange(before: Extract<HtmlToken, { t: 'start' }>, after: Extract<HtmlToken, { t: 'start' }>): string | null {
  if (after.name === 'opentag' && after.attrs.some((x) => x.name === 'data-fuzz-pixel')) return before.name === 'opentag' ? null : 'not an <opentag> tag';
  if (before.name !== after.name || before.selfClosing !== after.selfClosing) return 'a different tag';
  const link = LINK_ELEMENTS.has(before.name);
  // Markers may go from a link element; a duplicate of a removed one, dropped by the tokenizer before,
  // then counts in its place: on link elements, markers are left out of the comparison.
  const kept = (attrs: Token.Attribute[]): Token.Attribute[] => (link ? attrs.filter((x) => !MARKERS.has(x.name)) : attrs);
  const was = kept(before.attrs);
  const is = kept(after.attrs);
  for (let k = 0; k < Math.max(was.length, is.length); k++) {
    const b = was[k];
    const a = is[k];
    if (b?.name !== a?.name) return b ? `attribute ${b.name} ${a ? `became ${a.name}` : 'removed'}` : `attribute ${a!.name} added`;
    const same = link && b!.name === 'href' ? hrefValue(b!.value) === hrefValue(a!.value) : b!.value === a!.value;
    if (!same) return `the value of ${b!.name} changed`;
  }
  return null;
}

function compareTokens(before: HtmlToken[], after: HtmlToken[], where: string): string | null {
  for (let i = 0; i < Math.max(before.length, after.length); i++) {
    const problem = tokenChange(before[i], after[i]);
    if (problem !== null) return `${where}token ${i}: ${describe(before[i])} became ${describe(after[i])} (${problem})`;
  }
  return null;
}

function tokenChange(b: HtmlToken | undefined, a: HtmlToken | undefined): string | null {
  if (!b || !a || b.t !== a.t) return 'a different token';
  if (b.t === 'start') return startTagChange(b, a as typeof b);
  if (b.t === 'end') return b.name === (a as typeof b).name ? null : 'a different tag';
  const after = (a as typeof b).s;
  if (after === b.s) return null;
  if (b.t === 'comment' && /^\[if\b/i.test(b.s)) return compareTokens(tokenize(b.s), tokenize(after), 'in a conditional comment, ');
  return 'different text';
}

/**
 * What is wrong with the html part `after` (its minted URLs put back) as the rewriting of `before`; null
 * when it changed only as the rewriter may. `pixel` is the pixel's HTML when the plan says one was put.
 * The pixel is spliced in as text: it took the place of an `<opentag>` tag (compared with the pixel read
 * as one), or was inserted (compared without it: inserted at the end of a part kept in UTF-16, it splits
 * the text before the part's last line break; appended to a document cut off inside a tag or a comment,
 * it is read as part of that).
 */
export function htmlChange(before: string, after: string, pixel: string | null): string | null {
  const beforeTokens = tokenize(before);
  const at = pixel === null ? -1 : after.indexOf(pixel);
  if (at < 0) return compareTokens(beforeTokens, tokenize(after), '');
  const rest = after.slice(at + pixel!.length);
  const replaced = compareTokens(beforeTokens, tokenize(after.slice(0, at) + PIXEL_AS_OPENTAG + rest), '');
  if (replaced === null) return null;
  return compareTokens(beforeTokens, tokenize(after.slice(0, at) + rest), '') === null ? null : replaced;
}
