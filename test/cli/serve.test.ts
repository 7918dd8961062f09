// The built CLI as a user runs it: `serve`, `try`, `--version`, `--help`, bad input.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, MAIN, ROOT, runCli, ServeProcess, type LogLine } from '../helpers/cli-process.js';
import { MilterClient, POSTFIX_OFFER } from '../../src/milter/client.js';
import { encodeEnvelope } from '../../src/milter/commands.js';
import { encodePacket } from '../../src/milter/codec.js';

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const built = existsSync(MAIN);
if (!built) console.log(`test/cli: ${MAIN} is missing (run npm run build); skipping the CLI tests`);

function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
      })
      .on('error', reject);
  });
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tm-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

// A message file as a user would have it: LF line ends, folded header, 8-bit body.
const MESSAGE = [
  'From: Sender <sender@example.com>',
  'To: recipient@example.net',
  'Subject: a test',
  'X-Folded: first part',
  '  second part',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Hello, Grüße.',
  'Visit https://example.com/page?a=1&b=2 today.',
  '',
].join('\n');
/** What the MTA hands the milter: the body after the blank line, with CRLF line ends. */
const CRLF_BODY_BYTES = Buffer.byteLength('Hello, Grüße.\r\nVisit https://example.com/page?a=1&b=2 today.\r\n', 'utf8');

