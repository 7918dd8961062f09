// The dashboard in a real headless Chromium against a real `serve` daemon: mail through its milter,
// clicks and opens over HTTP, then the URL `trackmilter dashboard` prints logs the browser in. The
// numbers on the pages must equal `report --json`; the click map's badges must equal the human
// clicks this test made on each HTML link. Screenshots go to .tmp/artifacts/dashboard/.
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CLI_BUILT, DaemonProcess, TempDirs, cli } from '../app/helpers/processes.js';
import { BROWSER_UA, SEND, buildNewsletter, pairClicks, readRewritten, type ExpectedClick } from '../app/helpers/newsletter.js';
import { browse, sendThroughMilter } from '../app/helpers/traffic.js';
import { ARTIFACTS_DIR, chromiumUnavailableReason, launchChromium } from '../helpers/chromium.js';

const missing = !CLI_BUILT ? 'dist/cli/main.js is missing: run npm run build' : chromiumUnavailableReason();
if (missing) console.warn(`dashboard browser test skipped: ${missing}`);

interface Counts {
  opens: number;
  uniqueOpens: number;
  clicks: number;
  uniqueClicks: number;
  bounces: number;
  complaints: number;
  unsubscribes: number;
}
interface ReportJson {
  messages: number;
  all: Counts;
  human: Counts;
}
const FIELDS = ['opens', 'uniqueOpens', 'clicks', 'uniqueClicks', 'bounces', 'complaints', 'unsubscribes'] as const;
const RECIPIENTS = ['ann@mail.example', 'bob@mail.example', 'cay@mail.example'];

const number = (text: string | null): number => Number((text ?? '').replace(/,/g, '').trim());

