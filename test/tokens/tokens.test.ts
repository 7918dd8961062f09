import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeInfoHeader, encodeInfoHeader } from '../../src/tokens/info-header.js';
import { KIND, seal } from '../../src/tokens/seal.js';
import { decodeTokenText, encodeTokenText } from '../../src/tokens/token-text.js';
import {
  decodeToken,
  MAX_TOKEN_CHARS,
  mintStatefulClick,
  mintStatefulOpen,
  mintStatelessClick,
  mintStatelessOpen,
  statefulClickMinter,
  type DecodedToken,
} from '../../src/tokens/tokens.js';
import { clickDestination, joinQuery, splitQuery, urlRowId } from '../../src/tokens/url-row.js';
import { clickLink, openLink, type LinkStyle, type TrackingOrigin } from '../../src/tokens/url-style.js';
import { parseLinkPath } from './link-path.js';
import { deflateRawSync } from 'node:zlib';
import { anyMessageId, anyPart, anyPosition, anyStatelessClick, anyText, LONG_ADDRESS, LONG_URL, noise, testKey, testKeyring } from './fixtures.js';

const ORIGIN: TrackingOrigin = { scheme: 'https', domain: 'click.example.com' };
const STYLES: LinkStyle[] = ['compact', 'path'];
const keyring = testKeyring();

/** What a browser puts in the request line for a link: path and query, never the fragment. */
function requestTarget(link: string): { target: string; fragment: string } {
  const origin = `${ORIGIN.scheme}://${ORIGIN.domain}`;
  expect(link.startsWith(origin + '/')).toBe(true);
  const rest = link.slice(origin.length);
  const hash = rest.indexOf('#');
  return hash < 0 ? { target: rest, fragment: '' } : { target: rest.slice(0, hash), fragment: rest.slice(hash) };
}

function decodeLink(link: string, route: 'click' | 'open'): { decoded: DecodedToken; query: string; fragment: string } {
  const { target, fragment } = requestTarget(link);
  const parsed = parseLinkPath(target);
  expect(parsed?.route).toBe(route);
  const decoded = decodeToken(keyring, parsed?.token ?? '');
  if (!decoded.ok) throw new Error(`token rejected: ${decoded.code}`);
  return { decoded, query: parsed?.query ?? '', fragment };
}

