// Machine verdicts through a real `serve` daemon: the honeypot in the delivered message, verdicts that
// change with later evidence (a burst after the first click, a honeypot hit after earlier clicks), as
// reports, `events --format json` and the JSONL sink (a follow-up with the same id) show them. Clients
// are told apart by X-Forwarded-For, believed from loopback (http.trusted_proxies).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MilterClient } from '../../src/milter/client.js';
import { CLI_BUILT, DaemonProcess, TempDirs, cli } from './helpers/processes.js';

const SEND_ID = 'a77';
const SCANNER_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36';
const PERSON_UA = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';

type EventJson = {
  id: string;
  type: string;
  recipient: string;
  position: number;
  ip: string;
  machine: boolean;
  machineReason?: string;
  reclassified?: boolean;
};

interface Delivered {
  /** Tracked links by position; 0 is the honeypot. */
  links: Map<number, string>;
  html: string;
}

async function deliver(daemon: DaemonProcess, recipient: string): Promise<Delivered> {
  const html = [
    '<html><body>',
    '<p><a href="https://shop.example/sale">Sale</a></p>',
    '<p><a href="https://shop.example/news">News</a></p>',
    '<p><a href="https://shop.example/shoes">Shoes</a></p>',
    '</body></html>',
  ].join('\r\n');
  const client = await MilterClient.connect({ kind: 'inet', host: '127.0.0.1', port: daemon.milterPort });
  try {
    await client.negotiate();
    const result = await client.sendMessage({
      connect: { hostname: 'mta.shop.example', family: 'inet', port: 52344, address: '192.0.2.10' },
      helo: 'mta.shop.example',
      from: 'news@shop.example',
      recipients: [recipient],
      headers: [
        { name: 'From', value: 'news@shop.example' },
        { name: 'To', value: recipient },
        { name: 'Subject', value: 'Truth' },
        { name: 'MIME-Version', value: '1.0' },
        { name: 'Content-Type', value: 'text/html; charset=utf-8' },
        { name: 'X-GreenArrow-MailClass', value: 'a' },
        { name: 'X-GreenArrow-InstanceID', value: '77' },
      ],
      body: Buffer.from(html + '\r\n'),
      macros: { M: { i: 'TRUTH1' } },
    });
    const body = result.body?.toString('utf8') ?? '';
    const links = new Map<number, string>();
    let position = 0;
    for (const m of body.matchAll(/<a href="([^"]+)"([^>]*)>/g)) links.set(m[2]!.includes('aria-hidden') ? 0 : ++position, m[1]!);
    return { links, html: body };
  } finally {
    await client.quit();
  }
}

