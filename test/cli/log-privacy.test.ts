// The journal is read by more people than the mail: per-message log lines carry queue ids, counts and
// outcomes, never the addresses or the links of a message.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIN, ServeProcess, runCli } from '../helpers/cli-process.js';

const SENDER = 'private-sender@example.com';
const RECIPIENT = 'private-person@example.net';
const LINK = 'https://example.com/private-path?token=secret-value';

describe.skipIf(!existsSync(MAIN))('log privacy', () => {
  let daemon: ServeProcess;
  let dir: string;
  beforeAll(async () => {
    daemon = await ServeProcess.start();
    dir = await mkdtemp(path.join(os.tmpdir(), 'tm-logs-'));
  });
  afterAll(async () => {
    await daemon?.kill();
    await rm(dir, { recursive: true, force: true });
  });

  it('no address, link or query string of a message appears in the daemon log', async () => {
    const file = path.join(dir, 'm.eml');
    await writeFile(file, `From: ${SENDER}\nTo: ${RECIPIENT}\nSubject: s\nX-GreenArrow-MailClass: a\n\nSee ${LINK}\n`);
    const res = await runCli(['try', file, '--milter', daemon.milterSpec, '--from', SENDER, '--rcpt', RECIPIENT]);
    expect(res.code).toBe(0);
    await daemon.waitForLog('the message line', (l) => l.msg === 'message');
    const log = JSON.stringify(daemon.logs) + daemon.stray.join('\n');
    expect(log).toContain('"links":1');
    for (const secret of [SENDER, RECIPIENT, 'private-path', 'secret-value']) expect(log).not.toContain(secret);
  });
});
