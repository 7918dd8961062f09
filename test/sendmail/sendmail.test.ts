// A real Sendmail (Debian's sendmail-bin, unpacked beside Postfix: see sendmail-kit.ts) passes messages
// through trackmilter with the INPUT_MAIL_FILTER line of sendmail-examples/sendmail.mc, and relays
// them to an SMTP sink on loopback: the delivered message carries X-Mailer-Info-Extra, links that
// go through the daemon's redirector and, for mail of a list, the one-click unsubscribe headers; a
// recipient who unsubscribed is removed from the list's next envelope (DELRCPT). With the example's F=
// an unreachable trackmilter lets mail pass untouched; with F=T it is tempfailed.
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daemonUnavailableReason, TrackmilterDaemon } from '../helpers/daemon.js';
import { findFreePort, pollUntil } from '../helpers/net.js';
import { PROJECT_ROOT } from '../helpers/postfix-lab.js';
import { buildSendmailCf, obtainSendmail, SendmailSession, type SendmailKit } from './sendmail-kit.js';

const EXAMPLE = path.join(PROJECT_ROOT, 'sendmail-examples', 'sendmail.mc');

/** The INPUT_MAIL_FILTER line for trackmilter in the example, with its S= pointed at `port`. */
function exampleFilterLine(port: number, flags?: string): string {
  const lines = readFileSync(EXAMPLE, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('INPUT_MAIL_FILTER(`trackmilter'));
  if (lines.length !== 1) throw new Error(`${EXAMPLE}: expected one INPUT_MAIL_FILTER line for trackmilter, found ${lines.length}`);
  let line = lines[0]!;
  if (!/S=inet:8899@127\.0\.0\.1/.test(line)) throw new Error(`${EXAMPLE}: the INPUT_MAIL_FILTER line no longer names S=inet:8899@127.0.0.1: ${line}`);
  line = line.replace('S=inet:8899@127.0.0.1', `S=inet:${port}@127.0.0.1`);
  if (flags !== undefined) line = line.replace(/F=[^,']*/, `F=${flags}`);
  return line;
}

interface SunkMessage {
  from: string;
  to: string[];
  data: string;
}

/** The smallest SMTP server Sendmail's relay mailer can deliver to; keeps what it receives. */
class SmtpSink {
  readonly messages: SunkMessage[] = [];
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor() {
    this.server = net.createServer((socket) => this.session(socket));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  private session(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = '';
    let inData = false;
    let current: SunkMessage = { from: '', to: [], data: '' };
    socket.setEncoding('latin1');
    socket.write('220 sink.test ESMTP\r\n');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            this.messages.push(current);
            current = { from: '', to: [], data: '' };
            socket.write('250 2.0.0 queued\r\n');
          } else {
            current.data += `${line.startsWith('.') ? line.slice(1) : line}\n`;
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') socket.write('250-sink.test\r\n250-8BITMIME\r\n250 PIPELINING\r\n');
        else if (verb === 'MAIL') {
          current.from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          socket.write('250 2.1.0 ok\r\n');
        } else if (verb === 'RCPT') {
          current.to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          socket.write('250 2.1.5 ok\r\n');
        } else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') socket.end('221 2.0.0 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function splitMessage(data: string): { headers: string; body: string } {
  const at = data.indexOf('\n\n');
  return at < 0 ? { headers: data, body: '' } : { headers: data.slice(0, at + 1), body: data.slice(at + 2) };
}

function get(url: string): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
      })
      .on('error', reject);
  });
}

