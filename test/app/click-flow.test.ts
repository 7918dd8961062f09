// A newsletter through a real `serve` daemon (its own process, LevelDB on disk): the milter rewrites
// it, every rewritten link is followed over real HTTP, and `trackmilter report` / `events` show what
// happened. Expected destinations come from the message as written, paired with the rewritten links
// by their order in each part, never from the daemon's own tables.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageResult } from '../../src/milter/client.js';
import { decodeInfoHeader, loadKeyring } from '../../src/tokens/index.js';
import { CLI_BUILT, DaemonProcess, TempDirs, cli } from './helpers/processes.js';
import {
  BROWSER_UA,
  SEND,
  buildNewsletter,
  pairClicks,
  readRewritten,
  splitMultipart,
  type ExpectedClick,
  type Newsletter,
  type RewrittenNewsletter,
} from './helpers/newsletter.js';
import type { LinkStyle } from '../../src/tokens/url-style.js';
import { browse, isOnePixelGif, sendThroughMilter, type HttpAnswer } from './helpers/traffic.js';
import { parseCsv } from './helpers/csv.js';

interface ReportCounts {
  opens: number;
  uniqueOpens: number;
  clicks: number;
  uniqueClicks: number;
  links: Array<{ url: string; linkName: string; clicks: number; uniqueClicks: number }>;
}
interface ReportJson {
  sendId: string;
  messages: number;
  all: ReportCounts;
  human: ReportCounts;
}
type EventJson = Record<string, unknown>;

const CONTROL_HEADERS = ['X-GreenArrow-MailClass', 'X-GreenArrow-InstanceID', 'X-GreenArrow-ListID', 'X-GreenArrow-Click-Tracking-ID'];
const EVENT_FIELDS = ['type', 'sendId', 'listId', 'recipient', 'emailCode', 'url', 'position', 'part', 'userAgent', 'ip', 'machine'];

async function report(daemon: DaemonProcess): Promise<ReportJson> {
  return JSON.parse(await cli(['report', '--sendid', SEND.sendId, '--json', ...daemon.cliFlags])) as ReportJson;
}

async function eventLines(daemon: DaemonProcess): Promise<EventJson[]> {
  const out = await cli(['events', '--sendid', SEND.sendId, '--format', 'json', ...daemon.cliFlags]);
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as EventJson);
}

/** Clicks per link as a report must count them: URL up to '?', and link name. */
function expectedClicksPerLink(clicks: ExpectedClick[]): Array<{ url: string; linkName: string; clicks: number }> {
  const counts = new Map<string, { url: string; linkName: string; clicks: number }>();
  for (const c of clicks) {
    const url = c.original.split('?')[0]!;
    const key = JSON.stringify([url, c.linkName]);
    const entry = counts.get(key) ?? { url, linkName: c.linkName, clicks: 0 };
    entry.clicks += 1;
    counts.set(key, entry);
  }
  return sortLinks([...counts.values()]);
}

function sortLinks<T extends { url: string; linkName: string }>(links: T[]): T[] {
  return [...links].sort((a, b) => a.url.localeCompare(b.url) || a.linkName.localeCompare(b.linkName));
}

/** A message sent through a fresh daemon, its links paired with the originals. */
async function deliverNewsletter(
  daemon: DaemonProcess,
  style: LinkStyle = 'compact',
): Promise<{ message: Newsletter; result: MessageResult; rewritten: RewrittenNewsletter; clicks: ExpectedClick[] }> {
  const message = buildNewsletter();
  const result = await sendThroughMilter(daemon.milterPort, message);
  if (!result.body) throw new Error(`the daemon returned no body (verdict ${result.verdict}); ${daemon.diagnostics()}`);
  const rewritten = readRewritten(result.body, daemon.baseUrl, style);
  return { message, result, rewritten, clicks: pairClicks(rewritten, message.spec) };
}

