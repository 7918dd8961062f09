/**
 * Token bytes minted once and written down: links already in mailboxes must keep verifying, and a
 * faster MAC, writer or text encoder must mint exactly these again. A change here breaks every sent
 * link (a new format version is the way to change them).
 */
import { describe, expect, it } from 'vitest';
import { decodeInfoHeader, encodeInfoHeader } from '../../src/tokens/info-header.js';
import { decodeToken, mintStatefulClick, mintStatefulOpen, mintStatelessClick, mintStatelessOpen } from '../../src/tokens/tokens.js';
import { decodeUnsubscribeToken, mintUnsubscribeToken } from '../../src/tokens/unsubscribe-token.js';
import { urlRowId } from '../../src/tokens/url-row.js';
import { LONG_ADDRESS, LONG_URL, testKey, testKeyring } from './fixtures.js';

// Two keys, the second current: the kid byte and the key both show in every value.
const keyring = testKeyring([testKey(1), testKey(7)], 7);
const who = { recipient: 'jane.doe@example.org', sendId: 'a100525', listId: '42', emailCode: 'ec-77' };
const messageId = Buffer.from('0123456789abcdef0123', 'hex');
const row = { sendId: 'a100525', listId: '42', url: 'https://shop.example/sale', linkName: 'hero' };
const rowId = Buffer.from('b34a6d5e0cbd98e267254568', 'hex');
const mintedAt = 1_780_000_000_000;