const BOUNDARY = 'b-trackmilter-sendmail';
const HTML = '<html><body><p>Hello from Sendmail.</p><a href="https://example.org/offer?id=7&amp;x=1">the offer</a></body></html>';
const TEXT = 'Hello from Sendmail. The offer: https://example.org/offer?id=7&x=1';
function testMessage(id: string): string {
  return [
    'From: Sender <sender@example.com>',
    'To: <rcpt@example.net>',
    `Subject: through sendmail ${id}`,
    `X-Test-Id: ${id}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${BOUNDARY}"`,
    '',
    `--${BOUNDARY}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    TEXT,
    `--${BOUNDARY}`,
    'Content-Type: text/html; charset=us-ascii',
    '',
    HTML,
    `--${BOUNDARY}--`,
    '',
  ].join('\n');
}

/** Dot-stuffed DATA content with CRLF line ends, without the final ".". */
function smtpData(message: string): string {
  return message
    .split('\n')
    .map((l) => (l.startsWith('.') ? `.${l}` : l))
    .join('\r\n')
    .replace(/\r\n$/, '');
}

/** One SMTP transaction through `sendmail -bs`: the replies, and the queue id Sendmail gave the message. */
async function sendThroughSendmail(
  kit: SendmailKit,
  cf: string,
  message: string,
  recipients = ['rcpt@example.net'],
): Promise<{ replies: string[]; queueId: string | undefined; session: SendmailSession }> {
  const session = SendmailSession.start(kit, cf);
  const replies: string[] = [];
  try {
    replies.push(await session.reply());
    for (const line of ['EHLO client.test', 'MAIL FROM:<sender@example.com>', ...recipients.map((r) => `RCPT TO:<${r}>`), 'DATA']) {
      const reply = await session.command(line);
      replies.push(reply);
      if (!/^[23]/.test(reply)) break;
    }
    if (/^354/.test(replies[replies.length - 1] ?? '')) replies.push(await session.command(`${smtpData(message)}\r\n.`));
    const code = await session.quit();
    if (code !== 0 && code !== null) replies.push(`exit ${code}`);
  } finally {
    session.kill();
  }
  const last = replies[replies.length - 1] ?? '';
  const queueId = /^250 2\.0\.0 (\S+) Message accepted/m.exec(last)?.[1];
  return { replies, queueId, session };
}

const kitOrReason: SendmailKit | string = daemonUnavailableReason() ?? (await obtainSendmail());
const skipReason = typeof kitOrReason === 'string' ? kitOrReason : undefined;
if (skipReason) console.log(`test/sendmail: skipped, no Sendmail to test with: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('a real Sendmail through trackmilter (sendmail-examples/sendmail.mc)', () => {
  const kit = kitOrReason as SendmailKit;
  let dir: string;
  let sink: SmtpSink;
  let sinkPort: number;
  let daemon: TrackmilterDaemon;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'trackmilter-sendmail-'));
    sink = new SmtpSink();
    sinkPort = await sink.listen();
    daemon = await TrackmilterDaemon.start();
  });
  afterAll(async () => {
    await daemon?.dispose();
    await sink?.close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  async function configFor(name: string, milterLine: string): Promise<string> {
    const sub = path.join(dir, name);
    await fs.mkdir(sub, { recursive: true });
    return buildSendmailCf(kit, { dir: sub, milterLines: milterLine, relayPort: sinkPort });
  }

  function delivered(id: string): SunkMessage | undefined {
    return sink.messages.find((m) => m.data.includes(`X-Test-Id: ${id}\n`));
  }

  it(`Sendmail ${kit?.version ?? ''} hands the message to trackmilter and delivers it tracked`, async () => {
    const port = Number(daemon.milterSocket.split(':').pop());
    const line = exampleFilterLine(port);
    const cf = await configFor('tracked', line);
    const cfText = await fs.readFile(cf, 'utf8');
    expect(cfText).toMatch(/^O InputMailFilters=trackmilter$/m);
    expect(cfText).toMatch(new RegExp(`^Xtrackmilter, S=inet:${port}@127\\.0\\.0\\.1, F=, T=C:5s;S:10s;R:30s;E:2m$`, 'm'));

    const { replies, queueId, session } = await sendThroughSendmail(kit, cf, testMessage('tracked'));
    expect(queueId, session.diagnostics()).toBeDefined();
    expect(replies.slice(0, 5).map((r) => r.slice(0, 3))).toEqual(['220', '250', '250', '250', '354']);

    const message = await pollUntil('the message at the sink', () => delivered('tracked'), 10_000);
    expect(message.from).toBe('sender@example.com');
    expect(message.to).toEqual(['rcpt@example.net']);
    const { headers, body } = splitMessage(message.data);
    expect(headers).toMatch(/^X-Mailer-Info-Extra: \S+$/m);
    expect(headers).toMatch(/^Received: from client\.test .*\n\tby sendmail\.test/m);

    // Both parts' links go through the daemon's redirector now; the original URL is gone from the body.
    const base = `http://127.0.0.1:${daemon.httpPort}`;
    const clicks = [...body.matchAll(new RegExp(`${base.replace(/\./g, '\\.')}/c/[^\\s"<>]+`, 'g'))].map((m) => m[0].replace(/&amp;/g, '&'));
    expect(clicks).toHaveLength(2);
    expect(body).toContain(`${base}/o/`);
    expect(body).not.toContain('https://example.org/offer');
    expect(body).toContain('Hello from Sendmail.');

    // Sendmail's queue id reached the milter (macro {i}) and the daemon logged the message under it.
    const log = await pollUntil('the daemon log line for the message', () => daemon.messageLogs().find((l) => l.queueId === queueId), 5_000);
    expect(log.outcome).toBe('modified');

    // A rewritten link redirects to the original (its query string travels in the link).
    for (const click of clicks) {
      const res = await get(click);
      expect(res.status).toBe(302);
      expect(res.location).toMatch(/^https:\/\/example\.org\/offer\?id=7&x=1$/);
    }
  });

  it('adds List-Unsubscribe and List-Unsubscribe-Post, and removes an unsubscribed recipient (DELRCPT)', async () => {
    const port = Number(daemon.milterSocket.split(':').pop());
    const cf = await configFor('unsubscribe', exampleFilterLine(port));
    const withList = (id: string): string =>
      testMessage(id).replace('MIME-Version: 1.0', 'X-GreenArrow-MailClass: m\nX-GreenArrow-InstanceID: 5\nX-GreenArrow-ListID: sm-weekly\nMIME-Version: 1.0');
    const first = await sendThroughSendmail(kit, cf, withList('unsub-1'));
    expect(first.queueId, first.session.diagnostics()).toBeDefined();
    const message = await pollUntil('the message at the sink', () => delivered('unsub-1'), 10_000);
    const { headers } = splitMessage(message.data);
    const url = new RegExp(`^List-Unsubscribe: <(http://127\\.0\\.0\\.1:${daemon.httpPort}/u/[A-Za-z0-9_~]+)>$`, 'm').exec(headers)?.[1];
    expect(url, headers).toBeDefined();
    expect(headers).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
    expect(headers).not.toMatch(/^X-GreenArrow-/m);
    const posted = await fetch(url!, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(posted.status).toBe(200);

    const second = await sendThroughSendmail(kit, cf, withList('unsub-2'), ['other@example.net', 'rcpt@example.net', 'third@example.net']);
    expect(second.queueId, second.session.diagnostics()).toBeDefined();
    const next = await pollUntil('the second message at the sink', () => delivered('unsub-2'), 10_000);
    expect(next.to.sort()).toEqual(['other@example.net', 'third@example.net']);
    const log = await pollUntil('the daemon log line', () => daemon.messageLogs().find((l) => l.queueId === second.queueId), 5_000);
    expect(log).toMatchObject({ suppressed: 1, outcome: 'modified' });
  });

  it('with the example F= (empty), mail passes untouched while trackmilter cannot be reached', async () => {
    const down = await findFreePort();
    const cf = await configFor('down-accept', exampleFilterLine(down));
    const { queueId, session } = await sendThroughSendmail(kit, cf, testMessage('down-accept'));
    expect(queueId, session.diagnostics()).toBeDefined();
    const message = await pollUntil('the message at the sink', () => delivered('down-accept'), 10_000);
    const { headers, body } = splitMessage(message.data);
    expect(headers).not.toMatch(/^X-Mailer-Info-Extra:/m);
    expect(body).toBe(splitMessage(testMessage('down-accept')).body);
  });

  it('with F=T instead, the message is tempfailed (the sender retries) and nothing is delivered', async () => {
    const down = await findFreePort();
    const cf = await configFor('down-tempfail', exampleFilterLine(down, 'T'));
    expect(await fs.readFile(cf, 'utf8')).toMatch(/^Xtrackmilter, .*F=T,/m);
    const { replies, queueId, session } = await sendThroughSendmail(kit, cf, testMessage('down-tempfail'));
    expect(queueId, session.diagnostics()).toBeUndefined();
    expect(
      replies.some((r) => /^4\d\d[ -]4\.\d+\.\d+/m.test(r)),
      session.diagnostics(),
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(delivered('down-tempfail')).toBeUndefined();
  });
});
