import { decodeHTMLAttribute } from 'entities/decode';

/*
 * A tokenizer for the one thing the rewriter needs from HTML: where tags, their attributes and comments
 * are in the source. It follows the WHATWG tokenizer's states for everything that decides where a tag
 * or comment begins and ends, and skips text with `indexOf` instead of reading it code point by code
 * point, as a general tokenizer must (parse5's took 60% of a message's MIME work). Character tokens and
 * doctypes are not reported. Offsets and attribute locations are those parse5 gives with
 * `sourceCodeLocationInfo`: test/rewrite/html-tokenizer.test.ts holds it to parse5 on generated markup,
 * and test/rewrite/corpus.test.ts on the template corpus.
 *
 * Without a tree builder, nothing tells a tokenizer that the content of `<style>`, `<title>`, `<script>`
 * and the like is text; it switches itself, on the start tag, as a tree builder would have it.
 */

/** An attribute as it stands in the source. */
export interface SourceAttribute {
  /** Lowercased (ASCII only), NUL as U+FFFD, as the HTML tokenizer names it. */
  readonly name: string;
  /** Where the name starts. */
  readonly start: number;
  /** After the value (after its closing quote), or after the name when it has none: parse5's location end. */
  readonly end: number;
  /** The raw value is source[valueStart, valueEnd); both -1 when there is no value. */
  readonly valueStart: number;
  readonly valueEnd: number;
  readonly quote: '"' | "'" | '';
}

export interface SourceTag {
  /** Lowercased (ASCII only), NUL as U+FFFD. */
  readonly name: string;
  /** Where `<` is. */
  readonly start: number;
  /** After `>`. */
  readonly end: number;
  /** The first attribute of each name, in source order; empty unless the handler asked for them. */
  readonly attributes: readonly SourceAttribute[];
}

export interface HtmlTokenHandler {
  /**
   * The only tags reported (start and end) and, of those, the only attributes collected; absent, every
   * tag and attribute. Others are read past without a string or object made for them.
   */
  readonly only?: TokenFilter;
  /** Whether the start tag named so wants its attributes collected (they are always read past). */
  wantsAttributes(name: string): boolean;
  startTag(tag: SourceTag): void;
  endTag(tag: SourceTag): void;
  /** A comment, bogus ones included, from `<` to after its end (the end of input if it has none); its data starts at dataStart. */
  comment(start: number, dataStart: number, end: number): void;
}

const TAB = 0x09;
const LF = 0x0a;
const FF = 0x0c;
const CR = 0x0d;
const SPACE = 0x20;
const BANG = 0x21;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const DASH = 0x2d;
const SLASH = 0x2f;
const LT = 0x3c;
const EQUALS = 0x3d;
const GT = 0x3e;
const QUESTION = 0x3f;

/** The input stream turns CR into LF before any state sees it, so CR is whitespace too. */
function isSpace(code: number): boolean {
  return code === SPACE || code === LF || code === TAB || code === FF || code === CR;
}

function isAsciiAlpha(code: number): boolean {
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x7a;
}

function toAsciiLower(code: number): number {
  return code >= 0x41 && code <= 0x5a ? code + 0x20 : code;
}

const NEEDS_NORMALIZING = /[A-Z\0]/;

/** A tag or attribute name as the tokenizer makes it: ASCII lowercase, NUL as U+FFFD. */
function tokenName(raw: string): string {
  if (!NEEDS_NORMALIZING.test(raw)) return raw;
  return raw.replace(/[A-Z]+/g, (upper) => upper.toLowerCase()).replace(/\0/g, '\uFFFD');
}

/** What the content of an element is, for the elements whose content is not markup. */
const enum TextMode {
  Markup,
  /** Character references count, markup does not (title, textarea). */
  Rcdata,
  /** Nothing counts but the end tag (style, xmp, iframe, noembed, noframes, noscript). */
  Rawtext,
  ScriptData,
  /** Everything to the end is text. */
  Plaintext,
}

