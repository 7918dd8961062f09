import { describe, expect, it } from 'vitest';
import { createRouteParser } from '../../src/redirector/routes.js';

describe('route parser', () => {
  const parse = createRouteParser();

  it('reads compact click and open links with their query', () => {
    expect(parse('/c/AbC_d-9?utm=x&y=%20')).toEqual({
      type: 'link',
      route: { style: 'compact', kind: 'click', token: 'AbC_d-9', query: 'utm=x&y=%20', path: '/c/AbC_d-9' },
    });
    expect(parse('/o/Tok')).toEqual({ type: 'link', route: { style: 'compact', kind: 'open', token: 'Tok', query: '', path: '/o/Tok' } });
  });

  it('takes the path-preserving token after the last dash of the last segment', () => {
    expect(parse('/shop/summer-sale/shoes-and-bags-Tok3n?x=1')).toEqual({
      type: 'link',
      route: { style: 'path', kind: 'click', token: 'Tok3n', query: 'x=1', path: '/shop/summer-sale/shoes-and-bags-Tok3n' },
    });
    expect(parse('/-Tok')).toMatchObject({ type: 'link', route: { style: 'path', token: 'Tok' } });
  });

  it('refuses what cannot be a link', () => {
    for (const target of ['/', '/c/', '/c/bad.token', '/c/a/b', '/summer-sale/shoes', '/x-', '/a-b.c', 'http://evil/c/abc', '*', '/favicon.ico']) {
      expect(parse(target), target).toEqual({ type: 'not-found' });
    }
  });

  it('marks open links with a bad token so they still get the pixel', () => {
    expect(parse('/o/')).toEqual({ type: 'bad-open' });
    expect(parse('/o/bad%00token')).toEqual({ type: 'bad-open' });
  });

  it('knows the admin endpoints', () => {
    expect(parse('/healthz')).toEqual({ type: 'healthz' });
    expect(parse('/metrics?x')).toEqual({ type: 'metrics' });
  });

  it('takes a pluggable token syntax and can turn path style off', () => {
    const strict = createRouteParser({ tokenSyntax: (token) => token.length === 4, pathStyle: false });
    expect(strict('/c/abcd')).toMatchObject({ type: 'link' });
    expect(strict('/c/abc')).toEqual({ type: 'not-found' });
    expect(strict('/path-abcd')).toEqual({ type: 'not-found' });
  });
});