describe.skipIf(missing !== undefined)('dashboard in Chromium', () => {
  const dirs = new TempDirs();
  let daemon: DaemonProcess;
  let chromium: Awaited<ReturnType<typeof launchChromium>>;
  let browser: Browser;
  /** Human clicks this test made on each HTML position. */
  const humanClicksAt = new Map<number, number>();

  beforeAll(async () => {
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    // The test clicks several links right after sending, one after the other, which reads as a scanner's
    // sweep (machine.burst_*): bursts off, so that its clicks are people's.
    daemon = await DaemonProcess.start({ role: 'serve', dataDir: await dirs.make('dash'), configToml: '[machine]\nburst_min_links = 1000\n' });
    const clicksOf: ExpectedClick[][] = [];
    for (const recipient of RECIPIENTS) {
      const message = buildNewsletter();
      const result = await sendThroughMilter(daemon.milterPort, message, [recipient]);
      const rewritten = readRewritten(result.body!, daemon.baseUrl);
      clicksOf.push(pairClicks(rewritten, message.spec));
      // Ann and Bob open (Bob twice), Cay does not.
      if (recipient !== 'cay@mail.example') await browse(rewritten.pixels[0]!);
      if (recipient === 'bob@mail.example') await browse(rewritten.pixels[0]!);
    }
    const click = async (who: number, part: 'h' | 't', position: number, how: 'GET' | 'HEAD' = 'GET') => {
      const link = clicksOf[who]!.find((c) => c.part === part && c.position === position)!;
      const answer = await browse(link.link, { method: how, userAgent: BROWSER_UA });
      expect(answer.status).toBe(302);
      if (part === 'h' && how === 'GET') humanClicksAt.set(position, (humanClicksAt.get(position) ?? 0) + 1);
    };
    await click(0, 'h', 1);
    await click(0, 'h', 2);
    await click(0, 'h', 3);
    await click(1, 'h', 1);
    await click(1, 'h', 1);
    await click(1, 't', 1);
    await click(2, 'h', 1);
    await click(2, 'h', 5);
    // A HEAD request is a machine (link checkers): on the page, not in the click map's human counts.
    await click(2, 'h', 2, 'HEAD');
    chromium = await launchChromium();
    browser = chromium.browser;
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    await daemon?.stop();
    await dirs.cleanup();
  });

  async function report(): Promise<ReportJson> {
    return JSON.parse(await cli(['report', '--sendid', SEND.sendId, '--json', ...daemon.cliFlags])) as ReportJson;
  }

  async function loginUrl(): Promise<string> {
    const out = (await cli(['dashboard', ...daemon.cliFlags])).trim().split('\n');
    return out[out.length - 1]!;
  }

  async function cell(page: Page, scope: string, field: string): Promise<number> {
    return number(await page.locator(`${scope} [data-field="${field}"]`).first().textContent());
  }

  it('without the session every /admin/ page is 401; the printed URL logs in once and leaves no code in the address', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    for (const p of ['/admin/', `/admin/send?id=${SEND.sendId}`, `/admin/clickmap?id=${SEND.sendId}`, '/admin/assets/dashboard.js']) {
      expect((await page.goto(daemon.baseUrl + p))!.status(), p).toBe(401);
    }
    const url = await loginUrl();
    expect(url).toMatch(new RegExp(`^${daemon.baseUrl}/admin/login\\?code=[A-Za-z0-9_-]+$`));
    const token = (await import('node:fs')).readFileSync(path.join(daemon.spec.dataDir, 'admin.token'), 'utf8').trim();
    expect(url).not.toContain(token);
    expect((await page.goto(url))!.status()).toBe(200);
    expect(page.url()).toBe(`${daemon.baseUrl}/admin/`);
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ name: 'trackmilter_session', httpOnly: true, sameSite: 'Strict', path: '/admin/' });
    // The code is spent: a second browser with the same URL is refused.
    const other = await browser.newContext();
    expect((await (await other.newPage()).goto(url))!.status()).toBe(401);
    await other.close();
    await context.close();
  });

  it('the sends list, the send page and the click map show the numbers report --json gives and the clicks made', async () => {
    const expected = await report();
    expect(expected.all.clicks).toBe(9);
    expect(expected.human.clicks).toBe(8);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(msg.text());
    });
    // Nothing may come from another origin: every request the pages make stays on the daemon.
    const requested: string[] = [];
    page.on('request', (req) => requested.push(req.url()));
    await page.goto(await loginUrl());

    const row = `tr[data-send="${SEND.sendId}"]`;
    expect(await cell(page, row, 'messages')).toBe(expected.messages);
    for (const side of ['all', 'human'] as const) {
      expect(await cell(page, row, `${side}.uniqueOpens`)).toBe(expected[side].uniqueOpens);
      expect(await cell(page, row, `${side}.uniqueClicks`)).toBe(expected[side].uniqueClicks);
      expect(await cell(page, row, `${side}.unsubscribes`)).toBe(expected[side].unsubscribes);
    }
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'sends.png'), fullPage: true });

    await page.locator(`${row} a`).click();
    await page.waitForSelector('html[data-charts-ready="true"]');
    expect(page.url()).toBe(`${daemon.baseUrl}/admin/send?id=${SEND.sendId}`);
    expect(await cell(page, '.facts', 'messages')).toBe(expected.messages);
    for (const field of FIELDS) {
      expect(await cell(page, '#summary', `all.${field}`), `all.${field}`).toBe(expected.all[field]);
      expect(await cell(page, '#summary', `human.${field}`), `human.${field}`).toBe(expected.human[field]);
    }
    // Two charts drawn by the bundled uPlot, each with a canvas.
    expect(await page.locator('.chart canvas').count()).toBe(2);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'send.png'), fullPage: true });

    await page.locator('a', { hasText: 'click map' }).click();
    await page.waitForURL(/\/admin\/clickmap\?id=/);
    const frame = page.frameLocator('iframe.clickmap');
    await frame.locator('.tm-badge').first().waitFor();
    // Read in the frame: position, human clicks, the badge's text.
    // (The elements' type spelled out: the tests are typed for Node, without the DOM.)
    type Badge = { getAttribute(name: string): string | null; textContent: string | null };
    const badges = await frame
      .locator('.tm-badge')
      .evaluateAll((els: Badge[]) =>
        els.map((e): [number, number, string] => [Number(e.getAttribute('data-position')), Number(e.getAttribute('data-clicks')), e.textContent ?? '']),
      );
    // Every tracked HTML link of the newsletter has a badge, in document order.
    expect(badges.map((b) => b[0])).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const [position, clicks, text] of badges) {
      expect(clicks, `position ${position}`).toBe(humanClicksAt.get(position) ?? 0);
      expect(text).toContain(`${((clicks / expected.human.clicks) * 100).toFixed(1)}%`);
    }
    // Inside the frame nothing runs and nothing links anywhere.
    expect(await frame.locator('[href]').count()).toBe(0);
    expect(await frame.locator('script').count()).toBe(0);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'clickmap.png'), fullPage: true });
    const origins = new Set(requested.map((u) => new URL(u).origin));
    expect([...origins]).toEqual([daemon.baseUrl]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('through a tunnel to another local port (as ssh -L gives), --base logs in and the pages stay on that origin', async () => {
    // A TCP forwarder standing in for the SSH tunnel: localhost:PORT -> the daemon's listener.
    const tunnel = net.createServer((client) => {
      const upstream = net.connect(daemon.httpPort, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => tunnel.listen(0, '127.0.0.1', resolve));
    const base = `http://localhost:${(tunnel.address() as net.AddressInfo).port}`;
    try {
      const out = (await cli(['dashboard', '--base', base, ...daemon.cliFlags])).trim().split('\n');
      const url = out[out.length - 1]!;
      expect(url.startsWith(`${base}/admin/login?code=`)).toBe(true);
      const context = await browser.newContext();
      const page = await context.newPage();
      const requested: string[] = [];
      page.on('request', (req) => requested.push(req.url()));
      expect((await page.goto(url))!.status()).toBe(200);
      await page.locator(`tr[data-send="${SEND.sendId}"] a`).click();
      await page.waitForSelector('html[data-charts-ready="true"]');
      expect(page.url()).toBe(`${base}/admin/send?id=${SEND.sendId}`);
      expect(new Set(requested.map((u) => new URL(u).origin))).toEqual(new Set([base]));
      await context.close();
    } finally {
      await new Promise((resolve) => tunnel.close(resolve));
    }
  });

  it('the send page fits a phone width: no sideways scrolling of the page itself', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
    const page = await context.newPage();
    await page.goto(await loginUrl());
    await page.goto(`${daemon.baseUrl}/admin/send?id=${SEND.sendId}`);
    await page.waitForSelector('html[data-charts-ready="true"]');
    // Evaluated in the page (as text: the tests are typed for Node, without the DOM).
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(1);
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'send-phone.png'), fullPage: true });
    await context.close();
  });
});