describe('round trip', () => {
  for (const style of STYLES) {
    it(`stateless click, ${style} style: every field comes back exactly`, () => {
      fc.assert(
        fc.property(anyStatelessClick, (click) => {
          const link = clickLink(ORIGIN, style, mintStatelessClick(keyring, click), { url: click.url });
          const { decoded, query } = decodeLink(link, 'click');
          expect(query).toBe('');
          expect(decoded).toEqual({ ok: true, kind: 'stateless-click', kid: 1, ...click });
        }),
        { numRuns: 300 },
      );
    });

    it(`stateful click, ${style} style: ids, position and part in the token, the query in the link`, () => {
      const anyUrl = fc.webUrl({ withQueryParameters: true, withFragments: true });
      fc.assert(
        fc.property(anyUrl, anyText, anyText, anyMessageId, anyPosition, anyPart, (url, sendId, listId, messageId, position, part) => {
          const { rowUrl, query } = splitQuery(url);
          const rowId = urlRowId(keyring.current, { sendId, listId, url: rowUrl, linkName: '' });
          const token = mintStatefulClick(keyring, { rowId, messageId, position, part });
          const link = clickLink(ORIGIN, style, token, { url: rowUrl, query });
          const { decoded, query: carried, fragment } = decodeLink(link, 'click');
          expect(decoded).toEqual({ ok: true, kind: 'stateful-click', kid: 1, rowId: Buffer.from(rowId), messageId: Buffer.from(messageId), position, part });
          // The browser keeps the link's fragment across the redirect, so the visit ends where the original would.
          expect(joinQuery(rowUrl, carried) + fragment).toBe(url);
          if (!rowUrl.includes('#')) expect(clickDestination(rowUrl, carried)).toBe(new URL(joinQuery(rowUrl, carried)).href);
        }),
        { numRuns: 300 },
      );
    });
  }

  it('stateful open', () => {
    fc.assert(
      fc.property(anyMessageId, (messageId) => {
        const { decoded } = decodeLink(openLink(ORIGIN, mintStatefulOpen(keyring, { messageId })), 'open');
        expect(decoded).toEqual({ ok: true, kind: 'stateful-open', kid: 1, messageId: Buffer.from(messageId) });
      }),
    );
  });

  it('stateless open', () => {
    const anyOpen = fc.record({ recipient: fc.emailAddress(), sendId: anyText, listId: anyText, emailCode: anyText });
    fc.assert(
      fc.property(anyOpen, (open) => {
        const { decoded } = decodeLink(openLink(ORIGIN, mintStatelessOpen(keyring, open)), 'open');
        expect(decoded).toEqual({ ok: true, kind: 'stateless-open', kid: 1, ...open });
      }),
    );
  });

  it('the same URL row always gets the same id, whatever follows the "?"', () => {
    const row = (url: string) => ({ sendId: 'a100525', listId: '7', url: splitQuery(url).rowUrl, linkName: '' });
    const a = urlRowId(keyring.current, row('https://shop.example/p?sub=alice'));
    const b = urlRowId(keyring.current, row('https://shop.example/p?sub=bob'));
    expect(a).toEqual(b);
    expect(urlRowId(keyring.current, { ...row('https://shop.example/p'), sendId: 'a100526' })).not.toEqual(a);
    expect(urlRowId(keyring.current, { ...row('https://shop.example/p'), linkName: 'hero' })).not.toEqual(a);
    expect(urlRowId(testKey(1, 'other'), row('https://shop.example/p'))).not.toEqual(a);
    expect(() => urlRowId(keyring.current, { ...row(''), url: 'https://shop.example/p?x' })).toThrow(RangeError);
  });

  it('a stateless click carries its delivery time in whole seconds; a token without one (as minted before) still decodes', () => {
    const click = { recipient: 'a@b.example', sendId: 's', listId: 'l', emailCode: 'c', url: 'https://x.example/', position: 1, part: 'h' as const };
    const timed = decodeToken(keyring, mintStatelessClick(keyring, { ...click, sentAt: 1_700_000_000_999 }));
    expect(timed).toMatchObject({ ok: true, sentAt: 1_700_000_000_000 });
    const untimed = decodeToken(keyring, mintStatelessClick(keyring, click));
    expect(untimed.ok).toBe(true);
    expect(untimed).not.toHaveProperty('sentAt');
    // A time the token cannot hold (before the epoch) is left out rather than wrapped.
    expect(decodeToken(keyring, mintStatelessClick(keyring, { ...click, sentAt: -5000 }))).not.toHaveProperty('sentAt');
  });

  it('minting is deterministic: the same link in the same message gets the same token', () => {
    fc.assert(
      fc.property(anyStatelessClick, (click) => {
        expect(mintStatelessClick(keyring, click)).toBe(mintStatelessClick(keyring, { ...click }));
      }),
      { numRuns: 50 },
    );
  });

  it("one message's click minter mints each click as if alone, whatever the clicks before it", () => {
    const anyClick = fc.record({
      rowId: fc.uint8Array({ minLength: 12, maxLength: 12 }),
      position: anyPosition,
      part: anyPart,
      unsubscribeLink: fc.constantFrom(undefined, true as const),
    });
    fc.assert(
      fc.property(anyMessageId, fc.array(anyClick, { minLength: 1, maxLength: 8 }), (messageId, clicks) => {
        const mint = statefulClickMinter(keyring, messageId);
        for (const click of clicks) {
          const { unsubscribeLink, ...rest } = click;
          const alone = unsubscribeLink ? { ...rest, messageId, unsubscribeLink } : { ...rest, messageId };
          expect(mint(click)).toBe(mintStatefulClick(keyring, alone));
          const decoded = decodeToken(keyring, mint(click));
          expect(decoded).toEqual({ ok: true, kind: 'stateful-click', kid: 1, ...alone, rowId: Buffer.from(click.rowId), messageId: Buffer.from(messageId) });
        }
      }),
      { numRuns: 100 },
    );
  });

  it('minting refuses what it could not give back exactly', () => {
    const click = { recipient: 'a@b.example', url: 'https://x.example/', sendId: '', listId: '', emailCode: '', position: 1, part: 'h' as const };
    expect(() => mintStatelessClick(keyring, { ...click, recipient: 'a\uD800@b.example' })).toThrow(RangeError);
    expect(() => mintStatelessClick(keyring, { ...click, position: -1 })).toThrow(RangeError);
    expect(() => mintStatelessClick(keyring, { ...click, position: 1.5 })).toThrow(RangeError);
    expect(() => mintStatefulOpen(keyring, { messageId: new Uint8Array(0) })).toThrow(RangeError);
    expect(() => mintStatefulClick(keyring, { rowId: new Uint8Array(5), messageId: new Uint8Array(8), position: 1, part: 'h' })).toThrow(RangeError);
    expect(() => mintStatelessClick(keyring, { ...click, url: 'https://x.example/' + noise(4000) })).toThrow(
      expect.objectContaining({ code: 'ETOKEN_TOO_LONG' }),
    );
  });
});

