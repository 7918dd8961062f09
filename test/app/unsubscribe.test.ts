// One-click unsubscribe through a real `serve` daemon (its own process, LevelDB on disk): the milter
// adds List-Unsubscribe and List-Unsubscribe-Post with a signed /u/ link; a GET (what a mail security
// gateway does) shows the page and records nothing; the RFC 8058 POST records one unsubscribe, however
// often it is sent; the list's next message to that person loses them from its envelope (DELRCPT),
// another list's does not; `trackmilter suppressions` lists, adds, removes and imports.
import { readFile, writeFile } from 'node:fs/promises';
import { pollUntil } from '../helpers/net.js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageResult } from '../../src/milter/client.js';
import { decodeUnsubscribeToken } from '../../src/tokens/unsubscribe-token.js';
import { loadKeyring } from '../../src/tokens/index.js';
import { encodeTokenText } from '../../src/tokens/token-text.js';
import { decodeTokenText } from '../../src/tokens/token-text.js';
import { CLI_BUILT, DaemonProcess, TempDirs, cli } from './helpers/processes.js';
import { BROWSER_UA, SEND, buildNewsletter, type Newsletter } from './helpers/newsletter.js';
import { sendThroughMilter } from './helpers/traffic.js';
import { scrape } from './helpers/metrics.js';

type EventJson = Record<string, unknown>;

const OTHER = 'second@mail.example';

function withList(message: Newsletter, listId: string, extra: Array<{ name: string; value: string }> = []): Newsletter {
  const headers = message.headers.map((h) => (h.name === 'X-GreenArrow-ListID' ? { ...h, value: listId } : h));
  return { ...message, headers: [...headers, ...extra] };
}

function added(result: MessageResult, name: string): string[] {
  return result.headerChanges.filter((h) => h.op === 'add' && h.name === name).map((h) => h.value);
}

/** The one-click URL of the message's List-Unsubscribe. */
function oneClickUrl(result: MessageResult): string {
  const [value] = added(result, 'List-Unsubscribe');
  const match = /^<(http:\/\/[^>]+\/u\/[A-Za-z0-9_~]+)>/.exec(value ?? '');
  if (!match) throw new Error(`no one-click URL in ${JSON.stringify(result.headerChanges)}`);
  return match[1]!;
}

async function post(url: string, body: string, contentType = 'application/x-www-form-urlencoded'): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', body, redirect: 'manual', headers: { 'Content-Type': contentType, 'User-Agent': BROWSER_UA } });
  return { status: res.status, text: await res.text() };
}

async function events(daemon: DaemonProcess, sendId: string): Promise<EventJson[]> {
  const out = await cli(['events', '--sendid', sendId, '--format', 'json', ...daemon.cliFlags]);
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as EventJson);
}

const unsubscribes = async (daemon: DaemonProcess, sendId: string = SEND.sendId): Promise<EventJson[]> =>
  (await events(daemon, sendId)).filter((e) => e.type === 'unsubscribe');

