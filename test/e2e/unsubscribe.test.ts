/**
 * One-click unsubscribe and suppression through a real Postfix: the delivered message carries
 * List-Unsubscribe and List-Unsubscribe-Post with a working token; a GET shows the page and records
 * nothing; the RFC 8058 POST records one unsubscribe, visible in `report` and `events`; the list's next
 * message reaches smtp-sink for the other recipients only (DELRCPT), and is discarded when the
 * unsubscribed person was its only recipient; another list still reaches them; a forged token records
 * nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeUnsubscribeToken } from '../../src/tokens/unsubscribe-token.js';
import { loadKeyring } from '../../src/tokens/index.js';
import { decodeTokenText, encodeTokenText } from '../../src/tokens/token-text.js';
import { runCli } from '../helpers/cli-process.js';
import { TrackmilterDaemon } from '../helpers/daemon.js';
import { pollUntil } from '../helpers/net.js';
import { PostfixLab, postfixLabUnavailableReason, type DeliveredMessage } from '../helpers/postfix-lab.js';
import { sendMessages } from '../helpers/smtp.js';

const unavailable = postfixLabUnavailableReason();
if (unavailable) console.log(`test/e2e/unsubscribe.test.ts: skipped: ${unavailable}`);

const READER = 'reader@example.net';
const FROM = 'news@sender.example';
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';

function message(listId: string, subject: string, to: string[]): { envelope: { from: string; to: string[] }; data: string } {
  const data = [
    `From: ${FROM}`,
    `To: ${to.join(', ')}`,
    `Subject: ${subject}`,
    'X-GreenArrow-MailClass: u',
    'X-GreenArrow-InstanceID: 7',
    `X-GreenArrow-ListID: ${listId}`,
    'X-GreenArrow-Click-Tracking-ID: code-9',
    'MIME-Version: 1.0',
    'Content-Type: text/html; charset=us-ascii',
    '',
    '<html><body><p>News</p><a href="https://shop.example/sale">Sale</a></body></html>',
    '',
  ].join('\r\n');
  return { envelope: { from: FROM, to }, data };
}

describe.skipIf(unavailable !== undefined)('one-click unsubscribe and suppression through Postfix', () => {
  let daemon: TrackmilterDaemon;
  let lab: PostfixLab;
  let first: DeliveredMessage;
  let url: string;
  const flags = (): string[] => ['--http', `127.0.0.1:${daemon.httpPort}`, '--data', daemon.dataDir];

  async function cli(args: string[]): Promise<string> {
    const res = await runCli([...args, ...flags()]);
    if (res.code !== 0) throw new Error(`trackmilter ${args.join(' ')}: ${res.stderr}`);
    return res.stdout;
  }
  const unsubscribeEvents = async (): Promise<Array<Record<string, unknown>>> =>
    (await cli(['events', '--sendid', 'u7', '--format', 'json']))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.type === 'unsubscribe');

  beforeAll(async () => {
    daemon = await TrackmilterDaemon.start();
    lab = await PostfixLab.start({ milter: daemon.postfixSpec, defaultAction: 'tempfail' });
    const [outcome] = await sendMessages(lab.smtpPort, [message('weekly', 'first', [READER])], { concurrency: 1 });
    expect(outcome?.accepted).toBe(true);
    first = (await lab.waitForDeliveredMessages(1))[0]!;
    url = /^<(http:\/\/[^>]+)>$/.exec(first!.header('List-Unsubscribe')[0] ?? '')?.[1] ?? '';
  });

  afterAll(async () => {
    await lab?.stop();
    await daemon?.dispose();
  });

  it('the delivered message carries both headers with a token naming the message', async () => {
    expect(first.rcptTo).toEqual([READER]);
    expect(first.header('List-Unsubscribe')).toEqual([`<${url}>`]);
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${daemon.httpPort}/u/[A-Za-z0-9_~]+$`));
    expect(first.header('List-Unsubscribe-Post')).toEqual(['List-Unsubscribe=One-Click']);
    const decoded = decodeUnsubscribeToken(await loadKeyring(daemon.dataDir), url.slice(url.lastIndexOf('/') + 1));
    expect(decoded).toMatchObject({ ok: true, kind: 'stateful', mailClass: 'u' });
  });

  it('GET shows the page and records nothing; a forged token is a 404 and records nothing', async () => {
    const page = await fetch(url, { headers: { 'User-Agent': BROWSER } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('weekly');
    expect(html).toContain('r****r@example.net');
    expect(html).toContain('value="One-Click"');
    const token = url.slice(url.lastIndexOf('/') + 1);
    const bytes = decodeTokenText(token)!;
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    const forged = url.slice(0, url.lastIndexOf('/') + 1) + encodeTokenText(bytes);
    const forgedPost = await fetch(forged, {
      method: 'POST',
      body: 'List-Unsubscribe=One-Click',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(forgedPost.status).toBe(404);
    expect(await unsubscribeEvents()).toEqual([]);
  });

  it('POST records one unsubscribe, visible in report and events', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await fetch(url, {
        method: 'POST',
        body: 'List-Unsubscribe=One-Click',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': BROWSER },
      });
      expect(res.status).toBe(200);
    }
    const events = await unsubscribeEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      greenarrowType: 'engine_unsub',
      sendId: 'u7',
      listId: 'weekly',
      recipient: READER,
      emailCode: 'code-9',
      source: 'one-click',
      machine: false,
    });
    const report = JSON.parse(await cli(['report', '--sendid', 'u7', '--json'])) as { all: { unsubscribes: number } };
    expect(report.all.unsubscribes).toBe(1);
  });

  it("the list's next mail reaches the other recipients only; alone, the reader's copy is discarded; another list still reaches them", async () => {
    await lab.clearDeliveredMessages();
    const outcomes = await sendMessages(
      lab.smtpPort,
      [message('weekly', 'second', ['a@example.net', READER, 'b@example.net']), message('weekly', 'third', [READER]), message('monthly', 'fourth', [READER])],
      { concurrency: 1 },
    );
    expect(outcomes.map((o) => o.accepted)).toEqual([true, true, true]);
    const delivered = await lab.waitForDeliveredMessages(2);
    const bySubject = (s: string): DeliveredMessage | undefined => delivered.find((m) => m.header('Subject')[0] === s);
    expect(bySubject('second')?.rcptTo.sort()).toEqual(['a@example.net', 'b@example.net']);
    expect(bySubject('second')?.header('List-Unsubscribe')).toEqual([]); // two recipients left: no per-person header
    expect(bySubject('fourth')?.rcptTo).toEqual([READER]);
    expect(bySubject('fourth')?.header('List-Unsubscribe')).toHaveLength(1);
    await pollUntil('the discard in the maillog', async () => ((await lab.grepMaillog(/milter-discard/)).length > 0 ? true : undefined), 20_000);
    expect(bySubject('third')).toBeUndefined();
    expect((await lab.readDeliveredMessages()).map((m) => m.header('Subject')[0]).sort()).toEqual(['fourth', 'second']);
    const logged = daemon.messageLogs().filter((l) => typeof l.suppressed === 'number');
    expect(logged.map((l) => l.suppressed)).toEqual([1, 1]);
  });
});
