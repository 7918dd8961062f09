/**
 * The rewriter's tokenizer against parse5's (the WHATWG tokenizer, run with source locations): on
 * generated markup dense in what moves token boundaries, both must report the same tags, attributes,
 * values, comments and offsets.
 */
import fc from 'fast-check';
import { Tokenizer, TokenizerMode, type Token, type TokenHandler } from 'parse5';
import { describe, expect, it } from 'vitest';
import { attributeValue, tokenizeHtml, type HtmlTokenHandler } from '../../src/rewrite/html-tokenizer.js';
import { buildNewsletter } from '../app/helpers/newsletter.js';

/** PROPERTY_RUNS=20000 for a longer hunt. */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 300) * 10;

type Seen =
  | { kind: 'start' | 'end'; name: string; start: number; end: number; attributes?: Array<[string, string, number, number]> }
  | { kind: 'comment'; start: number; end: number };

/** What parse5 reports, with the content of text elements switched as a tree builder would. */
function byParse5(html: string): { seen: Seen[]; commentData: string[] } {
  const seen: Seen[] = [];
  const commentData: string[] = [];
  const noop = (): void => undefined;
  const tag = (kind: 'start' | 'end', token: Token.TagToken): Seen => ({
    kind,
    name: token.tagName,
    start: token.location!.startOffset,
    end: token.location!.endOffset,
    ...(kind === 'start'
      ? {
          attributes: token.attrs.map((attr): [string, string, number, number] => {
            const location = token.location!.attrs![attr.name]!;
            return [attr.name, attr.value, location.startOffset, location.endOffset];
          }),
        }
      : {}),
  });
  const handler: TokenHandler = {
    onStartTag(token) {
      seen.push(tag('start', token));
      const mode = TEXT_MODES[token.tagName];
      if (mode !== undefined) tokenizer.state = mode;
    },
    onEndTag(token) {
      seen.push(tag('end', token));
    },
    onComment(token) {
      // parse5 puts the end of a comment cut off by the end of the input one past that end.
      seen.push({ kind: 'comment', start: token.location!.startOffset, end: Math.min(token.location!.endOffset, html.length) });
      commentData.push(token.data);
    },
    onDoctype: noop,
    onEof: noop,
    onCharacter: noop,
    onNullCharacter: noop,
    onWhitespaceCharacter: noop,
  };
  const tokenizer = new Tokenizer({ sourceCodeLocationInfo: true }, handler);
  tokenizer.write(html, true);
  return { seen, commentData };
}

const TEXT_MODES: Record<string, (typeof TokenizerMode)[keyof typeof TokenizerMode]> = {
  style: TokenizerMode.RAWTEXT,
  xmp: TokenizerMode.RAWTEXT,
  iframe: TokenizerMode.RAWTEXT,
  noembed: TokenizerMode.RAWTEXT,
  noframes: TokenizerMode.RAWTEXT,
  noscript: TokenizerMode.RAWTEXT,
  title: TokenizerMode.RCDATA,
  textarea: TokenizerMode.RCDATA,
  script: TokenizerMode.SCRIPT_DATA,
  plaintext: TokenizerMode.PLAINTEXT,
};

function byOurs(html: string): { seen: Seen[]; commentData: string[] } {
  const seen: Seen[] = [];
  const commentData: string[] = [];
  const handler: HtmlTokenHandler = {
    wantsAttributes: () => true,
    startTag(tag) {
      const attributes = tag.attributes.map((attr): [string, string, number, number] => [attr.name, attributeValue(html, attr), attr.start, attr.end]);
      seen.push({ kind: 'start', name: tag.name, start: tag.start, end: tag.end, attributes });
    },
    endTag(tag) {
      seen.push({ kind: 'end', name: tag.name, start: tag.start, end: tag.end });
    },
    comment(start, dataStart, end) {
      seen.push({ kind: 'comment', start, end });
      commentData.push(html.slice(dataStart, end).replace(/\r\n?/g, '\n').replace(/\0/g, '\uFFFD'));
    },
  };
  tokenizeHtml(html, handler);
  return { seen, commentData };
}