describe('stateless link length', () => {
  it('a 200-character URL and a 60-character address stay under 400 characters', () => {
    expect(LONG_URL.length).toBe(200);
    expect(LONG_ADDRESS.length).toBe(60);
    const click = {
      recipient: LONG_ADDRESS,
      url: LONG_URL,
      sendId: 'a100525',
      listId: 'list-2024-07',
      emailCode: 'c8f31d0e2a',
      position: 12,
      part: 'h' as const,
      linkName: 'hero',
      sentAt: Date.now(),
    };
    const link = clickLink(ORIGIN, 'compact', mintStatelessClick(keyring, click), { url: LONG_URL });
    console.log(`stateless compact link for a ${LONG_URL.length}-character URL and a ${LONG_ADDRESS.length}-character address: ${link.length} characters`);
    console.log(link);
    expect(link.length).toBeLessThan(400);
    const pathStyle = clickLink(ORIGIN, 'path', mintStatelessClick(keyring, click), { url: LONG_URL });
    console.log(`same, path-preserving style (the path is shown and also inside the token): ${pathStyle.length} characters`);
    expect(pathStyle.length).toBeLessThan(400);

    // Worst case for the record: nothing to compress (random bytes spelled as URL-safe text).
    const incompressible = { ...click, url: `https://x.example/${noise(182)}`, recipient: noise(48, 'address') + '@example.com' };
    const worst = clickLink(ORIGIN, 'compact', mintStatelessClick(keyring, incompressible), { url: incompressible.url });
    console.log(`same with incompressible URL and address: ${worst.length} characters`);
  });
});

/** A token's bytes with one bit flipped, spelled again. */
function flipBit(token: string, bit: number): string {
  const bytes = decodeTokenText(token) as Buffer;
  const copy = Buffer.from(bytes);
  copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
  return encodeTokenText(copy);
}

/** What flipping a bit in the frame must be reported as. */
function expectedFlipCode(bit: number, ring: { get(kid: number): unknown }, token: string): string[] {
  const byte = bit >> 3;
  if (byte === 0) return (bit & 7) >= 4 ? ['unsupported-version'] : ['malformed', 'bad-mac'];
  if (byte === 1) {
    const kid = ((decodeTokenText(token) as Buffer)[1] as number) ^ (1 << (bit & 7));
    return ring.get(kid) ? ['bad-mac'] : ['unknown-key'];
  }
  return ['bad-mac'];
}

