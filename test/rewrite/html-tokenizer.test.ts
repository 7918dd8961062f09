/**
 * The rewriter's tokenizer against parse5's on generated markup dense in what moves token boundaries
 * (test/rewrite/tokens-against-parse5.ts says what must agree). The template corpus gets the same check
 * in test/rewrite/corpus.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildNewsletter } from '../app/helpers/newsletter.js';
import { TokenFilter } from '../../src/rewrite/html-tokenizer.js';
import { expectFilteredTokens, expectSameTokens } from './tokens-against-parse5.js';

/** PROPERTY_RUNS=20000 for a longer hunt. */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 300) * 10;

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

describe('tokenizeHtml with a filter (HtmlTokenHandler.only)', () => {
  // A text element among the tags: the filter must not change how its content is read, reported or not.
  const tags = ['a', 'area', 'v:roundrect', 'body', 'opentag', 'title'];
  const attributes = ['href', 'data-msys-linkname', 'data-notrack', 'x1'];
  const only = new TokenFilter(tags, attributes);

  it('reports what it reports without one, less the tags and attributes left out', () => {
    const wrapped = fc.tuple(fc.constantFrom('', '<script>', '<style>', '<title>', '<!--', '<a href="', '<A HREF=x '), markup);
    fc.assert(
      fc.property(wrapped, ([open, html]) => expectFilteredTokens(open + html, only, tags, attributes)),
      { numRuns: RUNS },
    );
  });

  it('reports what it reports without one for our test newsletter', () => {
    expectFilteredTokens(buildNewsletter().body.toString('latin1'), only, tags, attributes);
    const many = `<a ${Array.from({ length: 40 }, (_, i) => `x${i % 20}=${i}`).join(' ')} HREF=h href=i X1=2>`;
    expectFilteredTokens(many, only, tags, attributes);
  });

  it('refuses names it could never find', () => {
    expect(() => new TokenFilter(['A'], [])).toThrow();
    expect(() => new TokenFilter([], ['a\0'])).toThrow();
  });
});
