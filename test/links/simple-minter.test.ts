import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createSimpleMinter, verifySimpleToken } from '../../src/links/simple-minter.js';

const key = Buffer.from('0123456789abcdef0123456789abcdef');
const minter = createSimpleMinter({ baseUrl: 'http://127.0.0.1:8080/', key, trackingHosts: ['Clicks.Example.com'] });

function tokenOf(url: string, kind: 'c' | 'o'): string {
  const prefix = `http://127.0.0.1:8080/${kind}/`;
  expect(url.startsWith(prefix)).toBe(true);
  return url.slice(prefix.length);
}

describe('simple minter', () => {
  it('round-trips position, part and URL through a click token', () => {
    const link = { position: 7, part: 't' as const, url: 'https://shop.example/ünï?a=1&b=2#f' };
    const token = tokenOf(minter.click(link) as string, 'c');
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(verifySimpleToken(key, token)).toEqual({ ok: true, kind: 'click', position: 7, part: 't', url: link.url });
  });

  it('round-trips any link (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffffffff }), fc.constantFrom('h' as const, 't' as const), fc.string({ unit: 'grapheme' }), (position, part, url) => {
        const token = tokenOf(minter.click({ position, part, url }) as string, 'c');
        expect(verifySimpleToken(key, token)).toEqual({ ok: true, kind: 'click', position, part, url });
      }),
    );
  });

  it('mints a verifiable open token', () => {
    expect(verifySimpleToken(key, tokenOf(minter.open(), 'o'))).toEqual({ ok: true, kind: 'open' });
  });

  it('rejects every single flipped bit of a token', () => {
    const token = tokenOf(minter.click({ position: 3, part: 'h', url: 'https://a.example/x' }) as string, 'c');
    const bytes = Buffer.from(token, 'base64url');
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
      const verdict = verifySimpleToken(key, flipped.toString('base64url'));
      expect(verdict.ok, `bit ${bit}`).toBe(false);
    }
  });

  it('rejects every changed character of the token text, including unused trailing bits', () => {
    const token = tokenOf(minter.click({ position: 1, part: 'h', url: 'https://a.example/' }) as string, 'c');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < token.length; i++) {
      for (const char of alphabet) {
        if (char === token[i]) continue;
        const changed = token.slice(0, i) + char + token.slice(i + 1);
        expect(verifySimpleToken(key, changed).ok, `${i}:${char}`).toBe(false);
      }
    }
  });

  it('says bad-mac for another key and malformed for garbage', () => {
    const token = tokenOf(minter.click({ position: 1, part: 'h', url: 'https://a.example/' }) as string, 'c');
    expect(verifySimpleToken(randomBytes(32), token)).toEqual({ ok: false, code: 'bad-mac' });
    expect(verifySimpleToken(key, '')).toEqual({ ok: false, code: 'malformed' });
    expect(verifySimpleToken(key, 'not a token!')).toEqual({ ok: false, code: 'malformed' });
    expect(verifySimpleToken(key, 'AAAA')).toEqual({ ok: false, code: 'malformed' });
    expect(verifySimpleToken(key, `${token}=`)).toEqual({ ok: false, code: 'malformed' });
  });

  it('knows its own hosts as tracking URLs, any case, and not others', () => {
    expect(minter.isTrackingUrl('http://127.0.0.1:8080/c/x')).toBe(true);
    expect(minter.isTrackingUrl('https://clicks.example.COM/c/x')).toBe(true);
    expect(minter.isTrackingUrl('https://example.com/')).toBe(false);
    expect(minter.isTrackingUrl('https://clicks.example.com.evil.example/')).toBe(false);
    expect(minter.isTrackingUrl('not a url')).toBe(false);
  });
});
