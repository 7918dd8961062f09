import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findTextUrls, rewriteText } from '../../src/rewrite/text.js';
import { RecordingMinter, TRACKING_HOST, options } from './recording-minter.js';

/** The URLs findTextUrls sees in a text. */
function urlsIn(text: string): string[] {
  return findTextUrls(text).map(({ start, end }) => text.slice(start, end));
}

const minted = (position: number) => `https://${TRACKING_HOST}/c/t${position}x`;

function rewrite(text: string, overrides: Parameters<typeof options>[1] = {}) {
  const minter = new RecordingMinter();
  return { minter, ...rewriteText(text, options(minter, overrides)) };
}

describe('findTextUrls', () => {
  it.each([
    ['See http://a.example/x.', 'http://a.example/x'],
    ['See http://a.example/x, then', 'http://a.example/x'],
    ['Really? https://a.example/?q=1!', 'https://a.example/?q=1'],
    ['go: http://a.example/x;', 'http://a.example/x'],
    ['"http://a.example/x"', 'http://a.example/x'],
    ["'http://a.example/x'", 'http://a.example/x'],
    ['end http://a.example/x...', 'http://a.example/x'],
    ['http://a.example/x?!:', 'http://a.example/x'],
  ])('drops trailing punctuation: %s', (text, url) => {
    expect(urlsIn(text)).toEqual([url]);
  });

  it.each([
    ['https://en.wikipedia.org/wiki/Milter_(software)', 'https://en.wikipedia.org/wiki/Milter_(software)'],
    ['(see https://en.wikipedia.org/wiki/Milter_(software))', 'https://en.wikipedia.org/wiki/Milter_(software)'],
    ['(see https://a.example/x)', 'https://a.example/x'],
    ['(see https://a.example/x).', 'https://a.example/x'],
    ['[https://a.example/x]', 'https://a.example/x'],
    ['{https://a.example/x}', 'https://a.example/x'],
    ['https://a.example/a[1]', 'https://a.example/a[1]'],
    ['https://a.example/?q={x}', 'https://a.example/?q={x}'],
    ['(https://a.example/a_(b))', 'https://a.example/a_(b)'],
  ])('keeps balanced brackets, drops an unbalanced closer: %s', (text, url) => {
    expect(urlsIn(text)).toEqual([url]);
  });

  it.each([
    ['<http://a.example/x>', 'http://a.example/x'],
    ['Link: <http://a.example/x.>.', 'http://a.example/x.'],
    ['<URL:http://a.example/x>', 'http://a.example/x'],
    ['a>http://a.example/x<b', 'http://a.example/x'],
  ])('takes the URL out of angle brackets: %s', (text, url) => {
    expect(urlsIn(text)).toEqual([url]);
  });

  it.each([
    ['https://user:pw@a.example/', 'https://user:pw@a.example/'],
    ['https://medium.com/@someone/post-1', 'https://medium.com/@someone/post-1'],
    ['mail me@http://a.example/', 'http://a.example/'],
  ])('keeps @ inside URLs: %s', (text, url) => {
    expect(urlsIn(text)).toEqual([url]);
  });

  it('finds URLs of any scheme case, several per line, ends at whitespace', () => {
    expect(urlsIn('HTTP://a.example/1 and\thttps://b.example/2\nHttps://c.example/3\r\n')).toEqual([
      'HTTP://a.example/1',
      'https://b.example/2',
      'Https://c.example/3',
    ]);
  });

  it('does not start a URL in the middle of a word, nor split a URL holding another', () => {
    expect(urlsIn('xhttp://a.example/ https://r.example/?to=https://b.example/')).toEqual(['https://r.example/?to=https://b.example/']);
  });

  it('stops at CJK punctuation and non-breaking space', () => {
    expect(urlsIn('詳細はhttp://a.example/jp。次へ')).toEqual(['http://a.example/jp']);
    expect(urlsIn('x http://a.example/nb\u00a0y')).toEqual(['http://a.example/nb']);
  });

  it('ends a URL at exactly whitespace, controls, <>", and CJK and full-width punctuation', () => {
    const ends = (code: number): boolean =>
      code <= 0x20 ||
      code === 0x7f ||
      code === 0x3c ||
      code === 0x3e ||
      code === 0x22 ||
      code === 0xa0 ||
      (code >= 0x2000 && code <= 0x200b) ||
      [0x2028, 0x2029, 0x202f, 0x205f, 0xfeff].includes(code) ||
      (code >= 0x3000 && code <= 0x303f) ||
      (code >= 0xff00 && code <= 0xffef);
    const wrong: number[] = [];
    for (let code = 0; code <= 0xffff; code++) {
      const char = String.fromCharCode(code);
      const expected = ends(code) ? 'http://a.example/x' : `http://a.example/x${char}y`;
      if (urlsIn(` http://a.example/x${char}y `)[0] !== expected) wrong.push(code);
    }
    expect(wrong).toEqual([]);
  });

  it('keeps non-ASCII path characters', () => {
    expect(urlsIn('https://de.example/straße?x=ü ok')).toEqual(['https://de.example/straße?x=ü']);
  });

  // The scan looks for `://` and then at the scheme; the rule it implements reads best as the regular
  // expression it replaced, run here over text made of the characters that matter, with the ends the
  // scan itself found (the property is about where URLs start).
  it('starts a URL at every http(s):// of any case that is not inside a word or an earlier URL', () => {
    const piece = fc.constantFrom('http', 'HTTP', 'hTtPs', 'https', 'ttp', 's', 'p', '://', ':', '/', 'x', '1', ' ', '.', '<', '>', ')', 'é', '—', '\u3002');
    const text = fc.array(piece, { maxLength: 30 }).map((pieces) => pieces.join(''));
    fc.assert(
      fc.property(text, (source) => {
        const found = findTextUrls(source);
        const ends = new Map(found.map(({ start, end }) => [start, end]));
        const starts: number[] = [];
        const scheme = /https?:\/\//gi;
        for (let match = scheme.exec(source); match !== null; match = scheme.exec(source)) {
          if (match.index > 0 && /[0-9a-z]/i.test(source[match.index - 1]!)) continue;
          starts.push(match.index);
          scheme.lastIndex = Math.max(ends.get(match.index) ?? source.length, match.index + match[0].length);
        }
        expect(found.map(({ start }) => start)).toEqual(starts);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('rewriteText', () => {
  it('replaces the URL only, keeping brackets and punctuation, with t positions', () => {
    const out = rewrite('Read <https://a.example/1> and (https://b.example/2).\nAgain: https://a.example/1!');
    expect(out.text).toBe(`Read <${minted(1)}> and (${minted(2)}).\nAgain: ${minted(3)}!`);
    expect(out.links.map((l) => [l.position, l.part, l.url])).toEqual([
      [1, 't', 'https://a.example/1'],
      [2, 't', 'https://b.example/2'],
      [3, 't', 'https://a.example/1'],
    ]);
    expect(out.pixel).toBeNull();
  });

  it.each([
    ['placeholder', 'https://a.example/?u={{id}}'],
    ['merge tag', 'https://a.example/?e=*|EMAIL|*'],
    ['percent placeholder', 'https://a.example/%%id%%'],
    ['placeholder host', 'http://[[host]]/x'],
    ['tracking domain', `https://${TRACKING_HOST}/c/abc`],
    ['no host', 'http://'],
  ])('skips a %s', (_reason, url) => {
    const text = `Go to ${url} now`;
    const out = rewrite(text);
    expect(out.text).toBe(text);
    expect(out.skippedLinks).toBe(1);
    expect(out.changed).toBe(false);
  });

  it('handles very long URLs (line length is the MIME layer\u2019s job)', () => {
    const long = `https://a.example/${'p'.repeat(5000)}?q=${'v'.repeat(3000)}`;
    const out = rewrite(`${'x'.repeat(990)} ${long}\n`);
    expect(out.links[0]?.url).toBe(long);
    expect(out.text).toBe(`${'x'.repeat(990)} ${minted(1)}\n`);
  });

  it('returns the same string with nothing to track', () => {
    const text = 'No links here, just mailto:a@b.example and www.example.com.\n';
    expect(rewrite(text).text).toBe(text);
  });

  it('is a no-op with clicks off', () => {
    const text = 'http://a.example/';
    expect(rewrite(text, { clicks: false }).text).toBe(text);
  });

  it('over the link limit: the first maxLinks URLs are tracked, the rest left as they are', () => {
    const out = rewrite('http://a.example/1 http://a.example/2 http://a.example/3', { maxLinks: 2 });
    expect(out.links.map((l) => l.url)).toEqual(['http://a.example/1', 'http://a.example/2']);
    expect(out.text).toMatch(/ http:\/\/a\.example\/3$/);
    expect(out.text).not.toContain('http://a.example/1 ');
    expect(out.limit).toEqual({ reason: 'max-links', maxLinks: 2, found: 3 });
    expect(out.skippedLinks).toBe(1);
  });
});