function expectSameTokens(html: string): void {
  const theirs = byParse5(html);
  const ours = byOurs(html);
  expect(ours.seen, JSON.stringify(html)).toEqual(theirs.seen);
  // Our comment "data" runs on to the comment's end; parse5's stops before the closing dashes.
  ours.commentData.forEach((data, i) => expect(data.startsWith(theirs.commentData[i]!), JSON.stringify(html)).toBe(true));
}

/** Pieces dense in what moves token boundaries: delimiters, quotes, dashes, text-element names, references. */
// prettier-ignore
const PIECES = [
  '<', '</', '<!', '<!--', '-->', '--!>', '--!', '-', '--', '!', '>', '/', '/>', '=', '"', "'", '`', '?', '<?',
  ' ', '\t', '\n', '\r', '\r\n', '\f', '\0', 'a', 'A', 'x', '1', 'é', '😀', '\uD800',
  'a ', 'href', 'HREF', 'Href', 'area', 'v:roundrect', 'body', 'opentag', 'data-msys-linkname', 'data-notrack',
  'script', 'SCRIPT', 'style', 'title', 'textarea', 'plaintext', 'noscript', 'xmp', 'iframe',
  '<a ', '<a href=', '</a>', '<script>', '</script>', '</script ', '<style>', '</style>', '<title>', '</title>',
  '<textarea>', '</textarea>', '<!doctype html>', '<!DOCTYPE', '<![CDATA[', ']]>', '[if mso]>', '<![endif]',
  '&', '&amp;', '&amp', '&quot;', '&lt;', '&#', '&#x', '&#x26;', '&#38', '&#0;', '&#x80;', '&notit;', '&not', ';', '#',
  'http://a.example/?a=1&b=2', '=x', '"x"', "'y'",
];
const markup = fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((pieces) => pieces.join(''));

describe('tokenizeHtml against parse5', () => {
  it('reports the same tokens on generated markup', () => {
    fc.assert(
      fc.property(markup, (html) => expectSameTokens(html)),
      { numRuns: RUNS },
    );
  });

  it('reports the same tokens on generated markup inside text elements and comments', () => {
    const wrapped = fc.tuple(fc.constantFrom('<script>', '<style>', '<title>', '<!--', '<script><!--', '<textarea>', '<a href="'), markup);
    fc.assert(
      fc.property(wrapped, ([open, html]) => expectSameTokens(open + html)),
      { numRuns: RUNS },
    );
  });

  it.each([
    ['comments of every ending', '<!--><!---><!-- a --><!-- b --!><!-- c ---><!-- d --!-x --><!-- e <!-- f --> g'],
    ['bogus comments and doctypes', '<!doctype html><!x><?xml v?></ x><![CDATA[ <a href="y"> ]]></><a href=z>'],
    ['script escapes', '<script><!--<script></script>--></script><a href="x"><script>a<!--b--></script><b>'],
    ['text elements and their end tags', '<title></titlex></title ><style></STYLE/><textarea><a href=q></textarea\n>'],
    ['attributes of every form', '<a HREF=x href="y" =z data-notrack data-msys-linkname = "n&amp;m" b=\'c\'d=e f=>'],
    ['references in values', '<a href="?a=1&amp;b=2&copy=3&notit;&#x26&#0;&#x80;" title=&lt;>'],
    ['a tag cut off at the end', '<p>a</p><a href="x'],
    ['line breaks in values', '<a href="a\r\nb\rc\nd">'],
    ['a link with many attributes', `<a ${Array.from({ length: 40 }, (_, i) => `x${i % 20}=${i}`).join(' ')} href=h>`],
  ])('reports the same tokens for %s', (_name, html) => {
    expectSameTokens(html);
  });

  it('reports the same tokens for our test newsletter', () => {
    const { body } = buildNewsletter();
    expectSameTokens(body.toString('latin1'));
  });
});