describe.skipIf(!CLI_BUILT)('click flow: milter -> links -> redirector -> report (bursts off: clicks are human)', () => {
  const dirs = new TempDirs();
  let daemon: DaemonProcess;
  let delivered: Awaited<ReturnType<typeof deliverNewsletter>>;
  const answers = new Map<string, HttpAnswer>();
  let pixel: HttpAnswer;

  beforeAll(async () => {
    const dataDir = path.join(await dirs.make(), 'data');
    // Every link clicked in a row within a second is what a scanner does (machine.burst_*): off here, so
    // that the counts of a person's clicks can be checked.
    daemon = await DaemonProcess.start({ role: 'serve', dataDir, configToml: '[machine]\nburst_min_links = 1000\n' });
    delivered = await deliverNewsletter(daemon);
    // A person reading the message: every link once, in order, then the images load.
    for (const click of delivered.clicks) answers.set(click.link, await browse(click.link));
    pixel = await browse(delivered.rewritten.pixels[0]!);
  });
  afterAll(async () => {
    await daemon?.stop();
    await dirs.cleanup();
  });

  it('accepts the message, removes the control headers and adds an X-Mailer-Info-Extra naming recipient and send', async () => {
    const { result } = delivered;
    // accept or continue: both let the message go on, with the changes
    expect(['a', 'c']).toContain(result.verdict);
    for (const name of CONTROL_HEADERS) {
      expect(result.headerChanges, name).toContainEqual({ op: 'change', index: 1, name, value: '' });
    }
    const info = result.headerChanges.filter((h) => h.op === 'add' && h.name.toLowerCase() === 'x-mailer-info-extra');
    expect(info).toHaveLength(1);
    const keyring = await loadKeyring(daemon.spec.dataDir);
    const decoded = decodeInfoHeader(keyring, info[0]!.value);
    expect(decoded).toMatchObject({ ok: true, recipient: SEND.recipient, sendId: SEND.sendId, listId: SEND.listId, emailCode: SEND.emailCode });
  });

  it('rewrites exactly the tracked links of both parts, keeps quoted-printable and adds one pixel', () => {
    const { message, rewritten } = delivered;
    for (const part of rewritten.parts) {
      expect(part.transferEncoding).toBe('quoted-printable');
      for (const line of part.raw.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    }
    // pairClicks has checked the counts; the links left alone must still be there, unchanged.
    for (const anchor of message.spec.anchors.filter((a) => !a.tracked)) expect(rewritten.html.text).toContain(`href="${anchor.href}"`);
    expect(rewritten.pixels).toHaveLength(1);
    // The original parts were valid UTF-8 and stay so.
    expect(rewritten.html.text).toContain('Grüße from the workshop');
    expect(rewritten.text.text).toContain('Story 1 (Grüße!)');
    expect(splitMultipart(message.body).map((p) => p.contentType)).toEqual(rewritten.parts.map((p) => p.contentType));
  });

  it('redirects every link (302, not cacheable) to exactly the original URL at its place', () => {
    for (const click of delivered.clicks) {
      // The test data is already in WHATWG form, so "exactly" leaves no room for normalisation.
      expect(new URL(click.original).href).toBe(click.original);
      const answer = answers.get(click.link)!;
      expect(answer.status, click.link).toBe(302);
      expect(answer.cacheControl).toContain('no-store');
      expect(answer.location, `${click.part}${click.position}`).toBe(click.original);
    }
  });

  it('answers the pixel with a 43-byte image/gif', () => {
    expect(pixel.status).toBe(200);
    expect(pixel.contentType).toBe('image/gif');
    expect(pixel.cacheControl).toMatch(/no-store|no-cache/);
    expect(isOnePixelGif(pixel.body)).toBe(true);
  });

  it('report --json: one message, every click, one unique clicker, one open, clicks per URL up to "?" and link name', async () => {
    const r = await report(daemon);
    const { clicks } = delivered;
    expect(r.sendId).toBe(SEND.sendId);
    expect(r.messages).toBe(1);
    for (const counts of [r.all, r.human]) {
      expect(counts).toMatchObject({ clicks: clicks.length, uniqueClicks: 1, opens: 1, uniqueOpens: 1 });
      expect(sortLinks(counts.links.map(({ url, linkName, clicks: n }) => ({ url, linkName, clicks: n })))).toEqual(expectedClicksPerLink(clicks));
      for (const link of counts.links) expect(link.uniqueClicks).toBe(1);
    }
  });

  it('events --format json: one line per click and open with who, where and how', async () => {
    const events = await eventLines(daemon);
    const { clicks } = delivered;
    expect(events).toHaveLength(clicks.length + 1);
    for (const e of events) {
      for (const field of EVENT_FIELDS) expect(e, field).toHaveProperty(field);
      expect(e).toMatchObject({
        sendId: SEND.sendId,
        listId: SEND.listId,
        recipient: SEND.recipient,
        emailCode: SEND.emailCode,
        userAgent: BROWSER_UA,
        ip: '127.0.0.1',
        machine: false,
      });
    }
    const opens = events.filter((e) => e.type === 'open');
    expect(opens).toHaveLength(1);
    const clickEvents = events.filter((e) => e.type === 'click');
    for (const click of clicks) {
      const matching = clickEvents.filter((e) => e.part === click.part && e.position === click.position);
      expect(matching, `${click.part}${click.position}`).toHaveLength(1);
      expect(matching[0]).toMatchObject({ url: click.original, linkName: click.linkName });
    }
    // In time order, as the person clicked.
    const times = events.map((e) => Date.parse(String(e.time)));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('events --since (inclusive) and --until (exclusive) select by time', async () => {
    const all = await eventLines(daemon);
    const middle = String(all[Math.floor(all.length / 2)]!.time);
    const since = await cli(['events', '--sendid', SEND.sendId, '--since', middle, ...daemon.cliFlags]);
    const until = await cli(['events', '--sendid', SEND.sendId, '--until', middle, ...daemon.cliFlags]);
    const ids = (out: string): string[] =>
      out
        .split('\n')
        .filter(Boolean)
        .map((line) => String((JSON.parse(line) as EventJson).id));
    const atOrAfter = all.filter((e) => Date.parse(String(e.time)) >= Date.parse(middle)).map((e) => String(e.id));
    const before = all.filter((e) => Date.parse(String(e.time)) < Date.parse(middle)).map((e) => String(e.id));
    expect(ids(since)).toEqual(atOrAfter);
    expect(ids(until)).toEqual(before);
    expect(atOrAfter.length).toBeGreaterThan(0);
  });

  it('events --format csv: a header naming the fields, then the same events as the JSON lines', async () => {
    const [csv, json] = await Promise.all([cli(['events', '--sendid', SEND.sendId, '--format', 'csv', ...daemon.cliFlags]), eventLines(daemon)]);
    const [header, ...rows] = parseCsv(csv);
    for (const field of EVENT_FIELDS) expect(header).toContain(field);
    expect(rows).toHaveLength(json.length);
    rows.forEach((row, i) => {
      expect(row).toHaveLength(header!.length);
      const fromCsv = Object.fromEntries(header!.map((name, col) => [name, row[col]]));
      for (const field of EVENT_FIELDS) expect(fromCsv[field], `${field} of row ${i}`).toBe(String(json[i]![field]));
    });
  });
});

describe.skipIf(!CLI_BUILT)('click flow with the default settings: links clicked one after the other right away are a burst', () => {
  const dirs = new TempDirs();
  let daemon: DaemonProcess;
  let delivered: Awaited<ReturnType<typeof deliverNewsletter>>;

  beforeAll(async () => {
    const dataDir = path.join(await dirs.make(), 'data');
    daemon = await DaemonProcess.start({ role: 'serve', dataDir });
    delivered = await deliverNewsletter(daemon);
  });
  afterAll(async () => {
    await daemon?.stop();
    await dirs.cleanup();
  });

  it('flags the clicks (the first once the second comes) and HEAD requests as machines, still redirecting them; the open stays human', async () => {
    const [first, second] = delivered.clicks;
    for (const click of [first!, second!]) {
      const answer = await browse(click.link);
      expect(answer.status).toBe(302);
      expect(answer.location).toBe(click.original);
    }
    const head = await browse(second!.link, { method: 'HEAD' });
    expect(head.status).toBe(302);
    expect(head.location).toBe(second!.original);
    // The person opens the message through Gmail's image proxy a moment later: not the scan's run, not its client.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const gmail = 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)';
    expect((await browse(delivered.rewritten.pixels[0]!, { userAgent: gmail })).status).toBe(200);

    const events = await eventLines(daemon);
    const clickEvents = events.filter((e) => e.type === 'click');
    expect(clickEvents).toHaveLength(3);
    for (const e of clickEvents) {
      expect(e.machine).toBe(true);
      expect(String(e.machineReason)).toContain('burst');
    }
    expect(clickEvents.filter((e) => String(e.machineReason).includes('head'))).toHaveLength(1);
    expect(events.filter((e) => e.type === 'open')).toMatchObject([{ machine: false }]);

    // The aggregates were corrected in the batch that recorded the later verdicts `events` shows.
    const r = await report(daemon);
    expect(r.all).toMatchObject({ clicks: 3, uniqueClicks: 1, opens: 1 });
    expect(r.human).toMatchObject({ clicks: 0, uniqueClicks: 0, opens: 1, links: [] });
  });
});

describe.skipIf(!CLI_BUILT)('click flow with path-preserving links (tracking.style = "path")', () => {
  const dirs = new TempDirs();
  let daemon: DaemonProcess;

  beforeAll(async () => {
    const dataDir = path.join(await dirs.make(), 'data');
    daemon = await DaemonProcess.start({ role: 'serve', dataDir, configToml: '[tracking]\nstyle = "path"\n' });
  });
  afterAll(async () => {
    await daemon?.stop();
    await dirs.cleanup();
  });

  it('every link shows the original path and redirects to exactly the original URL', async () => {
    const { clicks } = await deliverNewsletter(daemon, 'path');
    for (const click of clicks) {
      expect(new URL(click.link).pathname.startsWith(new URL(click.original).pathname.replace(/\/$/, '')), click.link).toBe(true);
      const answer = await browse(click.link);
      expect(answer.status, click.link).toBe(302);
      expect(answer.location, `${click.part}${click.position}`).toBe(click.original);
    }
    const events = await eventLines(daemon);
    expect(events.filter((e) => e.type === 'click')).toHaveLength(clicks.length);
  });
});
