/**
 * The dashboard and the report on a big send, against a LevelDB scan of the same events.
 *
 *   npm run bench:report [-- --events N] [--runs R]      (default 1,000,000 events, 5 runs each)
 *
 * Fills a store with one send of N events (opens, clicks on 20 links, bounces, complaints,
 * unsubscribes; a sixth machines; over 7 days, most in the first hours) through the store's own
 * recordEvents, so the running aggregates are folded as in production. Then:
 *   - the reference: a report computed by scanning the send's events (summarize over eventsBySendId,
 *     what /admin/report did before the aggregates), in this process;
 *   - the built daemon (`serve`) on that data: time to first byte and to the last byte of the send page,
 *     the sends list, the click map and GET /admin/report (what `report --json` reads), over HTTP;
 *   - with Chromium present (/usr/bin/chromium), the send page in a real browser: time to first byte
 *     and until its charts are drawn (the page complete).
 * Prints medians, and checks that the aggregated report equals the scanned one.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { summarize } from '../src/reports/report.js';
import { LevelTrackStore, type TrackEvent } from '../src/store/index.js';
import { CLICK_MAP_ORIGIN } from '../src/tracking/click-map-capture.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
const { values } = parseArgs({ options: { events: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '5' } } });
const EVENTS = Number(values.events);
const RUNS = Number(values.runs);
const SEND = 'b2026spring';
const T0 = Date.UTC(2026, 3, 1, 8, 0, 0);
const RECIPIENTS = Math.max(1, Math.floor(EVENTS / 4));

/** A deterministic pseudo-random sequence, so every run fills the same store. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function eventAt(i: number, random: () => number): TrackEvent {
  const r = random();
  const type: TrackEvent['type'] = r < 0.6 ? 'open' : r < 0.955 ? 'click' : r < 0.975 ? 'bounce' : r < 0.98 ? 'complaint' : 'unsubscribe';
  const who = Math.floor(random() * RECIPIENTS);
  // Most events in the first hours, a long tail over the week.
  const offset = Math.min(7 * 86_400_000 - 1, Math.floor(-Math.log(1 - random()) * 6 * 3_600_000));
  const link = Math.floor(random() * random() * 20) + 1;
  const machine = random() < 1 / 6;
  const id = createHash('sha256').update(`e${i}`).digest().subarray(0, 8);
  return {
    id,
    time: new Date(T0 + offset),
    type,
    sendId: SEND,
    listId: 'list-1',
    recipient: `subscriber${who}@mail.example`,
    emailCode: `ec${who}`,
    url: type === 'click' ? `https://shop.example/spring/item-${link}?sub=${who}` : '',
    linkName: type === 'click' && link <= 5 ? `hero${link}` : '',
    position: type === 'click' ? link : 0,
    part: type === 'click' ? (link === 20 ? 't' : 'h') : '',
    ip: `198.51.100.${who % 250}`,
    userAgent: machine ? 'Mozilla/5.0 (compatible; LinkScanner/2.1)' : 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0',
    machine,
    ...(machine ? { machineReason: random() < 0.5 ? 'scanner' : 'apple-mpp' } : {}),
    ...(type === 'bounce' ? { details: { classification: random() < 0.7 ? 'hard' : 'soft', status: '5.1.1' } } : {}),
    ...(type === 'complaint' ? { details: { feedbackType: 'abuse' } } : {}),
  };
}

async function fill(dir: string): Promise<number> {
  const store = new LevelTrackStore(dir);
  await store.open();
  const random = rng(2026);
  const started = performance.now();
  const messages = Math.min(RECIPIENTS, 50_000);
  for (let m = 0; m < messages; m += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, messages - m) }, (_, k) =>
        store.recordMessage(
          {
            id: createHash('sha256')
              .update(`m${m + k}`)
              .digest()
              .subarray(0, 9),
            recipients: [`subscriber${m + k}@mail.example`],
            emailCode: `ec${m + k}`,
            sendId: SEND,
            listId: 'list-1',
            queueId: `Q${m + k}`,
            time: new Date(T0 + m + k),
          },
          [],
        ),
      ),
    );
  }
  // Calls of 100 events, 16 in flight: the redirector's groups are of this order under load.
  const perCall = 100;
  for (let i = 0; i < EVENTS;) {
    const calls: Promise<void>[] = [];
    for (let c = 0; c < 16 && i < EVENTS; c++) {
      const batch: TrackEvent[] = [];
      for (let k = 0; k < perCall && i < EVENTS; k++, i++) batch.push(eventAt(i, random));
      calls.push(store.recordEvents(batch));
    }
    await Promise.all(calls);
  }
  const seconds = (performance.now() - started) / 1000;
  // The HTML the milter would have kept for the click map: 19 marked links in the HTML part.
  const items = Array.from(
    { length: 19 },
    (_, i) => `<p><a href="${CLICK_MAP_ORIGIN}/h/${i + 1}?u=${encodeURIComponent(`https://shop.example/spring/item-${i + 1}`)}">Item ${i + 1}</a></p>`,
  );
  await store.aggregates.keepHtml(SEND, `<html><head><title>Spring</title></head><body>${items.join('\n')}</body></html>`);
  await store.close();
  return seconds;
}

/** JSON with object keys sorted, so records filled in another order compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number): string => `${x.toFixed(x < 10 ? 1 : 0)} ms`;

async function scanReference(dir: string): Promise<{ times: number[]; report: unknown }> {
  const store = new LevelTrackStore(dir);
  await store.open();
  const times: number[] = [];
  let report: unknown;
  for (let r = 0; r < Math.min(RUNS, 3); r++) {
    const t = performance.now();
    report = await summarize(SEND, await store.countMessages(SEND), store.eventsBySendId(SEND));
    times.push(performance.now() - t);
  }
  await store.close();
  return { times, report };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Time to first byte and to the last byte of one GET. */
