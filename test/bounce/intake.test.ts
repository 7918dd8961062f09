// From a bounce on stdin or at a bounce address to recorded events: the intake, the CLI's exit codes,
// and the milter's bounce addresses.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { takeInReport } from '../../src/bounce/intake.js';
import { createTrackingFilter } from '../../src/tracking/tracking-filter.js';
import { bounceAddressSet, createMessageRouter } from '../../src/app/message-router.js';
import { createBounceReader } from '../../src/app/bounce-reader.js';
import type { ConfigValues } from '../../src/config/load.js';
import { defaultConfig } from '../../src/config/load.js';
import { encodeInfoHeader, loadKeyring, type Keyring } from '../../src/tokens/index.js';
import { splitMessage } from '../../src/mime/message-split.js';
import type { MessageContext } from '../../src/milter/filter.js';
import { LevelTrackStore, type TrackEvent } from '../../src/store/index.js';
import { MAIN, ROOT, ServeProcess, freePort } from '../helpers/cli-process.js';

/** A DSN as Postfix's bounce(8) writes it, returning the original headers with our X-Mailer-Info-Extra. */
function postfixDsn(infoHeader: string, rcpt = 'gone@example.net'): Buffer {
  return Buffer.from(
    [
      'From: MAILER-DAEMON@lab.example.test (Mail Delivery System)',
      'To: bounces@news.example.com',
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"',
      '',
      '--B1',
      'Content-Description: Notification',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'This is the mail system at host lab.example.test.',
      '',
      `<${rcpt}>: host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <${rcpt}>: Recipient address rejected: User unknown (in reply to RCPT TO command)`,
      '',
      '--B1',
      'Content-Description: Delivery report',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; lab.example.test',
      'Arrival-Date: Sun, 22 Nov 2026 10:00:00 +0000 (UTC)',
      '',
      `Final-Recipient: rfc822; ${rcpt}`,
      `Original-Recipient: rfc822;${rcpt}`,
      'Action: failed',
      'Status: 5.1.1',
      'Remote-MTA: dns; 127.0.0.1',
      `Diagnostic-Code: smtp; 550 5.1.1 <${rcpt}>: Recipient address rejected: User unknown`,
      '',
      '--B1',
      'Content-Description: Undelivered Message Headers',
      'Content-Type: text/rfc822-headers',
      '',
      'From: News <news@news.example.com>',
      `To: ${rcpt}`,
      'Subject: Weekly news',
      `X-Mailer-Info-Extra: ${infoHeader}`,
      '',
      '--B1--',
      '',
    ].join('\r\n'),
  );
}

function runBounce(args: string[], stdin: Buffer): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, 'bounce', ...args], { cwd: ROOT, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
    child.stdin.end(stdin);
  });
}

const identity = { recipient: 'gone@example.net', sendId: 'a100525', listId: 'list7', emailCode: 'sub-9' };

describe('takeInReport', () => {
  let dir: string;
  let keyring: Keyring;
  let store: LevelTrackStore;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tm-intake-'));
    keyring = await loadKeyring(dir);
    store = new LevelTrackStore(path.join(dir, 'db'));
    await store.open();
  });
  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('records a bounce event naming the recipient and send from the signed header, with the DSN details', async () => {
    const outcome = await takeInReport(postfixDsn(encodeInfoHeader(keyring, identity)), keyring, (e) => store.recordEvents(e));
    expect(outcome).toEqual({ kind: 'bounce', recorded: 1, delayed: 0 });
    const events: TrackEvent[] = [];
    for await (const e of store.eventsBySendId('a100525')) events.push(e);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'bounce',
      recipient: 'gone@example.net',
      listId: 'list7',
      emailCode: 'sub-9',
      details: { status: '5.1.1', classification: 'hard', action: 'failed', reportingMta: 'lab.example.test' },
    });
  });

  it('records nothing for a bounce whose header another key signed', async () => {
    const other = await loadKeyring(path.join(dir, 'other'));
    const recorded: TrackEvent[] = [];
    const outcome = await takeInReport(postfixDsn(encodeInfoHeader(other, identity)), keyring, async (e) => void recorded.push(...e));
    expect(outcome.kind).toBe('not-ours');
    expect(recorded).toEqual([]);
  });
});

const built = existsSync(MAIN);

