import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrackingFilter, prepareTracking } from '../../src/tracking/tracking-filter.js';
import { defaultConfig, type ConfigValues } from '../../src/config/load.js';
import { clickDestination, createKeyring, decodeInfoHeader, decodeToken, signingKey } from '../../src/tokens/index.js';
import { splitMessage } from '../../src/mime/message-split.js';
import type { FilterResult, MessageContext } from '../../src/milter/filter.js';
import { LevelTrackStore } from '../../src/store/index.js';
import { trackingHosts } from '../../src/tracking/settings.js';
import { TrackingCaches } from '../../src/tracking/tracking-caches.js';

const keyring = createKeyring([signingKey(3, Buffer.alloc(32, 9))], 3);

const RAW = [
  'From: News <news@sender.example>',
  'To: reader@example.net',
  'X-GreenArrow-MailClass: a',
  'X-GreenArrow-InstanceID: 100525',
  'X-GreenArrow-ListID: list7',
  'X-GreenArrow-Click-Tracking-ID: sub-42',
  'MIME-Version: 1.0',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<html><body><a href="https://shop.example/item?id=5&amp;utm=x">Item</a> <a href="https://shop.example/item?id=6">Other</a></body></html>',
  '',
].join('\r\n');

function ctx(raw: string, recipients = ['reader@example.net']): MessageContext {
  const { headers, body } = splitMessage(Buffer.from(raw, 'latin1'));
  return {
    queueId: 'QID1',
    connect: null,
    helo: '',
    from: { address: 'news@sender.example', args: [] },
    recipients: recipients.map((address) => ({ address, args: [] })),
    headers,
    body,
    macro: () => undefined,
  };
}

const signal = new AbortController().signal;
const links = (body: Buffer): string[] =>
  [...body.toString('latin1').matchAll(/https:\/\/t\.example\.org\/([co])\/([A-Za-z0-9_~]+)(\?[^"]*)?/g)].map((m) => m[0]);
const info = (result: FilterResult): string => result.headerChanges!.find((h) => h.name === 'X-Mailer-Info-Extra')!.value;

describe('tracking filter, stateful', () => {
  let dir: string;
  let store: LevelTrackStore;
  const config: ConfigValues = { ...defaultConfig(), 'tracking.domain': 't.example.org' };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tm-filter-'));
    store = new LevelTrackStore(dir);
    await store.open();
  });
  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores the message record and one row per URL before returning, and every link leads back through its row', async () => {
    const result = await createTrackingFilter({ config, keyring, store }).endOfMessage(ctx(RAW), signal);
    const minted = links(result.body!);
    expect(minted).toHaveLength(3); // two clicks, one open
    const destinations: string[] = [];
    for (const link of minted.filter((l) => l.includes('/c/'))) {
      const [, token = '', query = ''] = /\/c\/([^?]+)(\?.*)?$/.exec(link.replace(/&amp;/g, '&'))!;
      const decoded = decodeToken(keyring, token);
      if (!decoded.ok || decoded.kind !== 'stateful-click') throw new Error('not a stateful click');
      const row = await store.getUrlRow(decoded.rowId);
      const message = await store.getMessage(decoded.messageId);
      expect(row).toMatchObject({ sendId: 'a100525', listId: 'list7', url: 'https://shop.example/item' });
      expect(message).toMatchObject({ recipients: ['reader@example.net'], emailCode: 'sub-42', sendId: 'a100525', queueId: 'QID1' });
      destinations.push(clickDestination(row!.url, query)!);
    }
    expect(destinations).toEqual(['https://shop.example/item?id=5&utm=x', 'https://shop.example/item?id=6']);
    // URLs that differ only after `?` share one row; the open is a row with an empty URL.
    const rows = [];
    for await (const row of store.urlRowsBySendId('a100525')) rows.push(row.url);
    expect(rows.sort()).toEqual(['', 'https://shop.example/item']);
  });

  it('adds X-Mailer-Info-Extra naming the recipient and send, and removes the control headers', async () => {
    const result = await createTrackingFilter({ config, keyring, store }).endOfMessage(ctx(RAW), signal);
    expect(decodeInfoHeader(keyring, info(result))).toMatchObject({
      ok: true,
      recipient: 'reader@example.net',
      sendId: 'a100525',
      listId: 'list7',
      emailCode: 'sub-42',
    });
    const removed = result.headerChanges!.filter((h) => h.op === 'change' && h.value === '').map((h) => h.name);
    expect(removed.sort()).toEqual(['X-GreenArrow-Click-Tracking-ID', 'X-GreenArrow-InstanceID', 'X-GreenArrow-ListID', 'X-GreenArrow-MailClass']);
  });

  it('with several recipients the links and header name no one, and the record keeps the list', async () => {
    const result = await createTrackingFilter({ config, keyring, store }).endOfMessage(ctx(RAW, ['x@example.net', 'y@example.net']), signal);
    expect(decodeInfoHeader(keyring, info(result))).toMatchObject({ ok: true, recipient: '' });
  });

  it('gives every message a record id of its own, across refills of the random pool', () => {
    // Ids are cut from a pool of random bytes refilled every 455 messages: 1,000 messages cross two
    // refills. Were an id a view into the pool, a refill would rewrite the ids already handed out.
    const ids: Buffer[] = [];
    const seen: string[] = [];
    for (let n = 0; n < 1000; n++) {
      const outcome = prepareTracking({ ...ctx(RAW), queueId: `Q${n}` }, config, keyring);
      if (outcome.kind !== 'track') throw new Error(`message ${n} was not tracked: ${outcome.kind}`);
      const id = Buffer.from(outcome.record.id);
      expect(id.length).toBe(9);
      ids.push(outcome.record.id as Buffer);
      seen.push(id.toString('hex'));
    }
    expect(new Set(seen).size).toBe(1000);
    expect(ids.map((id) => Buffer.from(id).toString('hex'))).toEqual(seen);
  });

  it('a store that fails makes the filter fail, so the failure policy decides (never a link without its row)', async () => {
    const closed = new LevelTrackStore(path.join(dir, 'never-opened'));
    await expect(createTrackingFilter({ config, keyring, store: closed }).endOfMessage(ctx(RAW), signal)).rejects.toThrow();
  });

  it('refuses invalid X-MSYS-API JSON with 550 5.6.0', async () => {
    const raw = RAW.replace('MIME-Version', 'X-MSYS-API: {"options":\r\nMIME-Version');
    const result = await createTrackingFilter({ config, keyring, store }).endOfMessage(ctx(raw), signal);
    expect(result.verdict).toEqual({ kind: 'reject', reply: expect.stringMatching(/^550 5\.6\.0 /) });
  });
});

