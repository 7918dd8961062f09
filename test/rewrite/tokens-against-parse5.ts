/**
 * The rewriter's tokenizer (src/rewrite/html-tokenizer.ts) held to parse5's, the WHATWG tokenizer run with
 * source locations: both must report the same tags, attributes, decoded values, comments and offsets.
 */
import { Tokenizer, TokenizerMode, type Token, type TokenHandler } from 'parse5';
import { expect } from 'vitest';
import { attributeValue, tokenizeHtml, type HtmlTokenHandler, type TokenFilter } from '../../src/rewrite/html-tokenizer.js';

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

function byOurs(html: string, only?: TokenFilter): { seen: Seen[]; commentData: string[] } {
  const seen: Seen[] = [];
  const commentData: string[] = [];
  const handler: HtmlTokenHandler = {
    ...(only ? { only } : {}),
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

export function expectSameTokens(html: string): void {
  const theirs = byParse5(html);
  const ours = byOurs(html);
  expect(ours.seen, JSON.stringify(html)).toEqual(theirs.seen);
  // Our comment "data" runs on to the comment's end; parse5's stops before the closing dashes.
  ours.commentData.forEach((data, i) => expect(data.startsWith(theirs.commentData[i]!), JSON.stringify(html)).toBe(true));
}

/**
 * With a filter (HtmlTokenHandler.only), the tokenizer reports exactly what it reports without one, less
 * the tags and attributes the filter leaves out: `tags` and `attributes` are the filter's names.
 */
export function expectFilteredTokens(html: string, only: TokenFilter, tags: readonly string[], attributes: readonly string[]): void {
  const all = byOurs(html);
  const expected = all.seen.flatMap((token): Seen[] => {
    if (token.kind === 'comment') return [token];
    if (!tags.includes(token.name)) return [];
    return [token.attributes ? { ...token, attributes: token.attributes.filter(([name]) => attributes.includes(name)) } : token];
  });
  const filtered = byOurs(html, only);
  expect(filtered.seen, JSON.stringify(html)).toEqual(expected);
  expect(filtered.commentData).toEqual(all.commentData);
}