describe.skipIf(!CLI_BUILT)('one-click unsubscribe through the daemon', () => {
  const dirs = new TempDirs();
  let daemon: DaemonProcess;
  let first: MessageResult;
  let url: string;
  let jsonl: string;

  beforeAll(async () => {
    const dataDir = path.join(await dirs.make(), 'data');
    jsonl = path.join(path.dirname(dataDir), 'events.jsonl');
    const toml = [
      '[unsubscribe]',
      'mailto = "unsub@shop.example"',
      '[events]',
      `jsonl_path = ${JSON.stringify(jsonl)}`,
      '',
      '[classes.s]',
      'mode = "stateless"',
      '',
      '[classes.p]',
      'style = "path"',
      '',
    ].join('\n');
    daemon = await DaemonProcess.start({ role: 'serve', dataDir, configToml: toml });
    first = await sendThroughMilter(daemon.milterPort, buildNewsletter());
    url = oneClickUrl(first);
  });
  afterAll(async () => {
    await daemon?.stop();
    await dirs.cleanup();
  });

  it('adds List-Unsubscribe (web and mailto) and List-Unsubscribe-Post with a token naming the message', async () => {
    expect(['a', 'c']).toContain(first.verdict);
    const [value] = added(first, 'List-Unsubscribe');
    expect(value).toMatch(
      new RegExp(`^<${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}>, <mailto:unsub\\+[A-Za-z0-9_~]+@shop\\.example\\?subject=unsubscribe>$`),
    );
    expect(added(first, 'List-Unsubscribe-Post')).toEqual(['List-Unsubscribe=One-Click']);
    const token = url.slice(url.lastIndexOf('/') + 1);
    const decoded = decodeUnsubscribeToken(await loadKeyring(daemon.spec.dataDir), token);
    expect(decoded).toMatchObject({ ok: true, kind: 'stateful', mailClass: SEND.mailClass });
  });

  it('GET and HEAD show the confirmation page and record nothing', async () => {
    const res = await fetch(url, { headers: { 'User-Agent': BROWSER_UA }, redirect: 'manual' });
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('location')).toBeNull();
    expect(html).toContain(SEND.listId);
    expect(html).toContain('r****r@mail.example'); // reader@..., partly masked
    expect(html).not.toContain(SEND.recipient);
    expect(html).toContain(`<form method="post" action="${new URL(url).pathname}">`);
    expect(html).toContain('name="List-Unsubscribe" value="One-Click"');
    expect(html).not.toMatch(/<script/i);
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    // A scanner fetching it repeatedly, with its own agent, changes nothing either.
    for (let i = 0; i < 3; i++) expect((await fetch(url, { headers: { 'User-Agent': 'Proofpoint URL Defense' } })).status).toBe(200);
    expect(await unsubscribes(daemon)).toEqual([]);
  });

  it('a forged, cut or foreign token is a 404 on GET and POST and records nothing', async () => {
    const token = url.slice(url.lastIndexOf('/') + 1);
    const bytes = decodeTokenText(token)!;
    bytes[5] = bytes[5]! ^ 0x40;
    const base = url.slice(0, url.lastIndexOf('/') + 1);
    const forged = [base + encodeTokenText(bytes), base + token.slice(0, -2), base + 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'];
    for (const bad of forged) {
      expect((await fetch(bad)).status, bad).toBe(404);
      expect((await post(bad, 'List-Unsubscribe=One-Click')).status, bad).toBe(404);
    }
    expect(await unsubscribes(daemon)).toEqual([]);
  });

  it('a POST without List-Unsubscribe=One-Click is a 400 and records nothing', async () => {
    expect((await post(url, '')).status).toBe(400);
    expect((await post(url, 'List-Unsubscribe=Yes')).status).toBe(400);
    expect((await fetch(url, { method: 'PUT' })).status).toBe(405);
    expect(await unsubscribes(daemon)).toEqual([]);
  });

  it('POST records exactly one unsubscribe, however many arrive, and report counts it', async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => post(url, 'List-Unsubscribe=One-Click')));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.filter((a) => a.text.includes('is now unsubscribed')).length).toBe(1);
    expect((await post(url, 'List-Unsubscribe=One-Click')).text).toContain('was already unsubscribed');
    const recorded = await unsubscribes(daemon);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      type: 'unsubscribe',
      greenarrowType: 'engine_unsub',
      sendId: SEND.sendId,
      listId: SEND.listId,
      recipient: SEND.recipient,
      emailCode: SEND.emailCode,
      machine: false,
      source: 'one-click',
      ip: '127.0.0.1',
    });
    const report = JSON.parse(await cli(['report', '--sendid', SEND.sendId, '--json', ...daemon.cliFlags])) as {
      all: { unsubscribes: number };
      human: { unsubscribes: number };
    };
    expect(report.all.unsubscribes).toBe(1);
    expect(report.human.unsubscribes).toBe(1);
    // The JSONL sink publishes the same event, GreenArrow's engine_unsub, in the documented shape.
    const published = await pollUntil(
      'the unsubscribe in the JSONL file',
      async () => {
        const lines = (await readFile(jsonl, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
        const found = lines.map((l) => JSON.parse(l) as EventJson).filter((e) => e.type === 'unsubscribe');
        return found.length > 0 ? found : undefined;
      },
      10_000,
    );
    expect(published).toEqual([recorded[0]]);
    // The page now says so instead of offering the button again.
    expect(await (await fetch(url)).text()).toContain('was already unsubscribed');
  });

  it("the list's next message loses the unsubscribed recipient (DELRCPT); alone, it is discarded", async () => {
    const both = await sendThroughMilter(daemon.milterPort, buildNewsletter(), [SEND.recipient, OTHER]);
    expect(['a', 'c']).toContain(both.verdict);
    expect(both.recipientsRemoved).toEqual([`<${SEND.recipient}>`]);
    // With one recipient left, it gets its own per-person header.
    expect(added(both, 'List-Unsubscribe')).toHaveLength(1);
    const alone = await sendThroughMilter(daemon.milterPort, buildNewsletter(), [SEND.recipient.toUpperCase()]);
    expect(alone.verdict).toBe('d');
    expect(alone.headerChanges).toEqual([]);
  });

  it('another list still reaches them', async () => {
    const other = await sendThroughMilter(daemon.milterPort, withList(buildNewsletter(), 'another-list'));
    expect(['a', 'c']).toContain(other.verdict);
    expect(other.recipientsRemoved).toEqual([]);
    expect(added(other, 'List-Unsubscribe')).toHaveLength(1);
  });

  it('a message with several recipients gets no header of ours but keeps its own; stateless tokens carry the person', async () => {
    const shared = await sendThroughMilter(daemon.milterPort, withList(buildNewsletter(), 'third-list'), ['a@mail.example', 'b@mail.example']);
    expect(added(shared, 'List-Unsubscribe')).toEqual([]);
    const own = await sendThroughMilter(
      daemon.milterPort,
      withList(buildNewsletter(), 'third-list', [{ name: 'List-Unsubscribe', value: '<https://shop.example/leave>' }]),
    );
    expect(added(own, 'List-Unsubscribe')).toEqual([]);
    expect(own.headerChanges.filter((h) => h.name === 'List-Unsubscribe')).toEqual([]);

    const stateless = buildNewsletter();
    const headers = stateless.headers.map((h) =>
      h.name === 'X-GreenArrow-MailClass' ? { ...h, value: 's' } : h.name === 'X-GreenArrow-ListID' ? { ...h, value: 'stateless-list' } : h,
    );
    const result = await sendThroughMilter(daemon.milterPort, { ...stateless, headers }, ['s@mail.example']);
    const statelessUrl = oneClickUrl(result);
    const decoded = decodeUnsubscribeToken(await loadKeyring(daemon.spec.dataDir), statelessUrl.slice(statelessUrl.lastIndexOf('/') + 1));
    expect(decoded).toMatchObject({ ok: true, kind: 'stateless', recipient: 's@mail.example', listId: 'stateless-list', sendId: 's100525' });
    expect((await post(statelessUrl, 'List-Unsubscribe=One-Click&via=page')).status).toBe(200);
    expect(await unsubscribes(daemon, 's100525')).toMatchObject([{ recipient: 's@mail.example', listId: 'stateless-list', source: 'page' }]);
  });

  it('body links: the placeholder and a bare marked link lead to the page; a marked sender link is an unsubscribe click that suppresses no one', async () => {
    const boundary = 'b-unsub';
    const headers = [
      { name: 'From', value: SEND.sender },
      { name: 'To', value: 'body@mail.example' },
      { name: 'Subject', value: 'body links' },
      { name: 'MIME-Version', value: '1.0' },
      { name: 'Content-Type', value: `multipart/alternative; boundary="${boundary}"` },
      { name: 'X-GreenArrow-MailClass', value: 'a' },
      { name: 'X-GreenArrow-InstanceID', value: '9' },
      { name: 'X-GreenArrow-ListID', value: 'body-list' },
    ];
    const body = [
      `--${boundary}`,
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'Leave: https://trackmilter.invalid/unsubscribe',
      `--${boundary}`,
      'Content-Type: text/html; charset=us-ascii',
      '',
      '<a href="https://trackmilter.invalid/unsubscribe">ours</a> <a href="#" data-msys-unsubscribe="1">bare</a>',
      '<a href="https://shop.example/leave?u=42" data-msys-unsubscribe="1">theirs</a>',
      `--${boundary}--`,
      '',
    ].join('\r\n');
    const result = await sendThroughMilter(daemon.milterPort, { headers, body: Buffer.from(body), spec: { anchors: [], textUrls: [] } }, ['body@mail.example']);
    const out = result.body!.toString('latin1');
    expect(out).not.toContain('trackmilter.invalid');
    expect(out).not.toContain('data-msys-unsubscribe');
    const page = oneClickUrl(result);
    const hrefs = [...out.matchAll(/href="([^"]+)"/g)].map((m) => m[1]!);
    expect(hrefs.slice(0, 2)).toEqual([page, page]);
    expect(out).toContain(`Leave: ${page}`);
    expect(hrefs[2]).toMatch(/\/c\/[A-Za-z0-9_~]+\?u=42$/);

    expect((await fetch(page)).status).toBe(200);
    expect(await unsubscribes(daemon, 'a9')).toEqual([]);
    const click = await fetch(hrefs[2]!, { redirect: 'manual', headers: { 'User-Agent': BROWSER_UA } });
    expect(click.status).toBe(302);
    expect(click.headers.get('location')).toBe('https://shop.example/leave?u=42');
    const recorded = await unsubscribes(daemon, 'a9');
    // One browser click, with nothing else from that recipient: a person, as for any click (time since
    // delivery alone no longer makes a machine: http.fast_click_seconds is off by default).
    expect(recorded).toMatchObject([{ source: 'link', url: 'https://shop.example/leave?u=42', recipient: 'body@mail.example', machine: false }]);
    expect(await cli(['suppressions', 'list', '--list', 'body-list', ...daemon.cliFlags])).toBe('');
    const again = await sendThroughMilter(daemon.milterPort, { headers, body: Buffer.from(body), spec: { anchors: [], textUrls: [] } }, ['body@mail.example']);
    expect(again.verdict).not.toBe('d');
    expect(again.recipientsRemoved).toEqual([]);
  });

  it('trackmilter suppressions lists, adds, removes and imports', async () => {
    const listed = (await cli(['suppressions', 'list', '--json', ...daemon.cliFlags]))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(listed).toEqual([
      expect.objectContaining({ listId: SEND.listId, address: SEND.recipient, source: 'one-click', sendId: SEND.sendId }),
      expect.objectContaining({ listId: 'stateless-list', address: 's@mail.example', source: 'page' }),
    ]);
    expect(await cli(['suppressions', 'add', '--list', 'another-list', 'Reader@Mail.Example', ...daemon.cliFlags])).toBe('added 1\n');
    const blocked = await sendThroughMilter(daemon.milterPort, withList(buildNewsletter(), 'another-list'));
    expect(blocked.verdict).toBe('d');
    expect(await cli(['suppressions', 'remove', '--list', SEND.listId, SEND.recipient, ...daemon.cliFlags])).toBe('removed 1\n');
    const again = await sendThroughMilter(daemon.milterPort, buildNewsletter());
    expect(['a', 'c']).toContain(again.verdict);
    const file = path.join(await dirs.make(), 'import.csv');
    await writeFile(file, '# list,address\nimported-list,x@mail.example\n"imported-list","y@mail.example"\n\nother-import,x@mail.example\n');
    expect(await cli(['suppressions', 'import', file, ...daemon.cliFlags])).toBe('imported 3\n');
    const text = await cli(['suppressions', 'list', '--list', 'imported-list', ...daemon.cliFlags]);
    expect(
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.split('\t').slice(0, 2).concat(l.split('\t')[3]!)),
    ).toEqual([
      ['imported-list', 'x@mail.example', 'import'],
      ['imported-list', 'y@mail.example', 'import'],
    ]);
    const shared = await sendThroughMilter(daemon.milterPort, withList(buildNewsletter(), 'imported-list'), [
      'x@mail.example',
      'z@mail.example',
      'y@mail.example',
    ]);
    expect(shared.recipientsRemoved).toEqual(['<x@mail.example>', '<y@mail.example>']);
  });
  it('mail to the mailto: form records the unsubscribe from its token, and is not delivered', async () => {
    const nl = buildNewsletter();
    const headers = nl.headers.map((h) =>
      h.name === 'X-GreenArrow-InstanceID' ? { ...h, value: '77' } : h.name === 'X-GreenArrow-ListID' ? { ...h, value: 'mailto-list' } : h,
    );
    const sent = await sendThroughMilter(daemon.milterPort, { ...nl, headers }, ['m@mail.example']);
    const mailto = /<mailto:([^?>]+)\?subject=unsubscribe>/.exec(added(sent, 'List-Unsubscribe')[0] ?? '')?.[1];
    expect(mailto).toMatch(/^unsub\+[A-Za-z0-9_~]+@shop\.example$/);
    const request = {
      headers: [
        { name: 'From', value: 'm@mail.example' },
        { name: 'Subject', value: 'unsubscribe' },
      ],
      body: Buffer.from('\r\n'),
      spec: { anchors: [], textUrls: [] },
    };
    const answer = await sendThroughMilter(daemon.milterPort, request, [mailto!]);
    expect(answer.verdict).toBe('d');
    expect(await unsubscribes(daemon, 'a77')).toMatchObject([{ recipient: 'm@mail.example', listId: 'mailto-list', source: 'mailto' }]);
    const next = await sendThroughMilter(daemon.milterPort, { ...nl, headers }, ['m@mail.example']);
    expect(next.verdict).toBe('d');
  });
  it('a path-preserving click link whose original path starts with /u/ still redirects', async () => {
    const nl = buildNewsletter({ anchors: [{ href: 'https://shop.example/u/profile', tracked: true }], textUrls: [] });
    const headers = nl.headers.map((h) => (h.name === 'X-GreenArrow-MailClass' ? { ...h, value: 'p' } : h));
    const result = await sendThroughMilter(daemon.milterPort, { ...nl, headers }, ['path@mail.example']);
    const link = [
      ...result
        .body!.toString('latin1')
        .replace(/=\r\n/g, '')
        .replace(/=3D/g, '=')
        .matchAll(/href="([^"]+)"/g),
    ].map((m) => m[1]!)[0]!;
    expect(link).toMatch(/\/u\/profile-[A-Za-z0-9_~]+$/);
    const res = await fetch(link, { redirect: 'manual', headers: { 'User-Agent': BROWSER_UA } });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://shop.example/u/profile');
  });
  it('a message large enough for the worker threads gets the headers too, with a token that works', async () => {
    const nl = buildNewsletter();
    const headers = nl.headers.map((h) => (h.name === 'X-GreenArrow-ListID' ? { ...h, value: 'big-list' } : h));
    // Over milter.worker_min_bytes (128 KB): prepared on a worker thread.
    const body = Buffer.concat([nl.body.subarray(0, nl.body.length - 2), Buffer.from(`\r\n${'x'.repeat(70)}\r\n`.repeat(2000)), Buffer.from('\r\n')]);
    expect(body.length).toBeGreaterThan(131_072);
    const onWorkers = async (): Promise<number> => (await scrape(daemon.baseUrl, 'trackmilter_tracking_worker_messages_total')) ?? 0;
    const before = await onWorkers();
    const result = await sendThroughMilter(daemon.milterPort, { ...nl, headers, body }, ['big@mail.example']);
    expect(await onWorkers()).toBe(before + 1);
    const bigUrl = oneClickUrl(result);
    expect(added(result, 'List-Unsubscribe-Post')).toEqual(['List-Unsubscribe=One-Click']);
    expect((await post(bigUrl, 'List-Unsubscribe=One-Click')).status).toBe(200);
    const listed = await cli(['suppressions', 'list', '--list', 'big-list', ...daemon.cliFlags]);
    expect(listed).toMatch(/^big-list\tbig@mail\.example\t/);
  });
});