describe('pinned token values', () => {
  it('URL row ids', () => {
    expect(urlRowId(keyring.current, row).toString('hex')).toBe('b34a6d5e0cbd98e267254568');
    expect(urlRowId(keyring.current, { sendId: 'a100525', listId: '42', url: '', linkName: '' }).toString('hex')).toBe('5b6a92cbffebf580be420fd6');
  });

  it('stateful clicks and opens', () => {
    const click = { rowId, messageId, position: 3, part: 'h' as const };
    const flagged = { rowId, messageId, position: 300, part: 't' as const, unsubscribeLink: true as const };
    const pins = [
      [mintStatefulClick(keyring, click), 'EQezSm1eDL2Y4mclRWgKASNFZ4mrze8BIwaAWWzlgWOGtij7mf8', { kind: 'stateful-click', ...click }],
      [mintStatefulClick(keyring, flagged), 'EQezSm1eDL2Y4mclRWgKASNFZ4mrze8BI9kEAWE440LtJKRRQGaT8A', { kind: 'stateful-click', ...flagged }],
      [mintStatefulOpen(keyring, { messageId }), 'EgcKASNFZ4mrze8BI2DgVDLRYkjzrbbxMA', { kind: 'stateful-open', messageId }],
    ] as const;
    for (const [minted, pinned, fields] of pins) {
      expect(minted).toBe(pinned);
      expect(decodeToken(keyring, pinned)).toEqual({ ok: true, kid: 7, ...fields });
    }
  });

  it('stateless clicks (https, http, other schemes, every optional field) and opens', () => {
    const plain = { ...who, url: 'https://shop.example/sale?utm_source=newsletter', position: 1, part: 'h' as const };
    const full = {
      ...who,
      recipient: LONG_ADDRESS,
      url: LONG_URL,
      position: 2,
      part: 't' as const,
      linkName: 'hero',
      sentAt: mintedAt,
      unsubscribeLink: true as const,
    };
    const http = { ...who, url: 'http://x.example/ü', position: 0, part: 'h' as const, sentAt: mintedAt + 999 };
    const other = { ...who, url: 'ftp://x.example/', position: 5, part: 'h' as const };
    const pins = [
      [plain, 'EwcGYxLJSsxL1UvJT3VIrUjMLchJBUUDe6KhgYGpkSmTiRFrarKuubl6cUZ~gR5UhT7I09hdwgAAcXmTJqD3HTSCThpl'],
      [
        full,
        'EwcGnZFNDoIwEEajET1NCRQQTVx4EzLSQRrrtOmPwZ1Hc~3KM3gSU4xRt~6_zMu8l2xA4QAkLKQHTc4DeUna6KB0SCNiO1bDAY5GIQskT2id9OcURVhAnmUVr6YlT7BldX2dxMPvseu1GWnfpp2xkvYsivu0UJKQmOul9cyiggEF66T_690XoImAJrb80dmj1WONVVfAuuU51rusFFW3hLzlWIhZXFxuj_t88gQ30kuQ~wkw8kn2r4E',
      ],
      [http, 'EwcFYxDJSsxL1UvJT3VIrUjMLchJBUUDe6KhgYGpkSmTiRFrarKuuTlPhR5UWv_wHoaGU48usAEAuncFLKtGsZbvChav'],
      [other, 'EwcE4xLJSsxL1UvJT3VIrUjMLchJBUUDe6KhgYGpkSmTiRFrarKuublAGlhrhR5UkT4DANl7oSf73ZZw6Ig3aA'],
    ] as const;
    for (const [click, pinned] of pins) {
      expect(mintStatelessClick(keyring, click)).toBe(pinned);
      const sentAt = 'sentAt' in click ? { sentAt: Math.floor(click.sentAt / 1000) * 1000 } : {};
      expect(decodeToken(keyring, pinned)).toEqual({ ok: true, kind: 'stateless-click', kid: 7, ...click, ...sentAt });
    }
    const open = 'FAcAFGphbmUuZG9lQGV4YW1wbGUub3JnB2ExMDA1MjUCNDIFZWMtNze763A3Hlk4r5BhGh8';
    expect(mintStatelessOpen(keyring, who)).toBe(open);
    expect(decodeToken(keyring, open)).toEqual({ ok: true, kind: 'stateless-open', kid: 7, ...who });
  });

  it('the info header and unsubscribe tokens', () => {
    const info = 'FQcAFGphbmUuZG9lQGV4YW1wbGUub3JnB2ExMDA1MjUCNDIFZWMtNzd0 afbMKdNaaZ8sOTY';
    expect(encodeInfoHeader(keyring, who)).toBe(info);
    expect(decodeInfoHeader(keyring, info)).toEqual({ ok: true, kid: 7, ...who });
    // Earlier builds deflated the info header when that made it shorter (an address
    // at one of the dictionary's domains); such headers, in bounces of mail already sent, still decode.
    const atGmail = { ...who, recipient: 'jane.doe@gmail.com' };
    const deflated = 'FQcEE8pKzEvVS8lPdYDHFXuioYGBqZEpk4kRa2qyrrk5AKCWlXMlH8b- ZRlBWQ';
    expect(decodeInfoHeader(keyring, deflated)).toEqual({ ok: true, kid: 7, ...atGmail });
    expect(encodeInfoHeader(keyring, atGmail)).toBe('FQcAEmphbmUuZG9lQGdtYWlsLmNvbQdhMTAwNTI1AjQyBWVjLTc3D80j __jFOd8ZL_yg');
    const stateful = 'FgcKASNFZ4mrze8BIwRuZXdzgMri0AZch~o~yAMxYiAhRkE';
    const stateless = 'FwcEE8lKzEvVS8lPdUitSMwtyEkFxQJ7oqGBgamRKZOJEWtqsq65OQvIroZTjy6wAQCtbInWuYSCYq9d33k';
    expect(mintUnsubscribeToken(keyring, { kind: 'stateful', messageId, mailClass: 'news', mintedAt })).toBe(stateful);
    expect(mintUnsubscribeToken(keyring, { kind: 'stateless', ...who, mailClass: 'news', mintedAt })).toBe(stateless);
    expect(decodeUnsubscribeToken(keyring, stateful)).toEqual({ ok: true, kind: 'stateful', kid: 7, messageId, mailClass: 'news', mintedAt });
    expect(decodeUnsubscribeToken(keyring, stateless)).toEqual({ ok: true, kind: 'stateless', kid: 7, ...who, mailClass: 'news', mintedAt });
  });
});
