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
