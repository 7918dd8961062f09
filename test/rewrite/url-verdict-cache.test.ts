import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { judgeUrl, judgeUrlOnce, type UrlVerdict } from '../../src/rewrite/url-rules.js';
import { splitQuery } from '../../src/tokens/url-row.js';
import { MAX_CACHED_URL_CHARS, UrlVerdictCache } from '../../src/rewrite/url-verdict-cache.js';
import { RecordingMinter } from './recording-minter.js';

/** A verdict as judgeUrl gives it: without the part before the query that judgeUrlOnce adds. */
function plain(verdict: UrlVerdict): UrlVerdict {
  return verdict.track ? { track: true, url: verdict.url } : verdict;
}

/** A minter that counts the URLs it is asked about: one question per verdict worked out. */
class CountingMinter extends RecordingMinter {
  asked = 0;
  override isTrackingUrl(url: URL): boolean {
    this.asked += 1;
    return super.isTrackingUrl(url);
  }
}

describe('UrlVerdictCache', () => {
  it('works a verdict out once and gives it again, for links tracked and links left alone', () => {
    const cache = new UrlVerdictCache();
    const minter = new CountingMinter();
    const urls = ['  https://shop.example/a?x=1 ', 'https://trk.example.net/c/abc', 'https://shop.example/b'];
    const first = urls.map((url) => judgeUrlOnce(url, minter, cache));
    expect(minter.asked).toBe(3);
    const again = urls.map((url) => judgeUrlOnce(url, minter, cache));
    expect(minter.asked).toBe(3);
    expect(again).toEqual(first);
    expect(again.map(plain)).toEqual(urls.map((url) => judgeUrl(url, new RecordingMinter())));
  });

  it('judges a URL longer than the cap every time and keeps nothing of it', () => {
    const cache = new UrlVerdictCache();
    const minter = new CountingMinter();
    const long = `https://shop.example/${'p'.repeat(MAX_CACHED_URL_CHARS)}`;
    judgeUrlOnce(long, minter, cache);
    judgeUrlOnce(long, minter, cache);
    expect(minter.asked).toBe(2);
    expect(cache.size).toBe(0);
    const atCap = long.slice(0, MAX_CACHED_URL_CHARS);
    judgeUrlOnce(atCap, minter, cache);
    judgeUrlOnce(atCap, minter, cache);
    expect(minter.asked).toBe(3);
  });

  it('stays within its capacity under a flood of distinct URLs, and stays right', () => {
    const cache = new UrlVerdictCache(100);
    const minter = new RecordingMinter();
    for (let n = 0; n < 1000; n++) {
      const url = n % 2 ? `https://shop.example/p/${n}` : `https://trk.example.net/c/${n}`;
      expect(plain(judgeUrlOnce(url, minter, cache))).toEqual(judgeUrl(url, minter));
      expect(cache.size).toBeLessThanOrEqual(100);
    }
  });

  it("judges a list's copies by the URL before the query: one verdict worked out, nothing kept per copy", () => {
    const cache = new UrlVerdictCache();
    const minter = new CountingMinter();
    for (let n = 0; n < 1000; n++) {
      const url = `https://shop.example/a?utm_source=news&subscriber=${n}`;
      expect(judgeUrlOnce(url, minter, cache)).toEqual({ track: true, url, beforeQuery: 'https://shop.example/a' });
    }
    expect(minter.asked).toBe(1);
    expect(cache.size).toBe(1);
    // Past the cap with its query, remembered by the part before it, which is within the cap.
    const long = `https://shop.example/a?s=${'x'.repeat(MAX_CACHED_URL_CHARS)}`;
    expect(judgeUrlOnce(long, minter, cache)).toEqual({ track: true, url: long, beforeQuery: 'https://shop.example/a' });
    expect(minter.asked).toBe(1);
    expect(cache.size).toBe(1);
    // A fragment first: no query to split off, and the fragment is no part of a row.
    expect(judgeUrlOnce('https://shop.example/a#top?x', minter, cache)).toEqual({ track: true, url: 'https://shop.example/a#top?x' });
  });

  it('gives what judgeUrl gives for any URL, whatever was judged before', () => {
    const piece = fc.constantFrom(
      'https://',
      'http://',
      'HTTPS://',
      'ftp://',
      'https:',
      'shop.example',
      'trk.example.net',
      'TRK.example.NET:8080',
      'a b',
      ':99999',
      '/',
      '/p',
      '?',
      '?x=1',
      '&y=2',
      '#',
      '#top',
      '{{name}}',
      '{{',
      '}}',
      '%%',
      '%%x%%',
      '*|FNAME|*',
      '*|',
      '|*',
      '[[',
      '${',
      '%7B%7B',
      ' ',
      '\t',
      '\r\n',
      '\\',
      '@',
      'é',
      '%20',
    );
    const value = fc.array(piece, { minLength: 1, maxLength: 9 }).map((pieces) => pieces.join(''));
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 12 }), (values) => {
        const cache = new UrlVerdictCache();
        const minter = new RecordingMinter();
        for (const v of [...values, ...values]) {
          const verdict = judgeUrlOnce(v, minter, cache);
          expect(plain(verdict)).toEqual(judgeUrl(v, minter));
          if (verdict.track && verdict.beforeQuery !== undefined) {
            expect(verdict.beforeQuery).toBe(splitQuery(verdict.url).rowUrl);
            expect(verdict.url.charAt(verdict.beforeQuery.length)).toBe('?');
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});
