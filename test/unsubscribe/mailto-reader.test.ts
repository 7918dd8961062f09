// The mailto: form through the milter's reader, with a real store on disk: the token in the address's
// detail or in the Subject, or a quoted X-Mailer-Info-Extra, names the person; the sender's From never
// does; one unsubscribe per person and list, however many mails.
import { afterEach, describe, expect, it } from 'vitest';
import type { MessageContext } from '../../src/milter/filter.js';
import { type LevelTrackStore } from '../../src/store/index.js';
import { encodeInfoHeader } from '../../src/tokens/index.js';
import { mintUnsubscribeToken } from '../../src/tokens/unsubscribe-token.js';
import { addressDetail, createMailtoReader, parseUnsubscribeAddress } from '../../src/unsubscribe/mailto-reader.js';
import { UnsubscribeService } from '../../src/unsubscribe/service.js';
import { collect, openStore } from '../store/fixtures.js';
import { testKey, testKeyring } from '../tokens/fixtures.js';

const keyring = testKeyring();
const ADDRESS = parseUnsubscribeAddress('Unsub@News.Example')!;
const who = { recipient: 'ann@mail.example', sendId: 'a1', listId: 'weekly', emailCode: 'c1' };
const stores: LevelTrackStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

async function setUp() {
  const store = await openStore();
  stores.push(store);
  const service = new UnsubscribeService({ keyring, store, record: (e) => store.recordEvents(e), maxAgeMs: 365 * 86_400_000 });
  const reader = createMailtoReader({ address: ADDRESS, service, keyring, afterRecord: 'discard' });
  const token = mintUnsubscribeToken(keyring, { kind: 'stateless', ...who, mailClass: 'a', mintedAt: Date.now() });
  const unsubscribes = async () => (await collect(store.eventsBySendId('a1'))).filter((e) => e.type === 'unsubscribe');
  return { store, reader, token, unsubscribes };
}

function mail(to: string[], subject: string, body = 'please remove me\r\n', from = 'someone-else@evil.example'): MessageContext {
  return {
    queueId: 'Q1',
    connect: { hostname: 'mx.mail.example', family: 'inet', port: 25, address: '192.0.2.7' },
    helo: 'mx.mail.example',
    from: { address: from, args: [] },
    recipients: to.map((address) => ({ address, args: [] })),
    headers: [
      { name: 'From', value: from },
      { name: 'Subject', value: subject },
    ],
    body: Buffer.from(body),
    macro: () => undefined,
  };
}

describe('the unsubscribe address', () => {
  it('matches with or without a + detail, in any case, and nothing else', () => {
    expect(addressDetail('unsub@news.example', ADDRESS)).toBe('');
    expect(addressDetail('UNSUB+AbC~1@NEWS.EXAMPLE', ADDRESS)).toBe('AbC~1');
    for (const other of ['unsubscribe@news.example', 'unsub@news.example.org', 'x+unsub@news.example', 'unsub'])
      expect(addressDetail(other, ADDRESS)).toBeNull();
    expect(parseUnsubscribeAddress('')).toBeNull();
    expect(parseUnsubscribeAddress('no-at-sign')).toBeNull();
  });
});

describe('createMailtoReader', () => {
  it('records from the token in the address, once, and discards the mail', async () => {
    const { reader, token, unsubscribes, store } = await setUp();
    const first = await reader.endOfMessage(mail([`unsub+${token}@news.example`], 'unsubscribe'), new AbortController().signal);
    expect(first).toMatchObject({ verdict: { kind: 'discard' }, log: { unsubscribeMail: 'recorded', found: 'token' } });
    const again = await reader.endOfMessage(mail([`unsub+${token}@news.example`], 'unsubscribe'), new AbortController().signal);
    expect(again).toMatchObject({ verdict: { kind: 'discard' }, log: { unsubscribeMail: 'already' } });
    expect(await unsubscribes()).toMatchObject([{ recipient: 'ann@mail.example', listId: 'weekly', ip: '192.0.2.7', details: { source: 'mailto' } }]);
    expect(await store.suppressedAmong('weekly', ['ann@mail.example'])).toEqual(new Set(['ann@mail.example']));
  });

  it('records from the token in the subject (a token too long for the address)', async () => {
    const { reader, token, unsubscribes } = await setUp();
    expect(await reader.endOfMessage(mail(['unsub@news.example'], `unsubscribe ${token}`), new AbortController().signal)).toMatchObject({
      log: { found: 'token' },
    });
    expect(await unsubscribes()).toHaveLength(1);
  });

  it('records from a verified X-Mailer-Info-Extra quoted in a reply', async () => {
    const { reader, unsubscribes } = await setUp();
    const info = encodeInfoHeader(keyring, who).split(' ');
    const quoted = [
      'Stop sending this.',
      '',
      '> From: news@news.example',
      `> X-Mailer-Info-Extra: ${info[0]}`,
      ...info.slice(1).map((c) => `>  ${c}`),
      '> Subject: Weekly',
      '',
    ].join('\r\n');
    expect(await reader.endOfMessage(mail(['unsub@news.example'], 'Re: Weekly', quoted), new AbortController().signal)).toMatchObject({
      log: { found: 'info-header' },
    });
    expect(await unsubscribes()).toMatchObject([{ recipient: 'ann@mail.example', details: { source: 'mailto' } }]);
  });

  it('records nothing, and delivers, without a token or a header that verifies; From is never believed', async () => {
    const { reader, token, unsubscribes } = await setUp();
    const otherKey = testKeyring([testKey(1, 'other')]);
    const forgedInfo = encodeInfoHeader(otherKey, who);
    const forgedToken = mintUnsubscribeToken(otherKey, { kind: 'stateless', ...who, mailClass: 'a', mintedAt: Date.now() });
    for (const m of [
      mail(['unsub@news.example'], 'unsubscribe', 'remove me', 'ann@mail.example'),
      mail([`unsub+${forgedToken}@news.example`], 'unsubscribe'),
      mail(['unsub@news.example'], `unsubscribe ${token.slice(0, -3)}`),
      mail(['unsub@news.example'], 'Re: x', `> X-Mailer-Info-Extra: ${forgedInfo}\r\n`),
    ]) {
      const result = await reader.endOfMessage(m, new AbortController().signal);
      expect(result.verdict).toBeUndefined();
      expect(result.log).toEqual({ unsubscribeMail: 'not-ours' });
    }
    expect(await unsubscribes()).toEqual([]);
  });

  it('mail also addressed to someone else goes on to them, without the unsubscribe address', async () => {
    const { reader, token } = await setUp();
    const result = await reader.endOfMessage(mail([`unsub+${token}@news.example`, 'boss@news.example'], 'unsubscribe'), new AbortController().signal);
    expect(result.verdict).toBeUndefined();
    expect(result.removeRecipients).toEqual([`unsub+${token}@news.example`]);
  });
});