describe.skipIf(!built)('trackmilter serve', () => {
  let daemon: ServeProcess;
  let messageFile: string;

  beforeAll(async () => {
    messageFile = path.join(tmp, 'message.eml');
    await writeFile(messageFile, MESSAGE);
    daemon = await ServeProcess.start();
  });
  afterAll(async () => {
    await daemon?.kill();
  });

  it('announces ready with where it listens, in JSON lines only', () => {
    const ready = daemon.logs.find((l) => l.msg === 'ready')!;
    expect(ready.milter).toBe(daemon.milterSpec);
    expect(String(ready.http)).toContain(String(daemon.httpPort));
    expect(ready.version).toBe(VERSION);
    expect(daemon.stray).toEqual([]);
  });

  it('GET /healthz answers 200 with JSON', async () => {
    const res = await get(`http://127.0.0.1:${daemon.httpPort}/healthz`);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/json/);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'ok' });
  });

  it('try: X-Mailer-Info-Extra is added and the link in the body rewritten; the daemon logs the message', async () => {
    const res = await runCli(['try', messageFile, '--milter', daemon.milterSpec]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^verdict: accept/m);
    expect(res.stdout).toMatch(/^header added: X-Mailer-Info-Extra: \S+/m);
    expect(res.stdout).toMatch(new RegExp(`^body: rewritten, ${CRLF_BODY_BYTES} -> \\d+ bytes`, 'm'));

    const line = await daemon.waitForLog('the message line', (l: LogLine) => l.msg === 'message');
    expect(line.queueId).toMatch(/^TRY/);
    expect(line.bodyBytes).toBe(CRLF_BODY_BYTES);
    expect(line.recipients).toBe(1);
    expect(line.outcome).toBe('modified');
    expect(typeof line.ms).toBe('number');
    expect(line.ms as number).toBeGreaterThanOrEqual(0);
  });

  it('try with several recipients and --body prints the new body, its link pointing at the redirector', async () => {
    const before = daemon.logs.filter((l) => l.msg === 'message').length;
    const res = await runCli(['try', messageFile, '--milter', daemon.milterSpec, '--rcpt', 'a@example.net', '--rcpt', 'b@example.org', '--body']);
    expect(res.code).toBe(0);
    // The undeclared 8-bit body (no Content-Transfer-Encoding: 7bit by default) comes back quoted-printable.
    expect(res.stdout).toMatch(/^header added: Content-Transfer-Encoding: quoted-printable$/m);
    const decoded = Buffer.from(
      res.stdout.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
    expect(decoded).toMatch(new RegExp(`Visit http://127\\.0\\.0\\.1:${daemon.httpPort}/c/[A-Za-z0-9_~]+\\?a=1&b=2 today\\.`));
    expect(decoded).toContain('Hello, Grüße.');
    expect(decoded).not.toContain('https://example.com/page');
    await daemon.waitForLog('a second message line', () => daemon.logs.filter((l) => l.msg === 'message').length > before);
    const last = daemon.logs.filter((l) => l.msg === 'message').at(-1)!;
    expect(last.recipients).toBe(2);
  });

  it('suppressions add, then try shows the unsubscribed recipient removed and the list header for the other', async () => {
    const flags = ['--http', `127.0.0.1:${daemon.httpPort}`, '--data', path.join(daemon.dataDir, 'data')];
    const added = await runCli(['suppressions', 'add', '--list', 'try-list', 'gone@example.net', ...flags]);
    expect(added.stdout, added.stderr).toBe('added 1\n');
    const listFile = path.join(tmp, 'list-message.eml');
    await writeFile(listFile, MESSAGE.replace('MIME-Version: 1.0', 'X-GreenArrow-ListID: try-list\nMIME-Version: 1.0'));
    const res = await runCli(['try', listFile, '--milter', daemon.milterSpec, '--rcpt', 'gone@example.net', '--rcpt', 'stays@example.net']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^recipient removed: <gone@example\.net> \(unsubscribed from the list\)$/m);
    expect(res.stdout).toMatch(new RegExp(`^header added: List-Unsubscribe: <http://127\\.0\\.0\\.1:${daemon.httpPort}/u/[A-Za-z0-9_~]+>$`, 'm'));
    expect(res.stdout).toMatch(/^header added: List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
  });

  it('try against a port where nothing listens fails with a message, not a stack trace', async () => {
    const res = await runCli(['try', messageFile, '--milter', `inet:127.0.0.1:${await freePort()}`]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/^trackmilter: /);
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it('healthz counts the messages seen so far', async () => {
    const res = await get(`http://127.0.0.1:${daemon.httpPort}/healthz`);
    expect(JSON.parse(res.body).messages).toBeGreaterThanOrEqual(2);
  });
});

describe.skipIf(!built)('trackmilter serve: stopping', () => {
  it('SIGTERM -> "stopped" logged, exit code 0', async () => {
    const daemon = await ServeProcess.start();
    const { code, signal } = await daemon.stop('SIGTERM');
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(daemon.logs.map((l) => l.msg)).toContain('stopped');
  });

  it('SIGTERM in the middle of a message: that message still gets its verdict, then the daemon exits 0', async () => {
    const daemon = await ServeProcess.start();
    const client = await MilterClient.connect({ kind: 'inet', host: '127.0.0.1', port: daemon.milterPort });
    try {
      // No NR_* offered: every step is answered, so we know the message has begun before SIGTERM.
      await client.negotiate({ ...POSTFIX_OFFER, protocol: 0 });
      expect((await client.command('M', encodeEnvelope('M', { address: 'a@example.com', args: [] })))?.code).toBe('c');
      expect((await client.command('R', encodeEnvelope('R', { address: 'b@example.net', args: [] })))?.code).toBe('c');
      daemon.signal('SIGTERM');
      await daemon.waitForLog('the stopping line', (l) => l.msg === 'stopping');
      const body = Buffer.from('in flight: https://example.com/x\r\n');
      expect((await client.command('L', encodePacket('L', Buffer.from('Subject\0x\0'))))?.code).toBe('c');
      expect((await client.command('N', encodePacket('N')))?.code).toBe('c');
      expect((await client.command('B', encodePacket('B', body)))?.code).toBe('c');
      client.send(encodePacket('E'));
      const codes: string[] = [];
      let replaced = Buffer.alloc(0);
      for (;;) {
        const p = await client.read(5000);
        codes.push(p.code);
        if (p.code === 'b') replaced = Buffer.concat([replaced, p.data]);
        if (!['h', 'i', 'm', 'b'].includes(p.code)) break;
      }
      expect(codes.at(-1)).toBe('c');
      expect(codes).toContain('h');
      expect(replaced.toString()).toMatch(/^in flight: http:\/\/127\.0\.0\.1:\d+\/c\/[A-Za-z0-9_~]+\r\n$/);
    } finally {
      client.destroy();
    }
    const { code } = await daemon.stop('SIGTERM');
    expect(code).toBe(0);
    expect(daemon.logs.map((l) => l.msg)).toContain('stopped');
  });

  it('SIGINT stops it the same way', async () => {
    const daemon = await ServeProcess.start();
    const { code } = await daemon.stop('SIGINT');
    expect(code).toBe(0);
    expect(daemon.logs.map((l) => l.msg)).toContain('stopped');
  });

  it('an HTTP port already in use: exits 1 promptly with the reason, the milter port is released', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as net.AddressInfo).port;
    const milterPort = await freePort();
    try {
      const res = await runCli(['serve', '--milter', `inet:127.0.0.1:${milterPort}`, '--http', `127.0.0.1:${port}`, '--data', path.join(tmp, 'busy')], 10_000);
      expect(res.signal).toBeNull(); // not killed by our timeout: it exited by itself
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(String(port));
    } finally {
      busy.close();
    }
  });

  it('a milter port already in use: exits 1 promptly with the reason', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const res = await runCli(
        ['serve', '--milter', `inet:127.0.0.1:${port}`, '--http', `127.0.0.1:${await freePort()}`, '--data', path.join(tmp, 'busy2')],
        10_000,
      );
      expect(res.signal).toBeNull();
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(String(port));
    } finally {
      busy.close();
    }
  });

  it('try with a file that does not exist: exit 1 naming the file', async () => {
    const res = await runCli(['try', path.join(tmp, 'no-such.eml'), '--milter', 'inet:127.0.0.1:1']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no-such.eml');
  });

  it('a bad --milter spec: exits with a message naming the key and value', async () => {
    const res = await runCli(['serve', '--milter', 'tcp:127.0.0.1:1', '--data', path.join(tmp, 'bad')]);
    expect(res.signal).toBeNull();
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('milter.listen');
    expect(res.stderr).toContain('tcp:127.0.0.1:1');
  });

  // Setting the socket's group fails after listen(): the listener must be closed so the process exits.
  it('an unknown socket_group: exits 1 instead of hanging', async () => {
    const config = path.join(tmp, 'group.toml');
    await writeFile(config, `[milter]\nlisten = "unix:${path.join(tmp, 'g.sock')}"\nsocket_group = "no-such-group-trackmilter"\n`);
    const res = await runCli(['serve', '--config', config, '--http', `127.0.0.1:${await freePort()}`, '--data', path.join(tmp, 'g')], 4000);
    expect(res.signal).toBeNull();
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no-such-group-trackmilter');
  });
});

