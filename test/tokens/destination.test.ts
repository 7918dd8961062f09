import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clickDestination, splitQuery } from '../../src/tokens/url-row.js';

const ATTACKS = [
  '?@evil.com',
  '?x=1@evil.com',
  '#@evil.com',
  '?#//evil.com',
  '?a=1#https://evil.com/',
  '?%0d%0aLocation:%20https://evil.com/',
  '?a\r\nLocation: https://evil.com/',
  '?a\nb',
  '//evil.com',
  '?//evil.com',
  '/../../evil',
  '\\\\evil.com',
  '?\\\\evil.com',
  '@evil.com',
  ':@evil.com',
  '.evil.com',
  ':8443',
  '?a=1 b',
  '?\u0000',
  '?ü=1',
  '%2F%2Fevil.com',
  '\t//evil.com',
];

const ROWS = [
  'https://shop.example.com/p/item',
  'https://shop.example.com',
  'http://shop.example.com:8080/a/b/',
  'https://user@shop.example.com/x',
  'https://shop.example.com/p#section',
];

function sameTarget(destination: string | null, rowUrl: string): void {
  expect(destination).not.toBeNull();
  const got = new URL(destination as string);
  const row = new URL(rowUrl);
  expect({ protocol: got.protocol, origin: got.origin, pathname: got.pathname, username: got.username, password: got.password }).toEqual({
    protocol: row.protocol,
    origin: row.origin,
    pathname: row.pathname,
    username: row.username,
    password: row.password,
  });
  expect(destination).not.toMatch(/[\r\n\s]/);
}

describe('clickDestination', () => {
  it('puts the carried query back on the row URL', () => {
    expect(clickDestination('https://shop.example.com/p', '?sub=alice&utm_source=nl')).toBe('https://shop.example.com/p?sub=alice&utm_source=nl');
    expect(clickDestination('https://shop.example.com/p', '')).toBe('https://shop.example.com/p');
    expect(clickDestination('https://shop.example.com/p', '?')).toBe('https://shop.example.com/p?');
    expect(clickDestination('https://shop.example.com/p#top', '')).toBe('https://shop.example.com/p#top');
  });

  for (const rowUrl of ROWS) {
    it(`${rowUrl}: no carried query leads anywhere but its scheme, host and path`, () => {
      for (const attack of ATTACKS) sameTarget(clickDestination(rowUrl, attack), rowUrl);
      fc.assert(
        fc.property(
          fc.oneof(
            fc.string(),
            fc.string({ unit: 'binary' }),
            fc.string().map((s) => '?' + s),
            fc.webUrl(),
          ),
          (query) => {
            sameTarget(clickDestination(rowUrl, query), rowUrl);
          },
        ),
        { numRuns: 500 },
      );
    });
  }

  it('a hostile query never reaches the Location header: it is dropped, the row URL stays', () => {
    expect(clickDestination('https://shop.example.com/p', '?%0d%0aSet-Cookie:x')).toBe('https://shop.example.com/p?%0d%0aSet-Cookie:x');
    expect(clickDestination('https://shop.example.com/p', '?a\r\nSet-Cookie: x')).toBe('https://shop.example.com/p');
    expect(clickDestination('https://shop.example.com/p', '#frag')).toBe('https://shop.example.com/p');
    expect(clickDestination('https://shop.example.com/p', '//evil.com')).toBe('https://shop.example.com/p');
  });

  it('joins a carried query as the URL parser does, for any row URL', () => {
    // The parser's own answer, as clickDestination worked it out before it learned to join strings:
    // the row and the joined URL both parsed, the join kept only when scheme, host and path hold.
    const CARRIED = /^\?[\x21-\x22\x24-\x7e]*$/;
    const parsed = (text: string): URL | null => {
      // Not URL.canParse: on Node 20, once optimized, it says false for URLs with Latin-1 letters.
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        return null;
      }
      return url.protocol === 'http:' || url.protocol === 'https:' ? url : null;
    };
    const byParser = (rowUrl: string, query: string): string | null => {
      const row = parsed(rowUrl);
      if (!row) return null;
      if (query === '' || !CARRIED.test(query) || rowUrl.includes('#')) return row.href;
      const joined = parsed(rowUrl + query);
      if (!joined || joined.origin !== row.origin || joined.pathname !== row.pathname || joined.hash !== '') return row.href;
      return joined.username !== row.username || joined.password !== row.password ? row.href : joined.href;
    };
    // Row URLs made of the characters the parser treats specially at the end of a path, host, port
    // or authority, and of those it trims, strips or percent-encodes.
    const tricky = fc.constantFrom(...' \t\n\r\x00\x1f\x7f./\\:@[]%?#"\'<>^`{}|~éü'.split(''), '..', '%2e', '%2E.', ':80', ':443', '@x', 'a');
    const rowUrl = fc.oneof(
      fc.webUrl({ withFragments: true, withQueryParameters: true }).map((url) => splitQuery(url).rowUrl),
      fc
        .tuple(
          fc.constantFrom('http://', 'https://', 'HTTPS://', ' https://', 'https:', 'http:/', 'https:\\\\', '\thttp://'),
          fc.array(fc.oneof(tricky, fc.domain()), { maxLength: 8 }),
        )
        .map(([scheme, parts]) => scheme + parts.join('')),
    );
    const query = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'aZ09=&%_-."\'<>\\/?@:;+!$()*,[]^`{|}~'.split('')) }).map((s) => '?' + s),
      fc.string({ unit: 'binary' }).map((s) => '?' + s),
      fc.constantFrom(...ATTACKS),
    );
    fc.assert(
      fc.property(rowUrl, query, (row, carried) => {
        expect(clickDestination(row, carried)).toBe(byParser(row, carried));
      }),
      { numRuns: 20_000 },
    );
    for (const row of [
      ...ROWS,
      'https://shop.example.com/p ',
      'https://shop.example.com/p\t',
      'https://shop.example.com/.',
      'https://shop.example.com/a/..',
      'https://shop.example.com:443',
    ]) {
      for (const carried of ['?a=1', '?q="x"&y=\'<z>\'', '?a\\b', '?', ...ATTACKS]) expect(clickDestination(row, carried)).toBe(byParser(row, carried));
    }
  });

  it('null when the row URL is not an absolute http(s) URL', () => {
    for (const row of ['', 'http://', 'javascript:alert(1)', '/relative', 'mailto:a@b.example', 'ftp://x.example/']) {
      expect(clickDestination(row, '?a=1')).toBeNull();
    }
  });
});

describe('splitQuery', () => {
  it('splits at the first "?" unless a fragment comes first', () => {
    expect(splitQuery('https://x.example/p?a=1?b#f')).toEqual({ rowUrl: 'https://x.example/p', query: '?a=1?b#f' });
    expect(splitQuery('https://x.example/p#f?a')).toEqual({ rowUrl: 'https://x.example/p#f?a', query: '' });
    expect(splitQuery('https://x.example/p')).toEqual({ rowUrl: 'https://x.example/p', query: '' });
    expect(splitQuery('https://x.example/p?')).toEqual({ rowUrl: 'https://x.example/p', query: '?' });
  });
});
