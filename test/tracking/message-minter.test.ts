import { describe, expect, it } from 'vitest';
import { createMessageMinter, RowIdCache } from '../../src/tracking/message-minter.js';
import { createKeyring, signingKey, urlRowId } from '../../src/tokens/index.js';
import { MAX_CACHED_URL_CHARS } from '../../src/rewrite/url-verdict-cache.js';

const one = createKeyring([signingKey(1, Buffer.alloc(32, 1))], 1);
const two = createKeyring([signingKey(1, Buffer.alloc(32, 1)), signingKey(2, Buffer.alloc(32, 2))], 2);
const row = (n: number) => ({ sendId: 'a1', listId: 'l', url: `https://shop.example/p/${n}`, linkName: '' });
type Row = ReturnType<typeof row>;
/** A row's id through the cache, asked the way the minter asks: its family, then its URL. */
const idOf = (cache: RowIdCache, keyring: typeof one, content: Row): Buffer =>
  cache.rowsOf(keyring, content.sendId, content.listId, content.linkName)(content.url);

describe('RowIdCache', () => {
  it('hashes a row once, keeps its answer per current key, and stays right past its capacity', () => {
    const cache = new RowIdCache(4);
    const first = idOf(cache, one, row(1));
    expect(first).toEqual(urlRowId(one.current, row(1)));
    expect(idOf(cache, one, row(1))).toBe(first); // the memo, not a new hash
    expect(idOf(cache, two, row(1))).toEqual(urlRowId(two.current, row(1))); // a rotated key hashes anew
    expect(idOf(cache, two, row(1))).not.toEqual(first);
    for (let n = 0; n < 50; n++) expect(idOf(cache, one, row(n))).toEqual(urlRowId(one.current, row(n)));
  });

  it('keeps rows of other sends, lists and link names apart, whichever way they are asked for', () => {
    const cache = new RowIdCache(8);
    const variants = [
      row(1),
      { ...row(1), sendId: 'a2' },
      { ...row(1), listId: 'm' },
      { ...row(1), linkName: 'n' },
      { ...row(1), linkName: 'n\0' },
      // Families that a separator alone would run together.
      { ...row(1), sendId: 'a\0b', listId: 'c' },
      { ...row(1), sendId: 'a', listId: 'b\0c' },
    ];
    for (let round = 0; round < 3; round++) {
      for (const content of variants) {
        expect(idOf(cache, one, content)).toEqual(urlRowId(one.current, content));
        expect(cache.rowsOf(one, content.sendId, content.listId, content.linkName)(content.url)).toEqual(urlRowId(one.current, content));
      }
    }
    expect(new Set(variants.map((content) => idOf(cache, one, content).toString('hex'))).size).toBe(variants.length);
    // A cache of no capacity keeps nothing and still answers.
    const none = new RowIdCache(0);
    expect(idOf(none, one, row(2))).toEqual(urlRowId(one.current, row(2)));
    expect(idOf(none, one, row(2))).not.toBe(idOf(none, one, row(2)));
  });

  it('hashes the row of an over-long URL every time rather than keep it', () => {
    const cache = new RowIdCache(4);
    const long = { ...row(1), url: `https://shop.example/${'p'.repeat(MAX_CACHED_URL_CHARS)}` };
    const first = idOf(cache, one, long);
    expect(first).toEqual(urlRowId(one.current, long));
    expect(idOf(cache, one, long)).not.toBe(first); // hashed again, not remembered
    expect(idOf(cache, one, long)).toEqual(first);
    const atCap = { ...long, url: long.url.slice(0, MAX_CACHED_URL_CHARS) };
    expect(idOf(cache, one, atCap)).toBe(idOf(cache, one, atCap));
  });
});

describe('isTrackingUrl', () => {
  it('knows a tracking host with or without its port, in any case, and nothing else', () => {
    const minter = createMessageMinter({
      keyring: one,
      identity: {
        sendId: 'a1',
        listId: 'l',
        emailCode: 'c',
        mailClass: 'a',
        recipient: 'r@example.net',
        recipients: ['r@example.net'],
        campaignId: '',
        metadata: null,
      },
      settings: {
        clicks: true,
        opens: true,
        domain: 't.example.org',
        scheme: 'https',
        style: 'compact',
        mode: 'stateless',
        unsubscribe: 'missing',
        unsubscribe_page: '',
        honeypot: false,
      },
      origin: { scheme: 'https', domain: 't.example.org' },
      messageId: Buffer.alloc(9, 1),
      trackingHosts: new Set(['t.example.org', 'links.example:8443']),
    });
    const ours = (url: string) => minter.isTrackingUrl(new URL(url));
    expect(ours('https://T.Example.org/c/x')).toBe(true);
    expect(ours('http://t.example.org:8080/o/x')).toBe(true); // the host alone is listed: any port
    expect(ours('https://links.example:8443/c/x')).toBe(true);
    expect(ours('https://links.example/c/x')).toBe(false); // listed with a port: only that port
    expect(ours('https://t.example.org.evil.example/c/x')).toBe(false);
  });
});