/** The elements whose content is not markup, and how their content is read. */
const TEXT_MODES = new Map<string, TextMode>([
  ['style', TextMode.Rawtext],
  ['xmp', TextMode.Rawtext],
  ['iframe', TextMode.Rawtext],
  ['noembed', TextMode.Rawtext],
  ['noframes', TextMode.Rawtext],
  ['noscript', TextMode.Rawtext],
  ['title', TextMode.Rcdata],
  ['textarea', TextMode.Rcdata],
  ['script', TextMode.ScriptData],
  ['plaintext', TextMode.Plaintext],
]);

function textModeOf(name: string): TextMode {
  return TEXT_MODES.get(name) ?? TextMode.Markup;
}

/**
 * Names (lowercase ASCII, no NUL) found in the source by comparing characters, without a string per
 * name read: a name is found exactly when the tokenizer would make it (tokenName) equal to one of them.
 */
class NameTable {
  /** The names, by length. */
  private readonly byLength: Array<string[] | undefined> = [];

  constructor(names: Iterable<string>) {
    for (const name of new Set(names)) {
      if (!/^[a-z0-9:_-]+$/.test(name)) throw new Error(`not a lowercase ASCII name: ${JSON.stringify(name)}`);
      (this.byLength[name.length] ??= []).push(name);
    }
  }

  /** The name source[start, end) is, ASCII case-insensitively, or undefined. */
  find(source: string, start: number, end: number): string | undefined {
    const names = this.byLength[end - start];
    if (names === undefined) return undefined;
    for (const name of names) {
      let i = 0;
      while (i < name.length && toAsciiLower(source.charCodeAt(start + i)) === name.charCodeAt(i)) i++;
      if (i === name.length) return name;
    }
    return undefined;
  }
}

/** What a handler wants reported (HtmlTokenHandler.only); made once, as the tables are built here. */
export class TokenFilter {
  /** The reported tags and the text elements. */
  readonly tagNames: NameTable;
  readonly attributeNames: NameTable;
  private readonly reported: ReadonlySet<string>;

  constructor(tags: readonly string[], attributes: readonly string[]) {
    // Text elements' names must be known whatever the handler reports: their content is not markup.
    this.tagNames = new NameTable([...tags, ...TEXT_MODES.keys()]);
    this.attributeNames = new NameTable(attributes);
    this.reported = new Set(tags);
  }

  reports(tagName: string): boolean {
    return this.reported.has(tagName);
  }
}

const LONG_ATTRIBUTE_LIST = 16;

const NO_ATTRIBUTES: readonly SourceAttribute[] = Object.freeze([]);

/** The end of input, where a tag still open is dropped. */
const EOF = -1;

/** Tokenize `source`, reporting tags and comments to `handler`. */
export function tokenizeHtml(source: string, handler: HtmlTokenHandler): void {
  const length = source.length;
  let pos = 0;
  while (pos < length) {
    const lt = source.indexOf('<', pos);
    if (lt < 0) return;
    const next = source.charCodeAt(lt + 1);
    if (isAsciiAlpha(next)) {
      pos = readStartTag(source, lt, handler);
    } else if (next === SLASH) {
      pos = afterEndTagOpen(source, lt, handler);
    } else if (next === BANG) {
      pos = source.startsWith('--', lt + 2) ? readComment(source, lt, handler) : readBogusComment(source, lt, lt + 2, handler);
    } else if (next === QUESTION) {
      pos = readBogusComment(source, lt, lt + 1, handler);
    } else {
      pos = lt + 1; // a `<` that opens nothing is text
    }
    if (pos === EOF) return;
  }
}