describe.skipIf(!built)('trackmilter: version, help, usage errors', () => {
  it('--version prints the package.json version', async () => {
    const res = await runCli(['--version']);
    expect(res.code).toBe(0);
    expect(res.stdout.trim()).toBe(VERSION);
  });

  it('--help lists the commands and exits 0', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const res = await runCli([flag]);
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/usage/i);
      expect(res.stdout).toMatch(/\bserve\b/);
      expect(res.stdout).toMatch(/\btry\b/);
    }
  });

  it.each([
    ['serve', ['--milter', '--http', '--data', '--config']],
    ['try', ['--milter', '--from', '--rcpt', '--body']],
  ])('%s --help describes its options and exits 0 without starting anything', async (command, flags) => {
    const res = await runCli([command, '--help'], 5000);
    expect(res.signal).toBeNull();
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/usage/i);
    expect(res.stdout).toContain(command);
    for (const f of flags) expect(res.stdout).toContain(f);
  });

  it('an unknown command exits 2 and says which', async () => {
    const res = await runCli(['frobnicate']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('frobnicate');
  });

  it('an unknown flag exits 2', async () => {
    const res = await runCli(['serve', '--no-such-flag'], 5000);
    expect(res.signal).toBeNull();
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('no-such-flag');
  });

  it('try without a file prints its usage and exits 2', async () => {
    const res = await runCli(['try']);
    expect(res.code).toBe(2);
    expect(res.stdout + res.stderr).toMatch(/usage/i);
  });
});
