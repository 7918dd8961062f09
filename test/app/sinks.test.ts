// Event sinks as the daemon runs them: clicks reach a signed webhook that was down for a while, after
// the daemon was SIGKILLed with a non-empty queue and restarted; the JSONL file gets every event once
// and goes on in a new file after a rotation (rename + SIGHUP).
import { createHmac } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_BUILT, DaemonProcess, TempDirs } from './helpers/processes.js';
import { BROWSER_UA, buildNewsletter, pairClicks, readRewritten } from './helpers/newsletter.js';
import { browse, sendThroughMilter } from './helpers/traffic.js';

const SECRET = 'a-webhook-secret-of-enough-length';

interface Delivery {
  timestamp: string;
  signature: string;
  body: Buffer;
}

/** A webhook receiver that answers 503 until told to accept, and keeps every request it accepted. */
class Receiver {
  readonly accepted: Delivery[] = [];
  refused = 0;
  up = false;
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!this.up) {
        this.refused++;
        res.writeHead(503).end();
        return;
      }
      this.accepted.push({
        timestamp: String(req.headers['x-trackmilter-timestamp']),
        signature: String(req.headers['x-trackmilter-signature']),
        body: Buffer.concat(chunks),
      });
      res.writeHead(200).end();
    });
  });

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as { port: number }).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  events(): Array<{ id: string; type: string; url: string; sendId: string }> {
    return this.accepted.flatMap((d) => (JSON.parse(d.body.toString()) as { events: Array<{ id: string; type: string; url: string; sendId: string }> }).events);
  }
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function jsonLines(file: string): Promise<Array<{ id: string; type: string; reclassified?: boolean }>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { id: string; type: string; reclassified?: boolean });
}

describe.skipIf(!CLI_BUILT)('event sinks in the daemon', () => {
  const dirs = new TempDirs();
  const receiver = new Receiver();
  let daemon: DaemonProcess;
  let jsonl: string;

  beforeAll(async () => {
    const root = await dirs.make('tm-sinks-');
    const secretFile = path.join(root, 'webhook.secret');
    await writeFile(secretFile, SECRET + '\n', { mode: 0o600 });
    jsonl = path.join(root, 'events.jsonl');
    const port = await receiver.listen();
    daemon = await DaemonProcess.start({
      role: 'serve',
      dataDir: path.join(root, 'data'),
      configToml: [
        '[events]',
        `jsonl_path = ${JSON.stringify(jsonl)}`,
        'jsonl_fsync = "always"',
        `webhook_url = "http://127.0.0.1:${port}/hook"`,
        `webhook_secret_file = ${JSON.stringify(secretFile)}`,
        'webhook_batch_size = 5',
      ].join('\n'),
    });
  });
  afterAll(async () => {
    await daemon?.kill();
    await receiver.close();
    await dirs.cleanup();
  });

  it('webhook down, daemon SIGKILLed with a queue, restarted, receiver back: every click arrives once per id, signed', async () => {
    const newsletter = buildNewsletter();
    const result = await sendThroughMilter(daemon.milterPort, newsletter);
    const clicks = pairClicks(readRewritten(result.body!, daemon.baseUrl), newsletter.spec);
    const redirected: string[] = [];
    for (const click of clicks) {
      const answer = await browse(click.link, { userAgent: BROWSER_UA });
      expect(answer.status).toBe(302);
      redirected.push(answer.location!);
    }
    await until('the receiver to refuse a delivery', () => receiver.refused > 0);
    expect(receiver.accepted).toEqual([]);

    await daemon.kill();
    receiver.up = true;
    await daemon.restart();
    await until('every click at the webhook', () => receiver.events().filter((e) => e.type === 'click').length >= clicks.length);

    const delivered = receiver.events().filter((e) => e.type === 'click');
    expect(new Set(delivered.map((e) => e.id)).size).toBe(clicks.length);
    expect([...new Set(delivered.map((e) => e.url))].sort()).toEqual([...new Set(redirected)].sort());
    for (const d of receiver.accepted) {
      const expected = createHmac('sha256', SECRET).update(`${d.timestamp}.`).update(d.body).digest('hex');
      expect(d.signature.split(',')).toContain(`v1=${expected}`);
    }
  });

  /**
   * Every event once; a follow-up of a reclassified event (the clicks here come in bursts) repeats an
   * id on purpose, after the event it corrects, and only once.
   */
  function expectOnceEach(lines: Array<{ id: string; reclassified?: boolean }>): void {
    const originals = lines.filter((e) => e.reclassified !== true);
    const followUps = lines.filter((e) => e.reclassified === true);
    expect(new Set(originals.map((e) => e.id)).size).toBe(originals.length);
    expect(new Set(followUps.map((e) => e.id)).size).toBe(followUps.length);
    for (const f of followUps) expect(lines.findIndex((e) => e.id === f.id)).toBeLessThan(lines.indexOf(f));
  }

  it('JSONL: every event exactly once, and after rename + SIGHUP writing goes on in a new file', async () => {
    await until('the JSONL file to hold the clicks', async () => (await jsonLines(jsonl)).filter((e) => e.type === 'click').length > 0);
    const before = await jsonLines(jsonl);
    expectOnceEach(before);

    const rotated = `${jsonl}.1`;
    await rename(jsonl, rotated);
    daemon.signal('SIGHUP');
    await until('the reload', () => daemon.logs.some((l) => l.msg === 'reloaded'));
    const open = await browse(`${daemon.baseUrl}/healthz`);
    expect(open.status).toBe(200);

    const newsletter = buildNewsletter();
    const result = await sendThroughMilter(daemon.milterPort, newsletter);
    const [first] = pairClicks(readRewritten(result.body!, daemon.baseUrl), newsletter.spec);
    expect((await browse(first!.link, { userAgent: BROWSER_UA })).status).toBe(302);
    await until('the new JSONL file', async () => (await jsonLines(jsonl)).length > 0);

    const after = await jsonLines(jsonl);
    const old = await jsonLines(rotated);
    expectOnceEach([...old, ...after]);
    expect(after.map((e) => e.type)).toContain('click');
  });
});