describe.skipIf(!built)('trackmilter bounce (pipe transport)', () => {
  let daemon: ServeProcess;
  let dataDir: string;
  beforeAll(async () => {
    daemon = await ServeProcess.start();
    dataDir = path.join(daemon.dataDir, 'data');
  });
  afterAll(async () => {
    await daemon?.kill();
  });

  it('exit 0 and the event is in the daemon once recorded', async () => {
    const keyring = await loadKeyring(dataDir);
    const res = await runBounce(['--http', `127.0.0.1:${daemon.httpPort}`, '--data', dataDir], postfixDsn(encodeInfoHeader(keyring, identity)));
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('bounce, 1 recorded');
    const report = await fetch(`http://127.0.0.1:${daemon.httpPort}/admin/report?sendid=a100525`, {
      headers: { Authorization: `Bearer ${readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim()}` },
    });
    expect(((await report.json()) as { all: { bounces: number } }).all.bounces).toBe(1);
  });

  it('exit 0 for a bounce that is not ours (nothing to retry)', async () => {
    const res = await runBounce(['--http', `127.0.0.1:${daemon.httpPort}`, '--data', dataDir], Buffer.from('Subject: hello\r\n\r\nnot a bounce\r\n'));
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('0 recorded');
  });

  it('exit 75 when the daemon cannot be reached, so Postfix retries', async () => {
    const res = await runBounce(['--http', `127.0.0.1:${await freePort()}`, '--data', dataDir], postfixDsn('x'));
    expect(res.code).toBe(75);
    expect(res.stderr).toMatch(/not recorded, Postfix will retry/);
  });

  it('exit 75 with a wrong admin token (a misconfiguration must not eat bounces)', async () => {
    const otherData = await mkdtemp(path.join(tmpdir(), 'tm-other-'));
    try {
      await writeFile(path.join(otherData, 'admin.token'), 'wrong\n', { mode: 0o600 });
      const res = await runBounce(['--http', `127.0.0.1:${daemon.httpPort}`, '--data', otherData], postfixDsn('x'));
      expect(res.code).toBe(75);
    } finally {
      await rm(otherData, { recursive: true, force: true });
    }
  });
});

describe('the milter at a bounce address', () => {
  const keyringDir = mkdtemp(path.join(tmpdir(), 'tm-bounce-addr-'));
  /** The milter's filter as the daemon wires it; recordEvents null is the `milter` role (no store). */
  const milterFilter = (config: ConfigValues, keyring: Keyring, recordEvents: ((e: TrackEvent[]) => Promise<void>) | null) =>
    createMessageRouter({
      bounceAddresses: bounceAddressSet(config['bounce.addresses']),
      bounceReader: recordEvents ? createBounceReader({ keyring, recordEvents, afterRecord: config['bounce.after_record'] }) : null,
      tracking: createTrackingFilter({ config, keyring, store: null }),
    });
  const ctx = (raw: Buffer, rcpt: string): MessageContext => {
    const { headers, body } = splitMessage(raw);
    return {
      queueId: 'Q',
      connect: null,
      helo: '',
      from: { address: '', args: [] },
      recipients: [{ address: rcpt, args: [] }],
      headers,
      body,
      macro: () => undefined,
    };
  };

  it('records the bounce, never rewrites it, and discards it when configured', async () => {
    const dir = await keyringDir;
    const keyring = await loadKeyring(dir);
    const recorded: TrackEvent[] = [];
    const config = { ...defaultConfig(), 'bounce.addresses': 'Bounces@News.example.com, other@example.com', 'bounce.after_record': 'discard' as const };
    const filter = milterFilter(config, keyring, async (e) => void recorded.push(...e));
    const result = await filter.endOfMessage(ctx(postfixDsn(encodeInfoHeader(keyring, identity)), 'bounces@news.example.com'), new AbortController().signal);
    expect(result.verdict).toEqual({ kind: 'discard' });
    expect(result.body).toBeUndefined();
    expect(recorded.map((e) => [e.type, e.recipient, e.sendId])).toEqual([['bounce', 'gone@example.net', 'a100525']]);
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers a report it could not tie to a send (nothing recorded, nothing discarded)', async () => {
    const keyring = await loadKeyring(await mkdtemp(path.join(tmpdir(), 'tm-bounce-addr2-')));
    const config = { ...defaultConfig(), 'bounce.addresses': 'bounces@news.example.com', 'bounce.after_record': 'discard' as const };
    const filter = milterFilter(config, keyring, async () => undefined);
    const result = await filter.endOfMessage(ctx(postfixDsn('not-a-valid-value'), 'bounces@news.example.com'), new AbortController().signal);
    expect(result.verdict).toBeUndefined();
    expect(result.log).toMatchObject({ bounce: 'not-ours', recorded: 0 });
  });

  it('in the milter role (no store), mail to a bounce address passes untouched, never tracked', async () => {
    const keyring = await loadKeyring(await mkdtemp(path.join(tmpdir(), 'tm-bounce-addr3-')));
    const config = { ...defaultConfig(), 'bounce.addresses': 'bounces@news.example.com', 'tracking.mode': 'stateless' as const };
    const filter = milterFilter(config, keyring, null);
    // Trackable HTML, so that tracking it would show: a link, a pixel, our header.
    const html = Buffer.from(
      'From: a@news.example.com\r\nTo: someone@example.net\r\nContent-Type: text/html\r\n\r\n<p><a href="https://shop.example.com/">shop</a></p>\r\n',
      'latin1',
    );
    const result = await filter.endOfMessage(ctx(html, 'Bounces@news.example.com'), new AbortController().signal);
    expect(result.body).toBeUndefined();
    expect(result.headerChanges ?? []).toEqual([]);
    expect(result.verdict).toBeUndefined();
    expect(result.skipped?.reason).toBe('bounce-address');
    // The same message to anyone else is tracked (the class is stateless, so no store is needed).
    const tracked = await filter.endOfMessage(ctx(html, 'someone@example.net'), new AbortController().signal);
    expect(tracked.headerChanges?.some((h) => h.name === 'X-Mailer-Info-Extra')).toBe(true);
  });
});