const anyToken = fc.oneof(
  anyStatelessClick.map((click) => mintStatelessClick(keyring, click)),
  fc.record({ recipient: fc.emailAddress(), sendId: anyText, listId: anyText, emailCode: anyText }).map((open) => mintStatelessOpen(keyring, open)),
  fc
    .record({ rowId: fc.uint8Array({ minLength: 12, maxLength: 12 }), messageId: anyMessageId, position: anyPosition, part: anyPart })
    .map((click) => mintStatefulClick(keyring, click)),
  anyMessageId.map((messageId) => mintStatefulOpen(keyring, { messageId })),
);

describe('tampering', () => {
  const twoKeys = testKeyring([testKey(1), testKey(2, 'b')], 1);

  it('every kind: any flipped bit anywhere is rejected, with the code for where it landed', () => {
    fc.assert(
      fc.property(anyToken, fc.nat(), (token, seed) => {
        const bits = (decodeTokenText(token) as Buffer).length * 8;
        const bit = seed % bits;
        const result = decodeToken(twoKeys, flipBit(token, bit));
        expect(result.ok).toBe(false);
        if (!result.ok) expect(expectedFlipCode(bit, twoKeys, token)).toContain(result.code);
      }),
      { numRuns: 2000 },
    );
  });

  it('every bit of one token of each kind, exhaustively', () => {
    const tokens = [
      mintStatelessClick(keyring, { recipient: LONG_ADDRESS, url: LONG_URL, sendId: 'a1', listId: 'l', emailCode: 'e', position: 3, part: 't' }),
      mintStatelessOpen(keyring, { recipient: LONG_ADDRESS, sendId: 'a1', listId: 'l', emailCode: 'e' }),
      mintStatefulClick(keyring, { rowId: new Uint8Array(12).fill(7), messageId: new Uint8Array(10).fill(9), position: 300, part: 'h' }),
      mintStatefulOpen(keyring, { messageId: new Uint8Array(10).fill(9) }),
    ];
    for (const token of tokens) {
      const bits = (decodeTokenText(token) as Buffer).length * 8;
      for (let bit = 0; bit < bits; bit++) {
        const result = decodeToken(twoKeys, flipBit(token, bit));
        expect(result.ok, `bit ${bit}`).toBe(false);
        if (!result.ok) expect(expectedFlipCode(bit, twoKeys, token)).toContain(result.code);
      }
    }
  });

  it('any change of one character of the text is rejected', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~-+/=.%';
    fc.assert(
      fc.property(anyToken, fc.nat(), fc.constantFrom(...alphabet), (token, seed, char) => {
        const at = seed % token.length;
        fc.pre(token[at] !== char);
        expect(decodeToken(keyring, token.slice(0, at) + char + token.slice(at + 1)).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('any truncation, and anything appended, is rejected', () => {
    fc.assert(
      fc.property(anyToken, (token) => {
        for (let length = 0; length < token.length; length++) {
          const result = decodeToken(keyring, token.slice(0, length));
          expect(result.ok).toBe(false);
          if (!result.ok) expect(['malformed', 'bad-mac']).toContain(result.code);
        }
        expect(decodeToken(keyring, token + 'A').ok).toBe(false);
        expect(decodeToken(keyring, token + 'AAAA').ok).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('a token moved to another key (kid rewritten) fails its MAC', () => {
    const onlyA = testKeyring([testKey(1)], 1);
    fc.assert(
      fc.property(
        anyToken.map((t) => decodeToken(keyring, t).ok && t),
        (token) => {
          const bytes = Buffer.from(decodeTokenText(token as string) as Buffer);
          expect(bytes[1]).toBe(1);
          bytes[1] = 2;
          expect(decodeToken(twoKeys, encodeTokenText(bytes))).toEqual({ ok: false, code: 'bad-mac' });
          expect(decodeToken(onlyA, encodeTokenText(bytes))).toEqual({ ok: false, code: 'unknown-key' });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a token from a key the keyring does not hold is refused as unknown-key; one signed by a stranger as bad-mac', () => {
    const token = mintStatefulOpen(testKeyring([testKey(9)], 9), { messageId: new Uint8Array(8) });
    expect(decodeToken(keyring, token)).toEqual({ ok: false, code: 'unknown-key' });
    const stranger = mintStatefulOpen(testKeyring([testKey(1, 'stranger')], 1), { messageId: new Uint8Array(8) });
    expect(decodeToken(keyring, stranger)).toEqual({ ok: false, code: 'bad-mac' });
  });

  it('another format version is refused as unsupported-version', () => {
    const bytes = Buffer.from(decodeTokenText(mintStatefulOpen(keyring, { messageId: new Uint8Array(8) })) as Buffer);
    bytes[0] = (2 << 4) | ((bytes[0] as number) & 0x0f);
    expect(decodeToken(keyring, encodeTokenText(bytes))).toEqual({ ok: false, code: 'unsupported-version' });
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.uint8Array().map(encodeTokenText)), (input) => {
        expect(decodeToken(keyring, input).ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
    for (const input of [undefined, null, 42, {}, 'A'.repeat(MAX_TOKEN_CHARS + 1)]) {
      expect(decodeToken(keyring, input as string)).toEqual({ ok: false, code: 'malformed' });
    }
  });

  it('a correctly signed body that does not parse is malformed, and inflating is capped', () => {
    const signed = (kind: (typeof KIND)[keyof typeof KIND], body: Buffer) => encodeTokenText(seal(keyring.current, kind, body));
    expect(decodeToken(keyring, signed(KIND.statefulClick, Buffer.alloc(3)))).toEqual({ ok: false, code: 'malformed' });
    expect(decodeToken(keyring, signed(KIND.statefulOpen, Buffer.of(20, 1, 2)))).toEqual({ ok: false, code: 'malformed' });
    expect(decodeToken(keyring, signed(KIND.statelessClick, Buffer.of(0b11, 0, 0, 0, 0, 0, 0)))).toEqual({ ok: false, code: 'malformed' });
    expect(decodeToken(keyring, signed(KIND.statelessOpen, Buffer.of(0b100, 1, 2, 3)))).toEqual({ ok: false, code: 'malformed' });
    // A bomb: a few hundred bytes that would inflate to a megabyte.
    const bomb = Buffer.concat([Buffer.of(0b100), deflateRawSync(Buffer.alloc(1 << 20))]);
    expect(decodeToken(keyring, signed(KIND.statelessOpen, bomb))).toEqual({ ok: false, code: 'malformed' });
  });

  it('an info header value is not a link token, nor a token an info header', () => {
    const header = encodeInfoHeader(keyring, { recipient: 'a@b.example', sendId: 's', listId: 'l', emailCode: 'e' });
    expect(decodeToken(keyring, encodeTokenText(Buffer.from(header.replace(/ /g, ''), 'base64url')))).toEqual({ ok: false, code: 'malformed' });
    const token = mintStatelessOpen(keyring, { recipient: 'a@b.example', sendId: 's', listId: 'l', emailCode: 'e' });
    expect(decodeInfoHeader(keyring, (decodeTokenText(token) as Buffer).toString('base64url'))).toEqual({ ok: false, code: 'malformed' });
  });
});

describe('stateless click link names', () => {
  it('a link name rides along and comes back; none leaves no field', () => {
    const click = { recipient: 'r@example.net', sendId: 'a1', listId: 'l', emailCode: 'c', url: 'https://example.com/x', position: 3, part: 'h' as const };
    expect(decodeToken(keyring, mintStatelessClick(keyring, { ...click, linkName: 'hero-button' }))).toMatchObject({
      ok: true,
      linkName: 'hero-button',
      url: click.url,
    });
    expect(decodeToken(keyring, mintStatelessClick(keyring, click))).not.toHaveProperty('linkName');
  });
});