/** A start tag at lt; returns where markup goes on (after the content of a text element), or EOF. */
function readStartTag(source: string, lt: number, handler: HtmlTokenHandler): number {
  const nameEnd = endOfTagName(source, lt + 1);
  if (nameEnd === EOF) return EOF;
  const { only } = handler;
  const name = tagName(source, lt + 1, nameEnd, only);
  const reported = name !== undefined && (only === undefined || only.reports(name));
  const attributes = reported && handler.wantsAttributes(name) ? [] : undefined;
  const end = readAttributes(source, nameEnd, attributes, only);
  if (end === EOF) return EOF;
  if (reported) handler.startTag({ name, start: lt, end, attributes: attributes ?? NO_ATTRIBUTES });
  const mode = name === undefined ? TextMode.Markup : textModeOf(name);
  if (mode === TextMode.Markup) return end;
  return mode === TextMode.ScriptData ? endOfScriptData(source, end) : mode === TextMode.Plaintext ? EOF : endOfText(source, end, name!);
}

/** After `</` at lt: an end tag, a bogus comment, or nothing. */
function afterEndTagOpen(source: string, lt: number, handler: HtmlTokenHandler): number {
  const next = source.charCodeAt(lt + 2);
  if (isAsciiAlpha(next)) {
    // End tags are read the same way as start tags, attributes and all.
    const nameEnd = endOfTagName(source, lt + 2);
    if (nameEnd === EOF) return EOF;
    const { only } = handler;
    const name = tagName(source, lt + 2, nameEnd, only);
    const end = readAttributes(source, nameEnd, undefined, only);
    if (end !== EOF && name !== undefined && (only === undefined || only.reports(name))) {
      handler.endTag({ name, start: lt, end, attributes: NO_ATTRIBUTES });
    }
    return end;
  }
  if (next === GT) return lt + 3; // `</>` is dropped
  if (Number.isNaN(next)) return EOF; // `</` at the end is text
  return readBogusComment(source, lt, lt + 2, handler);
}

/** A bogus comment (`<!x`, `<?x`, `</ x`, a doctype): it ends at the first `>`. */
function readBogusComment(source: string, lt: number, dataStart: number, handler: HtmlTokenHandler): number {
  const gt = source.indexOf('>', dataStart);
  const end = gt < 0 ? source.length : gt + 1;
  // A doctype is not a comment, but nothing here needs to tell them apart beyond not reporting it.
  if (!isDoctype(source, lt)) handler.comment(lt, dataStart, end);
  return gt < 0 ? EOF : end;
}

function isDoctype(source: string, lt: number): boolean {
  return source.charCodeAt(lt + 1) === BANG && source.slice(lt + 2, lt + 9).toLowerCase() === 'doctype';
}

/**
 * A comment opened by `<!--` at lt. It ends at `-->`, `--!>`, or (empty) `<!-->` and `<!--->`; a run of
 * dashes before `>` belongs to the comment, and `--!` followed by anything else does not end it.
 */
function readComment(source: string, lt: number, handler: HtmlTokenHandler): number {
  const dataStart = lt + 4;
  let end = -1;
  if (source.charCodeAt(dataStart) === GT) end = dataStart + 1;
  else if (source.charCodeAt(dataStart) === DASH && source.charCodeAt(dataStart + 1) === GT) end = dataStart + 2;
  let from = dataStart;
  while (end < 0) {
    const dashes = source.indexOf('--', from);
    if (dashes < 0) break;
    let at = dashes + 2; // the comment end state
    while (source.charCodeAt(at) === DASH) at++;
    const code = source.charCodeAt(at);
    if (code === GT) {
      end = at + 1;
    } else if (code === BANG) {
      const after = source.charCodeAt(at + 1);
      if (after === GT) end = at + 2;
      else from = at + 1; // `--!-` goes on in the comment end dash state: a `--` search from there sees it
    } else {
      from = at;
    }
  }
  handler.comment(lt, dataStart, end < 0 ? source.length : end);
  return end < 0 ? EOF : end;
}

