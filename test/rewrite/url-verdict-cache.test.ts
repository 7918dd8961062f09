import { describe, expect, it } from 'vitest';
import { judgeUrl, judgeUrlOnce } from '../../src/rewrite/url-rules.js';
import { MAX_CACHED_URL_CHARS, UrlVerdictCache } from '../../src/rewrite/url-verdict-cache.js';
import { RecordingMinter } from './recording-minter.js';

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
    expect(again).toEqual(urls.map((url) => judgeUrl(url, new RecordingMinter())));
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
      expect(judgeUrlOnce(url, minter, cache)).toEqual(judgeUrl(url, minter));
      expect(cache.size).toBeLessThanOrEqual(100);
    }
  });
});
