/**
 * Bounces close the loop through a real Postfix: a tracked message to a recipient whose server
 * refuses it (a second smtp-sink answering RCPT with 5xx), Postfix's own bounce(8) DSN to the sender,
 * routed by transport_maps to the pipe transport of postfix-examples/master.cf.example, which runs
 * `trackmilter bounce` (a copy of the built CLI that the pipe's user can reach, wherever the checkout
 * is: test/helpers/pipe-install.ts): the recorded bounce event names the recipient and SendID.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { chmod, chown, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrackmilterDaemon } from '../helpers/daemon.js';
import { PROJECT_ROOT, PostfixLab, postfixLabUnavailableReason, program } from '../helpers/postfix-lab.js';
import { pollUntil } from '../helpers/net.js';
import { installForPipeUser, type PipeInstall } from '../helpers/pipe-install.js';
import { sendMessages } from '../helpers/smtp.js';

/** pipe(8) never runs as root; nobody reads the admin token below. */
const PIPE_USER = 'nobody';

// The pipe's user may not reach this checkout (a clone below /root, mode 0700): it runs a copy.
const labUnavailable = postfixLabUnavailableReason();
const install = labUnavailable ? undefined : await installForPipeUser(PIPE_USER).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
const unavailable = labUnavailable ?? (install instanceof Error ? `the pipe's user cannot run the CLI: ${install.message}` : undefined);
if (unavailable) console.log(`test/e2e/bounce.test.ts: Postfix bounce test skipped: ${unavailable}`);
const pipeInstall = install instanceof Error ? undefined : install;

const BOUNCE_ADDRESS = 'bounces@lab.example.test';
const GONE = 'gone@refusing.example';

/** The pipe service of postfix-examples/master.cf.example, pointed at the pipe's copy of the CLI and this daemon. */
async function bounceTransport(daemon: TrackmilterDaemon, cliCopy: PipeInstall): Promise<string> {
  const example = await readFile(path.join(PROJECT_ROOT, 'postfix-examples', 'master.cf.example'), 'utf8');
  const service = example.split('\n').filter((line) => /^trackmilter-bounce\s/.test(line) || /^\s+flags=/.test(line));
  expect(service).toHaveLength(2);
  const cli = `${cliCopy.node} ${cliCopy.cli}`;
  return (
    service
      .join('\n')
      .replace('user=trackmilter', `user=${PIPE_USER}`)
      .replace(/argv=\S+ bounce --config \S+/, `argv=${cli} bounce --http 127.0.0.1:${daemon.httpPort} --data ${daemon.dataDir}`) + '\n'
  );
}

function startRefusingSink(port: number): ChildProcess {
  return spawn(program('smtp-sink'), ['-u', 'postfix', '-f', 'rcpt', `127.0.0.1:${port}`, '100'], { stdio: 'ignore' });
}

describe.skipIf(unavailable !== undefined)('Postfix bounce -> pipe -> trackmilter bounce -> event', () => {
  let daemon: TrackmilterDaemon;
  let lab: PostfixLab;
  let refusing: ChildProcess;
  let token: string;

  beforeAll(async () => {
    daemon = await TrackmilterDaemon.start();
    // The pipe runs as nobody: let it reach the data directory's admin token, and nothing else there.
    await chmod(daemon.dataDir, 0o711);
    const nobody = os.userInfo().uid === 0 ? execFileSync('id', ['-u', PIPE_USER]).toString().trim() : '';
    const tokenFile = path.join(daemon.dataDir, 'admin.token');
    if (nobody) await chown(tokenFile, Number(nobody), -1);
    token = (await readFile(tokenFile, 'utf8')).trim();

    const refusingPort = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    refusing = startRefusingSink(refusingPort);
    lab = await PostfixLab.start({
      milter: daemon.postfixSpec,
      defaultAction: 'tempfail',
      extraSettings: {
        // Values with ':' inside an inline map need braces around each entry.
        transport_maps: `inline:{ {refusing.example = smtp:[127.0.0.1]:${refusingPort}}, {${BOUNCE_ADDRESS} = trackmilter-bounce:} }`,
        'trackmilter-bounce_destination_recipient_limit': '1',
      },
      extraMasterCf: await bounceTransport(daemon, pipeInstall!),
    });
  });

  afterAll(async () => {
    await lab?.stop();
    refusing?.kill();
    await daemon?.dispose();
    await pipeInstall?.dispose();
  });

  it('the bounce event names the recipient and SendID of the tracked message', async () => {
    const message = [
      `From: News <${BOUNCE_ADDRESS}>`,
      `To: ${GONE}`,
      'Subject: weekly',
      'X-GreenArrow-MailClass: b',
      'X-GreenArrow-InstanceID: 777',
      'X-GreenArrow-ListID: list9',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'Read https://example.com/story today.',
      '',
    ].join('\r\n');
    const [outcome] = await sendMessages(lab.smtpPort, [{ envelope: { from: BOUNCE_ADDRESS, to: [GONE] }, data: message }], { concurrency: 1 });
    expect(outcome?.accepted, JSON.stringify(outcome)).toBe(true);

    const events = await pollUntil(
      'a bounce event for b777',
      async () => {
        const res = await fetch(`http://127.0.0.1:${daemon.httpPort}/admin/events?sendid=b777`, { headers: { Authorization: `Bearer ${token}` } });
        const lines = (await res.text()).split('\n').filter((l) => l !== '');
        const bounces = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.type === 'bounce');
        return bounces.length > 0 ? bounces : undefined;
      },
      60_000,
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'bounce',
      sendId: 'b777',
      listId: 'list9',
      recipient: GONE,
      greenarrowType: 'bounce_bad_address',
      classification: 'hard',
      action: 'failed',
      reportedRecipient: GONE,
    });
    // Postfix logs the pipe's delivery once `trackmilter bounce` has exited 0, just after the event is stored.
    await pollUntil(
      'the pipe delivery in the maillog',
      async () => (/to=<bounces@lab\.example\.test>.*relay=trackmilter-bounce.*status=sent/.test(await readFile(lab.maillogPath, 'utf8')) ? true : undefined),
      30_000,
    );
  });
});
