// A click that got its redirect is on disk: clients hammer the links of a rewritten message, the
// daemon is SIGKILLed in the middle, restarted on the same data dir, and its events must hold at least
// every click a client saw a 302 for (more is allowed: a response can be lost in the kill after its
// event was written).
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BUILT, DaemonProcess, TempDirs, cli } from './helpers/processes.js';
import { BROWSER_UA, SEND, buildNewsletter, pairClicks, readRewritten, type ExpectedClick } from './helpers/newsletter.js';
import { browse, sendThroughMilter } from './helpers/traffic.js';

const CLIENT_LOOPS = 8;
const LOAD_BEFORE_KILL_MS = 1_500;

interface ReceivedRedirect {
  url: string;
  /** When the client had the 302 in hand. */
  at: number;
}

function get(agent: http.Agent, url: string): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { 'User-Agent': BROWSER_UA } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function countBy<T>(items: T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

describe.skipIf(!CLI_BUILT)('durability: SIGKILL under load loses no click that was redirected', () => {
  const dirs = new TempDirs();
  let daemon: DaemonProcess;
  let clicks: ExpectedClick[];
  const received: ReceivedRedirect[] = [];
  const failuresAfterKill: string[] = [];
  const unexpectedAnswers: string[] = [];
  let killedAt = 0;

  beforeAll(async () => {
    const dataDir = path.join(await dirs.make(), 'data');
    daemon = await DaemonProcess.start({ role: 'serve', dataDir });
    const message = buildNewsletter();
    const result = await sendThroughMilter(daemon.milterPort, message);
    if (!result.body) throw new Error(`no body from the milter; ${daemon.diagnostics()}`);
    clicks = pairClicks(readRewritten(result.body, daemon.baseUrl), message.spec);

    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENT_LOOPS });
    let killed = false;
    // Each loop clicks links in turn until its first failure after the kill.
    const loop = async (offset: number): Promise<void> => {
      for (let i = offset; ; i++) {
        const click = clicks[i % clicks.length]!;
        try {
          const answer = await get(agent, click.link);
          if (answer.status === 302 && answer.location !== undefined) received.push({ url: answer.location, at: Date.now() });
          else unexpectedAnswers.push(`${answer.status} for ${click.link}`);
        } catch (err) {
          if (killed) {
            failuresAfterKill.push((err as Error).message);
            return;
          }
          unexpectedAnswers.push(`${(err as Error).message} for ${click.link} before the kill`);
          return;
        }
      }
    };
    const loops = Array.from({ length: CLIENT_LOOPS }, (_, i) => loop(i));
    await sleep(LOAD_BEFORE_KILL_MS);
    killed = true;
    killedAt = Date.now();
    await daemon.kill();
    await Promise.all(loops);
    agent.destroy();
    await daemon.restart();
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    await dirs.cleanup();
  });

  it('the load was real: redirects before the kill, connections failing at it, nothing else', () => {
    expect(unexpectedAnswers).toEqual([]);
    expect(received.length).toBeGreaterThan(0);
    expect(failuresAfterKill).toHaveLength(CLIENT_LOOPS);
    const originals = new Set(clicks.map((c) => c.original));
    for (const r of received) expect(originals.has(r.url), r.url).toBe(true);
  });

  it('after the restart, events hold at least every redirected click, per URL', async () => {
    const events = (await cli(['events', '--sendid', SEND.sendId, '--format', 'json', ...daemon.cliFlags]))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; url: string; time: string });
    const recordedPerUrl = countBy(
      events.filter((e) => e.type === 'click'),
      (e) => e.url,
    );
    const receivedPerUrl = countBy(received, (r) => r.url);
    for (const [url, redirects] of receivedPerUrl) {
      const lastRedirect = Math.max(...received.filter((r) => r.url === url).map((r) => r.at));
      expect(
        recordedPerUrl.get(url) ?? 0,
        `${url}: ${redirects} redirects received, the last ${killedAt - lastRedirect} ms before the kill`,
      ).toBeGreaterThanOrEqual(redirects);
    }
  });

  it('the restarted daemon still resolves the links of the message sent before the kill', async () => {
    for (const click of clicks) {
      const answer = await browse(click.link);
      expect(answer.status, click.link).toBe(302);
      expect(answer.location).toBe(click.original);
    }
  });
});