describe('tracking filter, stateless', () => {
  const config: ConfigValues = { ...defaultConfig(), 'tracking.domain': 't.example.org', 'tracking.mode': 'stateless' };

  it('needs no store: every link carries recipient, URL and send', async () => {
    const result = await createTrackingFilter({ config, keyring, store: null }).endOfMessage(ctx(RAW), signal);
    const clicks = links(result.body!)
      .filter((l) => l.includes('/c/'))
      .map((l) => decodeToken(keyring, /\/c\/([^?"]+)/.exec(l)![1]!));
    expect(clicks).toMatchObject([
      {
        ok: true,
        kind: 'stateless-click',
        url: 'https://shop.example/item?id=5&utm=x',
        recipient: 'reader@example.net',
        sendId: 'a100525',
        position: 1,
        part: 'h',
      },
      { ok: true, kind: 'stateless-click', url: 'https://shop.example/item?id=6', position: 2, part: 'h' },
    ]);
  });

  it('over rewrite.max_links: the first links are tracked, the rest left, and the limit is reported for the log and metrics', async () => {
    const result = await createTrackingFilter({ config: { ...config, 'rewrite.max_links': 1 }, keyring, store: null }).endOfMessage(ctx(RAW), signal);
    expect(links(result.body!).filter((l) => l.includes('/c/'))).toHaveLength(1);
    expect(result.body!.toString()).toContain('href="https://shop.example/item?id=6"');
    expect(result.limitsHit).toEqual(['max-links']);
    expect(result.log).toMatchObject({ links: 1, linkLimit: [{ part: 'html', found: 2, maxLinks: 1 }] });
    const within = await createTrackingFilter({ config, keyring, store: null }).endOfMessage(ctx(RAW), signal);
    expect(within.limitsHit).toBeUndefined();
    expect(within.log).not.toHaveProperty('linkLimit');
  });

  it('an MTA that does not take body changes: nothing is rewritten, only control headers go', async () => {
    // A 7bit line that the rewrite takes past 998 octets: tracked, the root part becomes quoted-printable.
    const raw = RAW.replace('Content-Type: text/html; charset=utf-8', 'Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit').replace(
      '<html><body>',
      `<html><body>${'x'.repeat(850)}`,
    );
    const filter = createTrackingFilter({ config, keyring, store: null });
    const tracked = await filter.endOfMessage(ctx(raw), signal);
    expect(tracked.headerChanges).toContainEqual({ op: 'change', index: 1, name: 'Content-Transfer-Encoding', value: 'quoted-printable' });
    const result = await filter.endOfMessage({ ...ctx(raw), bodyReplaceable: false }, signal);
    expect(result.body).toBeUndefined();
    expect(result.skipped).toEqual({ reason: 'body-change-not-offered', detail: expect.any(String) });
    expect(result.headerChanges!.map((h) => [h.op, h.name, h.value])).toEqual(
      ['X-GreenArrow-MailClass', 'X-GreenArrow-InstanceID', 'X-GreenArrow-ListID', 'X-GreenArrow-Click-Tracking-ID'].map((name) => ['change', name, '']),
    );
  });

  it('a stateful class in a process without a store passes the message untouched', async () => {
    const result = await createTrackingFilter({ config: { ...config, classes: { a: { mode: 'stateful' } } }, keyring, store: null }).endOfMessage(
      ctx(RAW),
      signal,
    );
    expect(result).toEqual({ skipped: { reason: 'no-store', detail: expect.any(String) } });
  });
});

describe('prepareTracking with the caches of a thread', () => {
  const config: ConfigValues = { ...defaultConfig(), 'tracking.domain': 't.example.org' };
  // Links in both parts, one of them ours already, one the same URL as another but for whitespace.
  const raw = [
    'From: News <news@sender.example>',
    'To: reader@example.net',
    'X-GreenArrow-MailClass: a',
    'X-GreenArrow-InstanceID: 100525',
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Item https://shop.example/item?id=5 and https://t.example.org/c/old and https://shop.example/b',
    '--b',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<a href=" https://shop.example/item?id=5">Item</a> <a href="https://t.example.org/c/old">Old</a> <a href="https://shop.example/b">B</a>',
    '--b--',
    '',
  ].join('\r\n');
  const tracked = (outcome: ReturnType<typeof prepareTracking>) => {
    if (outcome.kind !== 'track') throw new Error(`not tracked: ${outcome.kind}`);
    return { links: outcome.plan.links.map(({ url, position, part }) => ({ url, position, part })), rows: outcome.urlRows };
  };

  it('tracks every copy of a send as a message alone would, verdicts and row ids taken from the caches', () => {
    const caches = new TrackingCaches(trackingHosts(config));
    const alone = tracked(prepareTracking(ctx(raw), config, keyring));
    expect(alone.links.map((l) => `${l.part}${l.position} ${l.url}`)).toEqual([
      't1 https://shop.example/item?id=5',
      't2 https://shop.example/b',
      'h1 https://shop.example/item?id=5',
      'h2 https://shop.example/b',
    ]);
    for (let copy = 0; copy < 3; copy++) expect(tracked(prepareTracking(ctx(raw), config, keyring, caches))).toEqual(alone);
    expect(caches.urlVerdicts.size).toBe(3); // item before its query (both forms of item?id=5), the old link, b
  });

  it("tracks a list's copies, each with its own query, as each would be alone, with one verdict for their URL", () => {
    const caches = new TrackingCaches(trackingHosts(config));
    for (let subscriber = 0; subscriber < 5; subscriber++) {
      const copy = raw.replaceAll('item?id=5', `item?id=${subscriber}&s=${'x'.repeat(subscriber)}`);
      const alone = tracked(prepareTracking(ctx(copy), config, keyring));
      expect(alone.rows.map((row) => row.url)).toContain('https://shop.example/item');
      expect(tracked(prepareTracking(ctx(copy), config, keyring, caches))).toEqual(alone);
    }
    expect(caches.urlVerdicts.size).toBe(3);
  });
});
