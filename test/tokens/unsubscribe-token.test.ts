import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeInfoHeader, encodeInfoHeader } from '../../src/tokens/info-header.js';
import { decodeToken, mintStatefulOpen, mintStatelessOpen } from '../../src/tokens/tokens.js';
import { decodeTokenText, encodeTokenText } from '../../src/tokens/token-text.js';
import { decodeUnsubscribeToken, mintUnsubscribeToken } from '../../src/tokens/unsubscribe-token.js';
import { anyMessageId, anyText, testKey, testKeyring } from './fixtures.js';

const keyring = testKeyring();
const who = { recipient: 'reader@mail.example', sendId: 'a100525', listId: 'list-2931', emailCode: 'ec-1' };
const MINTED = Date.UTC(2026, 11, 6, 3, 0, 0);

describe('unsubscribe tokens', () => {
  it('round-trip, stateless and stateful, for any fields', () => {
    fc.assert(
      fc.property(
        anyText,
        anyText,
        anyText,
        anyText,
        anyText,
        anyMessageId,
        fc.integer({ min: 0, max: 2 ** 34 }),
        (recipient, sendId, listId, emailCode, mailClass, messageId, seconds) => {
          const mintedAt = seconds * 1000;
          const stateless = decodeUnsubscribeToken(
            keyring,
            mintUnsubscribeToken(keyring, { kind: 'stateless', recipient, sendId, listId, emailCode, mailClass, mintedAt }),
          );
          expect(stateless).toEqual({ ok: true, kind: 'stateless', kid: 1, recipient, sendId, listId, emailCode, mailClass, mintedAt });
          const stateful = decodeUnsubscribeToken(keyring, mintUnsubscribeToken(keyring, { kind: 'stateful', messageId, mailClass, mintedAt }));
          expect(stateful).toMatchObject({ ok: true, kind: 'stateful', kid: 1, mailClass, mintedAt });
          expect(stateful.ok && stateful.kind === 'stateful' && Buffer.from(stateful.messageId).equals(Buffer.from(messageId))).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps whole seconds of the mint time', () => {
    const decoded = decodeUnsubscribeToken(keyring, mintUnsubscribeToken(keyring, { kind: 'stateless', ...who, mailClass: 'a', mintedAt: MINTED + 999 }));
    expect(decoded.ok && decoded.mintedAt).toBe(MINTED);
  });

  it('refuses any changed byte, another key, and text that is not a token', () => {
    const token = mintUnsubscribeToken(keyring, { kind: 'stateless', ...who, mailClass: 'a', mintedAt: MINTED });
    const bytes = decodeTokenText(token)!;
    for (let i = 0; i < bytes.length; i++) {
      const changed = Buffer.from(bytes);
      changed[i] = changed[i]! ^ 0x01;
      expect(decodeUnsubscribeToken(keyring, encodeTokenText(changed)).ok).toBe(false);
    }
    expect(decodeUnsubscribeToken(testKeyring([testKey(1, 'other')]), token)).toEqual({ ok: false, code: 'bad-mac' });
    for (const junk of ['', '!!', 'a'.repeat(5000), token + 'A', token.slice(0, -1)]) expect(decodeUnsubscribeToken(keyring, junk).ok).toBe(false);
  });

  it('is never read as a click or open, nor they (or the info header) as an unsubscribe', () => {
    const unsub = mintUnsubscribeToken(keyring, { kind: 'stateful', messageId: Buffer.alloc(9, 7), mailClass: '', mintedAt: MINTED });
    expect(decodeToken(keyring, unsub)).toEqual({ ok: false, code: 'malformed' });
    expect(decodeInfoHeader(keyring, Buffer.from(unsub.replaceAll('~', '-'), 'base64url').toString('base64url')).ok).toBe(false);
    for (const other of [mintStatefulOpen(keyring, { messageId: Buffer.alloc(9, 7) }), mintStatelessOpen(keyring, who)]) {
      expect(decodeUnsubscribeToken(keyring, other)).toEqual({ ok: false, code: 'malformed' });
    }
    const info = encodeInfoHeader(keyring, who).replace(/ /g, '');
    expect(decodeUnsubscribeToken(keyring, encodeTokenText(Buffer.from(info, 'base64url'))).ok).toBe(false);
  });
});

describe('unsubscribe-link flag of click tokens', () => {
  it('round-trips on stateful and stateless clicks, and is absent unless set', async () => {
    const { mintStatefulClick, mintStatelessClick } = await import('../../src/tokens/tokens.js');
    const rowId = Buffer.alloc(12, 3);
    const messageId = Buffer.alloc(9, 4);
    const plain = decodeToken(keyring, mintStatefulClick(keyring, { rowId, messageId, position: 2, part: 'h' }));
    expect(plain.ok && 'unsubscribeLink' in plain).toBe(false);
    const flagged = decodeToken(keyring, mintStatefulClick(keyring, { rowId, messageId, position: 2, part: 'h', unsubscribeLink: true }));
    expect(flagged).toMatchObject({ ok: true, kind: 'stateful-click', position: 2, unsubscribeLink: true });
    const stateless = { ...who, url: 'https://sender.example/leave', position: 1, part: 't' as const };
    expect(decodeToken(keyring, mintStatelessClick(keyring, { ...stateless, sentAt: MINTED, unsubscribeLink: true }))).toMatchObject({
      ok: true,
      kind: 'stateless-click',
      sentAt: MINTED,
      unsubscribeLink: true,
    });
    expect(decodeToken(keyring, mintStatelessClick(keyring, { ...stateless, unsubscribeLink: true }))).toMatchObject({
      ok: true,
      sentAt: 0,
      unsubscribeLink: true,
    });
    const none = decodeToken(keyring, mintStatelessClick(keyring, { ...stateless, sentAt: MINTED }));
    expect(none.ok && 'unsubscribeLink' in none).toBe(false);
  });
});