function timedGet(
  port: number,
  target: string,
  headers: Record<string, string>,
): Promise<{ ttfb: number; total: number; status: number; body: string; setCookie?: string }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: target, headers, agent: false }, (res) => {
      let ttfb = 0;
      const chunks: Buffer[] = [];
      res.once('data', () => (ttfb = performance.now() - start));
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          ttfb,
          total: performance.now() - start,
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          ...(res.headers['set-cookie'] ? { setCookie: res.headers['set-cookie'][0]! } : {}),
        }),
      );
    });
    req.on('error', reject);
  });
}

function post(port: number, target: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: target, method: 'POST', headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

async function startDaemon(dataDir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const milter = await freePort();
  const child = spawn(process.execPath, [CLI, 'serve', '--data', dataDir, '--http', `127.0.0.1:${port}`, '--milter', `inet:127.0.0.1:${milter}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('"msg":"ready"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`daemon exited ${code}: ${out}`)));
  });
  child.stdout.resume();
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function browserTimes(port: number, cookie: string, target: string): Promise<{ ttfb: number[]; complete: number[] } | string> {
  const executable = process.env.TRACKMILTER_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(executable)) return `${executable} missing`;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: executable,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const [name, value] = cookie.split('=') as [string, string];
    await context.addCookies([{ name, value, domain: '127.0.0.1', path: '/admin/', httpOnly: true, sameSite: 'Strict' }]);
    const page = await context.newPage();
    const ttfb: number[] = [];
    const complete: number[] = [];
    for (let r = 0; r < RUNS + 1; r++) {
      await page.goto(`http://127.0.0.1:${port}${target}`);
      await page.waitForSelector('html[data-charts-ready="true"]');
      // Run in the page (a DOM script, as text: this file is typed for Node).
      const t = await page.evaluate<{ ttfb: number; complete: number }>(
        "(() => { const nav = performance.getEntriesByType('navigation')[0]; return { ttfb: nav.responseStart - nav.startTime, complete: performance.now() - nav.startTime }; })()",
      );
      if (r === 0) continue; // the first load fills the browser's cache of the assets
      ttfb.push(t.ttfb);
      complete.push(t.complete);
    }
    return { ttfb, complete };
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error('dist/cli/main.js missing: npm run build');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tm-bench-report-'));
  try {
    console.log(
      `bench:report: one send of ${EVENTS.toLocaleString('en-US')} events, ${RECIPIENTS.toLocaleString('en-US')} recipients; medians of ${RUNS} runs`,
    );
    const fillSeconds = await fill(path.join(dataDir, 'db'));
    console.log(
      `filled through recordEvents (aggregates folded as written): ${fillSeconds.toFixed(1)} s, ${Math.round(EVENTS / fillSeconds).toLocaleString('en-US')} events/s`,
    );
    const scan = await scanReference(path.join(dataDir, 'db'));
    console.log(`reference, report by a LevelDB scan of the events:   ${ms(median(scan.times))}`);

    const daemon = await startDaemon(dataDir);
    try {
      const token = readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
      const bearer = { Authorization: `Bearer ${token}` };
      const { code } = JSON.parse(await post(daemon.port, '/admin/login-code', bearer)) as { code: string };
      const login = await timedGet(daemon.port, `/admin/login?code=${code}`, {});
      const cookie = login.setCookie!.split(';')[0]!;
      const targets: [string, string, Record<string, string>][] = [
        ['GET /admin/report (report --json)', `/admin/report?sendid=${SEND}`, bearer],
        ['send page', `/admin/send?id=${SEND}`, { Cookie: cookie }],
        ['sends list', '/admin/', { Cookie: cookie }],
        ['click map page', `/admin/clickmap?id=${SEND}`, { Cookie: cookie }],
      ];
      let aggregated: unknown;
      for (const [label, target, headers] of targets) {
        const runs = [];
        for (let r = 0; r < RUNS + 1; r++) runs.push(await timedGet(daemon.port, target, headers));
        const measured = runs.slice(1); // the first warms LevelDB's block cache
        if (target.startsWith('/admin/report')) aggregated = JSON.parse(measured[0]!.body);
        const ratio = median(scan.times) / median(measured.map((m) => m.total));
        console.log(
          `${label.padEnd(34)} status ${measured[0]!.status}  first byte ${ms(median(measured.map((m) => m.ttfb))).padStart(7)}  complete ${ms(median(measured.map((m) => m.total))).padStart(7)}  (${ratio.toFixed(0)}x faster than the scan)`,
        );
      }
      const browser = await browserTimes(daemon.port, cookie, `/admin/send?id=${SEND}`);
      if (typeof browser === 'string') console.log(`send page in Chromium: skipped (${browser})`);
      else
        console.log(
          `send page in Chromium                first byte ${ms(median(browser.ttfb)).padStart(7)}  charts drawn ${ms(median(browser.complete)).padStart(7)}`,
        );
      const same = canonical(aggregated) === canonical(scan.report);
      console.log(`aggregated report equals the scan's: ${same ? 'yes' : 'NO'}`);
      if (!same) process.exitCode = 1;
    } finally {
      await daemon.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