async function click(url: string, ip: string, userAgent: string): Promise<number> {
  const res = await fetch(url, { redirect: 'manual', headers: { 'User-Agent': userAgent, 'X-Forwarded-For': ip } });
  await res.arrayBuffer();
  return res.status;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * machine.burst_gap_ms here: wide, so that a loaded machine (the whole suite at once) cannot pull one
 * click of a burst out of its run; the honeypot scenario waits longer than it between clicks.
 */
const BURST_GAP_MS = 2_500;
const GAP_MS = BURST_GAP_MS + 300;

describe.skipIf(!CLI_BUILT)('machine verdicts through a real daemon', () => {
  const dirs = new TempDirs();
  let daemon: DaemonProcess;
  let jsonl: string;

  beforeAll(async () => {
    const dir = await dirs.make();
    jsonl = path.join(dir, 'events.jsonl');
    daemon = await DaemonProcess.start({
      role: 'serve',
      dataDir: path.join(dir, 'data'),
      configToml: `[http]\ntrusted_proxies = "127.0.0.1"\n\n[tracking]\nhoneypot = true\n\n[machine]\nburst_gap_ms = ${BURST_GAP_MS}\n\n[events]\njsonl_path = "${jsonl}"\njsonl_fsync = "always"\n`,
    });
  });
  afterAll(async () => {
    await daemon?.stop();
    await dirs.cleanup();
  });

  async function events(): Promise<EventJson[]> {
    const out = await cli(['events', '--sendid', SEND_ID, '--format', 'json', ...daemon.cliFlags]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as EventJson);
  }

  async function sinkLines(): Promise<EventJson[]> {
    for (let i = 0; i < 50; i++) {
      const text = await readFile(jsonl, 'utf8').catch(() => '');
      if (text)
        return text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as EventJson);
      await sleep(100);
    }
    return [];
  }

  it('delivers one hidden link at position 0: empty, aria-hidden, out of the tab order', async () => {
    const { links, html } = await deliver(daemon, 'hidden@corp.example');
    expect([...links.keys()].sort()).toEqual([0, 1, 2, 3]);
    expect(html).toMatch(/<a href="[^"]+" aria-hidden="true" tabindex="-1"><\/a>/);
  });

  it('reclassifies the first click when a burst arrives after it, and tells the sink with the same id', async () => {
    const { links } = await deliver(daemon, 'burst@corp.example');
    const scanner = '203.0.113.50';
    // One click alone is a person (the sink's first line for it says so, below); the burst follows.
    expect(await click(links.get(1)!, scanner, SCANNER_UA)).toBe(302);
    expect(await click(links.get(2)!, scanner, SCANNER_UA)).toBe(302);
    expect(await click(links.get(3)!, scanner, SCANNER_UA)).toBe(302);
    await sleep(300);

    const mine = (await events()).filter((e) => e.recipient === 'burst@corp.example');
    expect(mine.map((e) => [e.position, e.ip, e.machine, e.machineReason])).toEqual([
      [1, scanner, true, 'burst'],
      [2, scanner, true, 'burst'],
      [3, scanner, true, 'burst'],
    ]);
    const first = mine[0]!.id;
    const lines = (await sinkLines()).filter((e) => e.id === first);
    expect(lines.map((e) => [e.machine, e.machineReason, e.reclassified])).toEqual([
      [false, undefined, undefined],
      [true, 'burst', true],
    ]);
  });

  it('reclassifies earlier clicks when the honeypot is hit, and leaves the person elsewhere alone', async () => {
    const { links } = await deliver(daemon, 'trap@corp.example');
    const scanner = '198.51.100.20';
    expect(await click(links.get(1)!, scanner, SCANNER_UA)).toBe(302);
    await sleep(GAP_MS); // more than machine.burst_gap_ms apart: no burst
    expect(await click(links.get(2)!, scanner, SCANNER_UA)).toBe(302);
    await sleep(GAP_MS);
    expect(await click(links.get(0)!, scanner, SCANNER_UA)).toBe(302); // the honeypot leads somewhere ordinary
    await sleep(GAP_MS);
    expect(await click(links.get(3)!, '192.0.2.77', PERSON_UA)).toBe(302);
    await sleep(300);

    const mine = (await events()).filter((e) => e.recipient === 'trap@corp.example');
    expect(mine.map((e) => [e.position, e.machine, e.machineReason])).toEqual([
      [1, true, 'honeypot'],
      [2, true, 'honeypot'],
      [0, true, 'honeypot'],
      [3, false, undefined],
    ]);
    const followUps = (await sinkLines()).filter((e) => e.reclassified && e.recipient === 'trap@corp.example');
    expect(followUps.map((e) => [e.position, e.id])).toEqual([
      [1, mine[0]!.id],
      [2, mine[1]!.id],
    ]);
  });

  it('report: humans and machines side by side, machine clicks by reason, unique human clicks per link', async () => {
    // No wait: the aggregates were corrected in the batches that recorded the verdicts seen above.
    const out = await cli(['report', '--sendid', SEND_ID, '--json', ...daemon.cliFlags]);
    const r = JSON.parse(out) as {
      all: { clicks: number };
      human: { clicks: number; links: Array<{ url: string; uniqueClicks: number }> };
      machineReasons: Record<string, Record<string, number>>;
    };
    expect(r.human.clicks).toBe(1);
    expect(r.all.clicks - r.human.clicks).toBe(6);
    expect(r.machineReasons).toEqual({ burst: { click: 3 }, honeypot: { click: 3 } });
    expect(r.human.links).toEqual([expect.objectContaining({ url: 'https://shop.example/shoes', uniqueClicks: 1 })]);
    const text = await cli(['report', '--sendid', SEND_ID, ...daemon.cliFlags]);
    expect(text).toMatch(/^clicks\s+7\s+1\s+6$/m);
    expect(text).toMatch(/^honeypot\s+0\s+3$/m);
  });
});
