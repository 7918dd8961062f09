// The pool hands back an equal string, the same one while it holds it, and holds a bounded number.
import { describe, expect, it } from 'vitest';
import { StringPool } from '../../src/util/string-pool.js';

describe('string pool', () => {
  it('gives back a string equal to the one given, short or cut from a longer one', () => {
    const pool = new StringPool(16);
    const head = 'GET / HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0\r\nAccept: */*\r\n';
    const userAgent = head.slice(head.indexOf(': ') + 2, head.indexOf('\r\nAccept'));
    for (const text of ['', 'curl/8.5', userAgent, '2001:db8::1', '\u{1F600} emoji and \uD800 a lone surrogate, long enough']) {
      expect(pool.intern(text)).toBe(text);
      expect(pool.intern(text)).toBe(text);
    }
    expect(pool.size).toBe(5);
  });

  it('holds about its capacity, however many distinct strings come', () => {
    const pool = new StringPool(100);
    for (let n = 0; n < 10_000; n++) expect(pool.intern(`agent number ${n} of a flood`)).toBe(`agent number ${n} of a flood`);
    expect(pool.size).toBeLessThanOrEqual(100);
    expect(pool.size).toBeGreaterThan(0);
  });
});