/** After a tag name starting at nameStart (its first letter read); EOF when the input ends in it. */
function endOfTagName(source: string, nameStart: number): number {
  const length = source.length;
  let pos = nameStart + 1;
  while (pos < length) {
    const code = source.charCodeAt(pos);
    if (isSpace(code) || code === SLASH || code === GT) return pos;
    pos++;
  }
  return EOF;
}

/**
 * The tag name source[start, end) as the tokenizer makes it, or undefined when neither the handler (`only`)
 * nor the tokenizer (text elements) needs it: most tags then cost no string.
 */
function tagName(source: string, start: number, end: number, only: TokenFilter | undefined): string | undefined {
  return only === undefined ? tokenName(source.slice(start, end)) : only.tagNames.find(source, start, end);
}

/**
 * The rest of a tag from after its name: its attributes, into `attributes` when given (with `only`,
 * only those it names). Returns the end (after `>`), or EOF when the input ends inside the tag (the
 * tokenizer drops such a tag).
 */
function readAttributes(source: string, from: number, attributes: SourceAttribute[] | undefined, only: TokenFilter | undefined): number {
  const length = source.length;
  let pos = from;
  let names: Set<string> | undefined;
  for (;;) {
    while (pos < length && isSpace(source.charCodeAt(pos))) pos++;
    if (pos >= length) return EOF;
    const code = source.charCodeAt(pos);
    if (code === GT) return pos + 1;
    if (code === SLASH) {
      // The self-closing start tag state: anything but `>` is read again as if before an attribute name.
      pos++;
      continue;
    }
    // An attribute; a leading `=` is part of its name.
    const attrStart = pos;
    pos++;
    while (pos < length) {
      const c = source.charCodeAt(pos);
      if (isSpace(c) || c === SLASH || c === GT || c === EQUALS) break;
      pos++;
    }
    const nameEnd = pos;
    while (pos < length && isSpace(source.charCodeAt(pos))) pos++;
    let end = nameEnd;
    let valueStart = -1;
    let valueEnd = -1;
    let quote: SourceAttribute['quote'] = '';
    if (source.charCodeAt(pos) === EQUALS) {
      pos++;
      while (pos < length && isSpace(source.charCodeAt(pos))) pos++;
      if (pos >= length) return EOF;
      const first = source.charCodeAt(pos);
      if (first === DQUOTE || first === SQUOTE) {
        const close = source.indexOf(first === DQUOTE ? '"' : "'", pos + 1);
        if (close < 0) return EOF;
        valueStart = pos + 1;
        valueEnd = close;
        quote = first === DQUOTE ? '"' : "'";
        pos = close + 1;
        end = pos;
      } else if (first !== GT) {
        valueStart = pos;
        while (pos < length) {
          const c = source.charCodeAt(pos);
          if (isSpace(c) || c === GT) break;
          pos++;
        }
        if (pos >= length) return EOF;
        valueEnd = pos;
        end = pos;
      } // else `name=>`: no value, and the location ends after the name
    }
    if (attributes === undefined) continue;
    const attrName = only === undefined ? tokenName(source.slice(attrStart, nameEnd)) : only.attributeNames.find(source, attrStart, nameEnd);
    if (attrName === undefined) continue;
    // A set only for long lists, so that thousands of attributes on one link cost no quadratic search.
    if (names === undefined && attributes.length === LONG_ATTRIBUTE_LIST) names = new Set(attributes.map((attr) => attr.name));
    if (!(names ? names.has(attrName) : hasAttribute(attributes, attrName))) {
      attributes.push({ name: attrName, start: attrStart, end, valueStart, valueEnd, quote });
      names?.add(attrName);
    }
  }
}

/** A loop, not `some` with a closure: the closure's context was allocated for every attribute read. */
function hasAttribute(attributes: readonly SourceAttribute[], name: string): boolean {
  for (let i = 0; i < attributes.length; i++) if (attributes[i]!.name === name) return true;
  return false;
}

