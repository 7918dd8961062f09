import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeTokenText } from '../../src/tokens/token-text.js';
import { clickLink, clickLinkMaker, openLink, type TrackingOrigin } from '../../src/tokens/url-style.js';
import { parseLinkPath } from './link-path.js';

const HTTPS: TrackingOrigin = { scheme: 'https', domain: 'click.example.com' };
const HTTP: TrackingOrigin = { scheme: 'http', domain: '127.0.0.1:8080' };
const TOKEN = encodeTokenText(Buffer.from([0xfb, 0xff, 0xbf, 0x12, 0x34, 0xf8]));

describe('link styles', () => {
  it('token text has no "-", so a "-" always marks the token in a path-preserving link', () => {
    expect(TOKEN).toContain('~');
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        expect(encodeTokenText(bytes)).not.toMatch(/[-+/=]/);
      }),
    );
  });

  it('compact click and open links, http or https', () => {
    expect(clickLink(HTTPS, 'compact', TOKEN, { url: 'https://shop.example/p' })).toBe(`https://click.example.com/c/${TOKEN}`);
    expect(clickLink(HTTP, 'compact', TOKEN, { url: 'https://shop.example/p', query: '?a=1' })).toBe(`http://127.0.0.1:8080/c/${TOKEN}?a=1`);
    expect(openLink(HTTPS, TOKEN)).toBe(`https://click.example.com/o/${TOKEN}`);
  });

  it('path-preserving click links keep the original path (as SMTPeter does)', () => {
    expect(clickLink(HTTP, 'path', 'QogGwQIAgQQAg', { url: 'http://www.example.com/path-of-the-uri' })).toBe(
      'http://127.0.0.1:8080/path-of-the-uri-QogGwQIAgQQAg',
    );
    expect(clickLink(HTTPS, 'path', TOKEN, { url: 'https://shop.example/a/b-c/', query: '?x=1' })).toBe(`https://click.example.com/a/b-c/-${TOKEN}?x=1`);
    expect(clickLink(HTTPS, 'path', TOKEN, { url: 'https://shop.example' })).toBe(`https://click.example.com/-${TOKEN}`);
    expect(clickLink(HTTPS, 'path', TOKEN, { url: 'https://shop.example/caf\u00e9 menu' })).toBe(`https://click.example.com/caf%C3%A9%20menu-${TOKEN}`);
    expect(clickLink(HTTPS, 'path', TOKEN, { url: 'not a url' })).toBe(`https://click.example.com/-${TOKEN}`);
    expect(() => clickLink(HTTPS, 'compact', TOKEN, { url: 'https://x.example/', query: 'a=1' })).toThrow(RangeError);
  });

  it("one origin's link maker builds every link as clickLink does, and checks each carried query", () => {
    for (const style of ['compact', 'path'] as const) {
      const link = clickLinkMaker(HTTPS, style);
      const targets = [{ url: 'https://shop.example/a' }, { url: 'https://shop.example/b/c', query: '?u=2' }, { url: 'mailto:x@y' }];
      for (const target of targets) expect(link(TOKEN, target)).toBe(clickLink(HTTPS, style, TOKEN, target));
      expect(link(TOKEN, { url: 'https://shop.example/b/c', query: '?u=2' })).toContain('?u=2');
      expect(() => link(TOKEN, { url: 'https://x.example/', query: 'a=1' })).toThrow(RangeError);
    }
  });
});

describe('parseLinkPath', () => {
  it('finds route, style, token and carried query', () => {
    expect(parseLinkPath(`/c/${TOKEN}`)).toEqual({ route: 'click', style: 'compact', token: TOKEN, query: '' });
    expect(parseLinkPath(`/c/${TOKEN}?a=1&b=2?c`)).toEqual({ route: 'click', style: 'compact', token: TOKEN, query: '?a=1&b=2?c' });
    expect(parseLinkPath(`/o/${TOKEN}`)).toEqual({ route: 'open', style: 'compact', token: TOKEN, query: '' });
    expect(parseLinkPath(`/path-of-the-uri-${TOKEN}?q`)).toEqual({ route: 'click', style: 'path', token: TOKEN, query: '?q' });
    expect(parseLinkPath(`/-${TOKEN}`)).toEqual({ route: 'click', style: 'path', token: TOKEN, query: '' });
  });

  it('is not fooled by "-" in the original path, nor by an original path that looks compact', () => {
    fc.assert(
      fc.property(fc.webPath(), fc.uint8Array({ minLength: 1, maxLength: 60 }), fc.webQueryParameters(), (path, bytes, query) => {
        const token = encodeTokenText(bytes);
        const link = clickLink(HTTPS, 'path', token, { url: `https://shop.example${path.startsWith('/') ? path : '/' + path}`, query: `?${query}` });
        const target = link.slice('https://click.example.com'.length);
        expect(parseLinkPath(target)).toEqual({ route: 'click', style: 'path', token, query: `?${query}` });
      }),
      { numRuns: 500 },
    );
    expect(parseLinkPath(`/c/-${TOKEN}`)).toMatchObject({ style: 'path', token: TOKEN });
    expect(parseLinkPath(`/o/x-y-${TOKEN}`)).toMatchObject({ route: 'click', style: 'path', token: TOKEN });
    expect(parseLinkPath(`/a-b/c/d-e-f-${TOKEN}`)).toMatchObject({ style: 'path', token: TOKEN });
  });

  it('accepts a "~" that a scanner escaped', () => {
    expect(parseLinkPath(`/c/${TOKEN.replace('~', '%7E')}`)).toMatchObject({ token: TOKEN });
    expect(parseLinkPath(`/p-${TOKEN.replace('~', '%7e')}`)).toMatchObject({ token: TOKEN });
  });

  it('null for anything that is not a tracking link', () => {
    for (const target of [
      '',
      '/',
      '/c/',
      '/o/',
      '/c',
      '/healthz',
      '/metrics',
      '/favicon.ico',
      `c/${TOKEN}`,
      `/c/${TOKEN}/`,
      '/p-',
      '/p-a.b',
      '/p-a%2Fb',
      'http://evil/c/x',
    ]) {
      expect(parseLinkPath(target), target).toBeNull();
    }
  });
});