/** After RCDATA or RAWTEXT content: where its appropriate end tag `</name` starts, or EOF. */
function endOfText(source: string, from: number, name: string): number {
  let pos = from;
  for (;;) {
    const open = source.indexOf('</', pos);
    if (open < 0) return EOF;
    if (isAppropriateEndTag(source, open + 2, name)) return open;
    pos = open + 2;
  }
}

/** Does `name` followed by whitespace, `/` or `>` stand at `at` (ASCII case-insensitively)? */
function isAppropriateEndTag(source: string, at: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    if (toAsciiLower(source.charCodeAt(at + i)) !== name.charCodeAt(i)) return false;
  }
  const after = source.charCodeAt(at + name.length);
  return isSpace(after) || after === SLASH || after === GT;
}

const enum Script {
  Data,
  Escaped,
  EscapedDash,
  EscapedDashDash,
  DoubleEscaped,
  DoubleEscapedDash,
  DoubleEscapedDashDash,
}

/**
 * After a `<script>` start tag: where `</script` ends its content, or EOF. Script content has states of
 * its own: inside `<!--`, a `<script` opens a part where `</script` does not end it (until `-->` or a
 * `</script` that closes that inner one).
 */
function endOfScriptData(source: string, from: number): number {
  const length = source.length;
  let state: Script = Script.Data;
  let pos = from;
  while (pos < length) {
    const code = source.charCodeAt(pos);
    switch (state) {
      case Script.Data:
        if (code === LT) {
          if (source.charCodeAt(pos + 1) === SLASH) {
            if (isAppropriateEndTag(source, pos + 2, 'script')) return pos;
            pos += 2;
            continue;
          }
          if (source.startsWith('!--', pos + 1)) {
            state = Script.EscapedDashDash;
            pos += 4;
            continue;
          }
        }
        pos++;
        continue;
      case Script.Escaped:
      case Script.EscapedDash:
      case Script.EscapedDashDash:
        if (code === DASH) {
          state = state === Script.Escaped ? Script.EscapedDash : Script.EscapedDashDash;
        } else if (code === GT && state === Script.EscapedDashDash) {
          state = Script.Data;
        } else if (code === LT) {
          const next = source.charCodeAt(pos + 1);
          if (next === SLASH) {
            if (isAppropriateEndTag(source, pos + 2, 'script')) return pos;
            state = Script.Escaped;
            pos += 2;
            continue;
          }
          if (isAppropriateEndTag(source, pos + 1, 'script')) {
            state = Script.DoubleEscaped;
            pos += 7; // `<script`; its terminator is read in the double escaped state
            continue;
          }
          state = Script.Escaped;
        } else {
          state = Script.Escaped;
        }
        pos++;
        continue;
      default:
        // The double escaped states
        if (code === DASH) {
          state = state === Script.DoubleEscaped ? Script.DoubleEscapedDash : Script.DoubleEscapedDashDash;
        } else if (code === GT && state === Script.DoubleEscapedDashDash) {
          state = Script.Data;
        } else if (code === LT) {
          state = Script.DoubleEscaped;
          if (source.charCodeAt(pos + 1) === SLASH && isAppropriateEndTag(source, pos + 2, 'script')) {
            state = Script.Escaped;
            pos += 8; // `</script`; its terminator is read in the escaped state
            continue;
          }
        } else {
          state = Script.DoubleEscaped;
        }
        pos++;
        continue;
    }
  }
  return EOF;
}

/** An attribute's value as a browser reads it: line breaks normalized, character references decoded. */
export function attributeValue(source: string, attr: SourceAttribute): string {
  if (attr.valueStart < 0) return '';
  let raw = source.slice(attr.valueStart, attr.valueEnd);
  if (raw.includes('\r')) raw = raw.replace(/\r\n?/g, '\n');
  if (raw.includes('\0')) raw = raw.replace(/\0/g, '\uFFFD');
  return raw.includes('&') ? decodeHTMLAttribute(raw) : raw;
}
