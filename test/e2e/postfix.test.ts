/**
 * trackmilter behind a real Postfix: a private instance on loopback (postfix-examples/lab) with
 * smtpd_milters pointing at `node dist/cli/main.js serve`, relaying to smtp-sink, which dumps every
 * delivered message. What arrives is compared byte for byte (line endings aside) with what was sent,
 * once the links trackmilter rewrote are put back and its X-Mailer-Info-Extra header set aside.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TrackmilterDaemon } from '../helpers/daemon.js';
import { findDeliveryProblems, postfixQueueIdOf, restoreTrackedLinks, testIdOf, testIdOfOutgoing, type HeaderExpectation } from '../helpers/delivery.js';
import { RecordingMilter } from '../helpers/recording-milter.js';
import {
  awkwardHeaders,
  makeChunkBoundaryBody,
  makeLinkedTextBody,
  makeTestMessage,
  makeTextBody,
  testLink,
  type TestMessageOptions,
} from '../helpers/messages.js';
import { pollUntil } from '../helpers/net.js';
import { MAIN_CF_EXAMPLE, PostfixLab, milterEntry, postfixLabUnavailableReason, program, type DeliveredMessage } from '../helpers/postfix-lab.js';
import { SmtpSession, encodeSmtpData, sendMessages, type OutgoingMessage, type SmtpOutcome } from '../helpers/smtp.js';

/**
 * What trackmilter adds to the header of each of our test messages (tracked under the default mail
 * class): `X-Mailer-Info-Extra`, as DESIGN.md says for every tracked message (signed base64url in
 * space-separated chunks of at most 56 characters). Nothing else in the header may change. (The
 * early `X-Trackmilter: <version>` stamp went when the tracking filter was wired in.)
 */
const TRACKMILTER_ADDS = [{ name: 'X-Mailer-Info-Extra', value: /^[A-Za-z0-9_-]{1,56}(?: [A-Za-z0-9_-]{1,56})*$/ }];
const STAMP = { added: TRACKMILTER_ADDS };
const UNTOUCHED = { absentOf: TRACKMILTER_ADDS };

/**
 * The links of each linked test message, by X-Test-Id. trackmilter rewrites them (so it must hand
 * the body back through REPLBODY); the comparison puts the originals back in order, so that every
 * other byte of the body must still be as sent.
 */
const linksOf = new Map<string, string[]>();

/** A test message whose plain-text body carries `linkCount` links (see makeLinkedTextBody). */
function linkedMessage(
  id: string,
  approximateBytes: number,
  seed: number,
  linkCount: number,
  extra: Omit<TestMessageOptions, 'id' | 'body'> = {},
): OutgoingMessage {
  const { body, links } = makeLinkedTextBody(approximateBytes, seed, linkCount);
  linksOf.set(id, links);
  return makeTestMessage({ ...extra, id, body });
}

/** findDeliveryProblems with the daemon's tracked links put back to their originals. */
function deliveryProblems(daemon: TrackmilterDaemon, sent: OutgoingMessage[], delivered: DeliveredMessage[], expectation: HeaderExpectation = STAMP): string[] {
  const origin = `http://127.0.0.1:${daemon.httpPort}`;
  return findDeliveryProblems(sent, delivered, expectation, { restoreBody: (id, body) => restoreTrackedLinks(body, linksOf.get(id) ?? [], origin) });
}

/** Follows the first tracked link in a delivered body: the redirector's answer. */
async function followFirstTrackedLink(daemon: TrackmilterDaemon, message: DeliveredMessage): Promise<{ status: number; location: string | null }> {
  const origin = `http://127.0.0.1:${daemon.httpPort}`;
  const url = new RegExp(`${origin.replace(/[.]/g, '\\.')}/c/[^\\s"'<>]+`).exec(message.body.toString('latin1'))?.[0];
  if (!url) return { status: 0, location: null };
  const response = await fetch(url, { redirect: 'manual' });
  return { status: response.status, location: response.headers.get('location') };
}

const unavailable = postfixLabUnavailableReason();
if (unavailable) console.log(`test/e2e/postfix.test.ts: Postfix end-to-end tests skipped: ${unavailable}`);

function rejectedOutcomes(outcomes: SmtpOutcome[]): Array<SmtpOutcome & { index: number }> {
  return outcomes.map((outcome, index) => ({ ...outcome, index })).filter((outcome) => !outcome.accepted);
}

/** Every delivered message was logged by the daemon under its Postfix queue id, as modified. */
async function expectDaemonLoggedEach(daemon: TrackmilterDaemon, delivered: DeliveredMessage[]): Promise<void> {
  const queueIds = delivered.map((message) => postfixQueueIdOf(message) ?? `(no queue id in ${testIdOf(message)})`);
  const missing = await pollUntil(
    'a "message" log line per delivered message',
    () => {
      const logged = new Map(daemon.messageLogs().map((line) => [String(line.queueId), String(line.outcome)]));
      const notLogged = queueIds.filter((id) => logged.get(id) !== 'modified');
      return notLogged.length === 0 ? notLogged : undefined;
    },
    10_000,
  ).catch(() => {
    const logged = new Map(daemon.messageLogs().map((line) => [String(line.queueId), String(line.outcome)]));
    return queueIds.filter((id) => logged.get(id) !== 'modified').map((id) => `${id}: ${logged.get(id) ?? 'not logged'}`);
  });
  expect(missing).toEqual([]);
}

interface InterruptedRound {
  firstOutcomes: SmtpOutcome[];
  refused: Array<SmtpOutcome & { index: number }>;
}

/**
 * Sends `total` messages over 10 sessions; after 40 were accepted, interrupts the daemon
 * (`interrupt`: SIGKILL or SIGTERM), holds the senders once 20 more were refused, restarts the
 * daemon, lets the round finish, then retries what the client still holds. Checks that every
 * refusal was a 4xx, that the round went on through the restarted daemon, and that every message
 * arrived exactly once, stamped, intact, in the copy (attempt) the client saw accepted.
 */
async function runInterruptedRound(
  lab: PostfixLab,
  daemon: TrackmilterDaemon,
  options: { idPrefix: string; total: number; interrupt: () => Promise<void> },
): Promise<InterruptedRound> {
  const { idPrefix, total } = options;
  const interruptAfterAccepted = 40;
  const restartAfterRefused = 20;
  const build = (i: number, attempt: number): OutgoingMessage =>
    linkedMessage(`${idPrefix}-${i}`, 20_000 + ((i * 104_729) % 200_000), 10_000 + i, 3, { attempt });

  let accepted = 0;
  let refusedAfterInterrupt = 0;
  let interrupting: Promise<void> | undefined;
  let restarting: Promise<void> | undefined;
  const firstOutcomes = await sendMessages(
    lab.smtpPort,
    Array.from({ length: total }, (_, i) => build(i, 1)),
    {
      concurrency: 10,
      messagesPerSession: 5,
      // Once enough messages were refused, hold the senders until the daemon is back, so the
      // rest of this round goes through the restarted daemon.
      beforeSend: () => restarting,
      onOutcome: (outcome) => {
        if (outcome.accepted) accepted++;
        if (!interrupting && accepted >= interruptAfterAccepted) interrupting = options.interrupt();
        if (interrupting && !outcome.accepted) refusedAfterInterrupt++;
        if (interrupting && !restarting && refusedAfterInterrupt >= restartAfterRefused) restarting = interrupting.then(() => daemon.restart());
      },
    },
  );
  expect(interrupting, 'the daemon was interrupted mid-run').toBeDefined();
  expect(restarting, 'the daemon was restarted mid-run').toBeDefined();
  await restarting;

  // Not accepted means a 4xx: the client keeps the message and may retry. Never a 5xx, never silence.
  const refused = rejectedOutcomes(firstOutcomes);
  const refusals = new Map<string, number>();
  for (const outcome of refused) refusals.set(`${outcome.stage} ${outcome.code}`, (refusals.get(`${outcome.stage} ${outcome.code}`) ?? 0) + 1);
  console.log(`${idPrefix} round: ${total - refused.length} accepted, refused by stage and code: ${JSON.stringify(Object.fromEntries(refusals))}`);
  expect(refused.filter((outcome) => outcome.code < 400 || outcome.code >= 500)).toEqual([]);
  // Messages sent after the restart went through in this same round.
  expect(firstOutcomes.slice(-20).some((outcome) => outcome.accepted)).toBe(true);

  // The client retries what it still holds, now that the daemon is back.
  const attemptOf = new Map<number, number>();
  firstOutcomes.forEach((outcome, i) => {
    if (outcome.accepted) attemptOf.set(i, 1);
  });
  let held = refused.map((outcome) => outcome.index);
  for (let attempt = 2; attempt <= 4 && held.length > 0; attempt++) {
    const retryOutcomes = await sendMessages(
      lab.smtpPort,
      held.map((i) => build(i, attempt)),
      { concurrency: 5 },
    );
    retryOutcomes.forEach((outcome, k) => {
      if (outcome.accepted) attemptOf.set(held[k]!, attempt);
    });
    held = held.filter((_, k) => !retryOutcomes[k]!.accepted);
  }
  expect(held, 'messages still refused after the restart').toEqual([]);

  // Exactly once: `total` deliveries, then an empty queue (nothing left that could arrive later).
  const delivered = await lab.waitForDeliveredMessages(total);
  await pollUntil('an empty Postfix queue', async () => ((await lab.queueSize()) === 0 ? true : undefined), 60_000);
  expect(await lab.deliveriesSinceClear()).toBe(total);
  // X-Test-Attempt is compared too: the copy delivered is the one the client saw accepted, so no
  // refused attempt was delivered behind the client's back (nothing half-processed got through).
  const expected = Array.from({ length: total }, (_, i) => build(i, attemptOf.get(i) ?? -1));
  expect(deliveryProblems(daemon, expected, delivered)).toEqual([]);
  expect((await lab.maillogCounts()).bounced).toBe(0);
  return { firstOutcomes, refused };
}

describe.skipIf(unavailable !== undefined)('Postfix -> trackmilter (inet socket) -> smtp-sink', () => {
  let daemon: TrackmilterDaemon;
  let lab: PostfixLab;

  beforeAll(async () => {
    daemon = await TrackmilterDaemon.start();
    // tempfail: if the milter is unreachable or fails, Postfix must not let the message through unfiltered.
    lab = await PostfixLab.start({ milter: daemon.postfixSpec, defaultAction: 'tempfail' });
  });

  afterAll(async () => {
    await lab?.stop();
    await daemon?.dispose();
  });

  beforeEach(async () => {
    await lab.clearDeliveredMessages();
  });

  it('relays 200 distinct messages sent over 10 concurrent SMTP sessions, each tracked once and otherwise byte-identical', async () => {
    // Mostly small bodies, every tenth one over two BODY chunks, every fourth with UTF-8 (8bit)
    // lines, one empty body, some with three recipients, some with hundreds of awkward headers;
    // two in three carry links (body replaced), the others none (body passed as it is).
    const messages = Array.from({ length: 200 }, (_, i) => {
      const id = `bulk-${i}`;
      const size = i % 10 === 0 ? 150_000 + i * 97 : 300 + ((i * 7919) % 30_000);
      const extra = {
        ...(i % 25 === 5 ? { recipients: [`a-${i}@example.net`, `b-${i}@example.net`, `c-${i}@example.org`] } : {}),
        ...(i % 50 === 7 ? { extraHeaders: awkwardHeaders() } : {}),
      };
      if (i === 3) return makeTestMessage({ id, body: '', ...extra });
      if (i % 3 === 0) return makeTestMessage({ id, body: makeTextBody(size, i + 1, { eightBit: i % 4 === 1 }), ...extra });
      const { body, links } = makeLinkedTextBody(size, i + 1, 1 + (i % 5), { eightBit: i % 4 === 1 });
      linksOf.set(id, links);
      return makeTestMessage({ id, body, ...extra });
    });
    const outcomes = await sendMessages(lab.smtpPort, messages, { concurrency: 10, messagesPerSession: 10 });
    expect(rejectedOutcomes(outcomes)).toEqual([]);

    const delivered = await lab.waitForDeliveredMessages(messages.length);
    expect(deliveryProblems(daemon, messages, delivered)).toEqual([]);
    expect(delivered).toHaveLength(messages.length);
    // The links put back for the comparison are the ones the redirector sends each reader to.
    const sample = delivered.filter((message) => (linksOf.get(testIdOf(message)!) ?? []).length > 0).slice(0, 5);
    const followed = await Promise.all(sample.map((message) => followFirstTrackedLink(daemon, message)));
    expect(followed).toEqual(sample.map((message) => ({ status: 302, location: linksOf.get(testIdOf(message)!)![0] })));
    await expectDaemonLoggedEach(daemon, delivered);
    expect(daemon.strayOutput, 'stdout lines that are not JSON').toEqual([]);
  });

  it('relays a 20 MB message with 50 links intact apart from its tracked links', async () => {
    const message = linkedMessage('big-20mb', 20 * 1024 * 1024, 2020, 50);
    const outcomes = await sendMessages(lab.smtpPort, [message], { concurrency: 1 });
    expect(rejectedOutcomes(outcomes)).toEqual([]);

    const delivered = await lab.waitForDeliveredMessages(1);
    expect(delivered[0]!.body.length).toBeGreaterThan(20 * 1024 * 1024 - 1000);
    expect(deliveryProblems(daemon, [message], delivered)).toEqual([]);
    await expectDaemonLoggedEach(daemon, delivered);
  });

  it('relays bodies whose CRLF falls across a 65535-byte body chunk boundary intact (apart from their tracked link)', async () => {
    // Postfix fills each BODY packet to exactly 65535 bytes of the CRLF-form body (the part after
    // the blank line). shift 0: CR ends chunk 1, LF starts chunk 2; -1: the CRLF ends the chunk;
    // +1: the chunk ends right before the CR; and the same split at the second boundary.
    const cases = [
      { boundary: 1, shift: 0 },
      { boundary: 1, shift: -1 },
      { boundary: 1, shift: 1 },
      { boundary: 2, shift: 0 },
    ];
    // Each body starts with a link, so trackmilter must rebuild the whole body across the split CRLF.
    const messages = cases.map((where, k) => {
      const id = `chunk-b${where.boundary}-s${where.shift}`;
      linksOf.set(id, [testLink(7000 + k, 0)]);
      return makeTestMessage({ id, body: makeChunkBoundaryBody({ ...where, firstLines: [`Read more: ${testLink(7000 + k, 0)}`] }) });
    });
    // A recording milter in front of trackmilter shows the BODY packets both of them were fed.
    const recorder = await RecordingMilter.start();
    await lab.reconfigure({ smtpd_milters: `${milterEntry(recorder.postfixSpec, 'tempfail')}, ${milterEntry(daemon.postfixSpec, 'tempfail')}` });
    try {
      const outcomes = await sendMessages(lab.smtpPort, messages, { concurrency: 2 });
      expect(rejectedOutcomes(outcomes)).toEqual([]);
      const delivered = await lab.waitForDeliveredMessages(messages.length);
      expect(deliveryProblems(daemon, messages, delivered)).toEqual([]);

      // The recorder saw the CRLF exactly where each case meant to put it.
      const lastAndFirstByte: Record<number, [string, string]> = { 0: ['\r', '\n'], [-1]: ['\n', '.'], 1: ['z', '\r'] };
      for (const message of delivered) {
        const id = testIdOf(message)!;
        const where = cases[messages.findIndex((sent) => testIdOfOutgoing(sent) === id)]!;
        const chunks = recorder.messages.find((m) => m.queueId === postfixQueueIdOf(message))?.bodyChunks ?? [];
        const before = chunks[where.boundary - 1];
        const after = chunks[where.boundary];
        expect({
          id,
          fullChunks: chunks.slice(0, where.boundary).map((chunk) => chunk.length),
          lastByteOfChunk: before?.subarray(-1).toString('latin1'),
          firstByteOfNext: after?.subarray(0, 1).toString('latin1'),
        }).toEqual({
          id,
          fullChunks: Array.from({ length: where.boundary }, () => 65535),
          lastByteOfChunk: lastAndFirstByte[where.shift]![0],
          firstByteOfNext: lastAndFirstByte[where.shift]![1],
        });
      }
    } finally {
      await lab.reconfigure({ smtpd_milters: milterEntry(daemon.postfixSpec, 'tempfail') });
      await recorder.stop();
    }
  });

  it('carries on after abandoned transactions (RSET after RCPT, a client vanishing mid-DATA), delivering none of them', async () => {
    const session = await SmtpSession.open(lab.smtpPort);
    expect((await session.command('MAIL FROM:<abandoned@example.com>')).code).toBe(250);
    expect((await session.command('RCPT TO:<abandoned@example.net>')).code).toBe(250);
    expect((await session.command('RSET')).code).toBe(250);
    const afterReset = linkedMessage('after-rset', 80_000, 31, 2);
    expect(await session.send(afterReset)).toMatchObject({ accepted: true });

    const vanishing = await SmtpSession.open(lab.smtpPort);
    expect((await vanishing.command('MAIL FROM:<vanishing@example.com>')).code).toBe(250);
    expect((await vanishing.command('RCPT TO:<vanishing@example.net>')).code).toBe(250);
    expect((await vanishing.command('DATA')).code).toBe(354);
    const doomed = encodeSmtpData(makeTestMessage({ id: 'vanished', body: makeTextBody(200_000, 32) }).data);
    vanishing.writeRaw(doomed.subarray(0, 100_000));
    vanishing.destroy();
    await pollUntil(
      'Postfix noticing the vanished client',
      async () => ((await lab.grepMaillog(/lost connection after DATA/)).length > 0 ? true : undefined),
      30_000,
    );

    // The same session, and new ones, go on as before.
    const afterVanish = Array.from({ length: 10 }, (_, i) => linkedMessage(`after-vanish-${i}`, 5_000 + i * 9_000, 40 + i, 2));
    const onSameSession = linkedMessage('same-session', 3_000, 33, 1);
    expect(await session.send(onSameSession)).toMatchObject({ accepted: true });
    await session.quit();
    expect(rejectedOutcomes(await sendMessages(lab.smtpPort, afterVanish, { concurrency: 3 }))).toEqual([]);

    const sent = [afterReset, onSameSession, ...afterVanish];
    const delivered = await lab.waitForDeliveredMessages(sent.length);
    await pollUntil('an empty Postfix queue', async () => ((await lab.queueSize()) === 0 ? true : undefined), 60_000);
    // findDeliveryProblems also reports anything delivered that was not sent (the vanished one).
    expect(deliveryProblems(daemon, sent, await lab.readDeliveredMessages())).toEqual([]);
    await expectDaemonLoggedEach(daemon, delivered);
  });

  it('tracks end to end: the links of a message relayed by Postfix lead through the daemon to their original URLs', async () => {
    const boundary = 'e2e-alternative';
    const textLink = 'https://www.example.com/text-link?x=1';
    const htmlLink = 'https://www.example.com/html-link?y=2&z=3';
    const body = [
      `--${boundary}`,
      'Content-Type: text/plain; charset=us-ascii',
      'Content-Transfer-Encoding: 7bit',
      '',
      `Read more: ${textLink}`,
      '',
      `--${boundary}`,
      'Content-Type: text/html; charset=us-ascii',
      'Content-Transfer-Encoding: 7bit',
      '',
      `<html><body><p><a href="${htmlLink.replace('&', '&amp;')}">Read more</a></p></body></html>`,
      '',
      `--${boundary}--`,
      '',
    ].join('\n');
    const message = makeTestMessage({ id: 'tracked-1', body, contentType: `multipart/alternative; boundary="${boundary}"` });
    expect(rejectedOutcomes(await sendMessages(lab.smtpPort, [message], { concurrency: 1 }))).toEqual([]);
    const [delivered] = await lab.waitForDeliveredMessages(1);
    const deliveredBody = delivered!.body.toString('latin1');

    // Links now point at the daemon's own redirector (the default with no config), compact style.
    const origin = `http://127.0.0.1:${daemon.httpPort}`;
    const tracked = (kind: 'c' | 'o') =>
      [...deliveredBody.matchAll(new RegExp(`${origin.replace(/[.]/g, '\\.')}/${kind}/[^\\s"'<>]+`, 'g'))].map((match) => match[0]);
    const clicks = tracked('c');
    expect(clicks).toHaveLength(2);
    const redirects = await Promise.all(
      clicks.map(async (url) => {
        const response = await fetch(url.replaceAll('&amp;', '&'), { redirect: 'manual' });
        return { status: response.status, location: response.headers.get('location') };
      }),
    );
    expect(redirects).toEqual([
      { status: 302, location: textLink },
      { status: 302, location: htmlLink },
    ]);

    // A token that does not verify is never a redirect.
    const token = /\/c\/([^?]+)/.exec(clicks[0]!)![1]!;
    const tampered = clicks[0]!.replace(token, token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'));
    expect((await fetch(tampered, { redirect: 'manual' })).status).toBe(404);

    // The open pixel sits in the HTML part and answers with an image.
    const pixels = tracked('o');
    expect(pixels).toHaveLength(1);
    const pixel = await fetch(pixels[0]!);
    expect({ status: pixel.status, type: pixel.headers.get('content-type') }).toEqual({ status: 200, type: 'image/gif' });

    // Every other byte of the body is as sent: put the original links back, take the pixel out.
    let restored = deliveredBody;
    clicks.forEach((url, i) => (restored = restored.replace(url, i === 0 ? textLink : htmlLink.replace('&', '&amp;'))));
    restored = restored.replace(/<img[^>]*\/o\/[^>]*>/, '');
    expect(restored).toBe(body);
  });

  it('applies non_smtpd_milters to mail submitted with sendmail(1)', async () => {
    const messages = Array.from({ length: 5 }, (_, i) => linkedMessage(`local-${i}`, 500 + i * 40_000, 700 + i, 2));
    for (const message of messages) await lab.sendmail(message.envelope, message.data);

    const delivered = await lab.waitForDeliveredMessages(messages.length);
    expect(deliveryProblems(daemon, messages, delivered)).toEqual([]);
    await expectDaemonLoggedEach(daemon, delivered);
  });

  it('loses and duplicates nothing when the daemon is SIGKILLed mid-run and restarted (milter_default_action = tempfail)', async () => {
    const round = await runInterruptedRound(lab, daemon, { idPrefix: 'crash', total: 150, interrupt: () => daemon.kill() });
    expect(round.refused.length).toBeGreaterThanOrEqual(20);
  });

  it('on SIGTERM drains within the deadline, refuses later messages with 4xx, exits 0, and loses nothing', async () => {
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const round = await runInterruptedRound(lab, daemon, {
      idPrefix: 'term',
      total: 120,
      interrupt: async () => {
        exit = await daemon.stop();
      },
    });
    expect(exit).toEqual({ code: 0, signal: null });
    expect(daemon.logs.some((line) => line.msg === 'stopped')).toBe(true);
    // Graceful: the sessions drained before the shutdown deadline, and no message failed.
    expect(daemon.logs.filter((line) => /deadline/.test(String(line.msg)))).toEqual([]);
    expect(daemon.messageLogs().filter((line) => line.outcome === 'failed')).toEqual([]);
    // A session is stopped once its message is done: what Postfix sends on it afterwards (it does not
    // wait for replies before end of message) is never half-handled, and Postfix tempfails it.
    expect(daemon.messageLogs().filter((line) => line.outcome === 'aborted')).toEqual([]);
    expect(round.refused.length).toBeGreaterThanOrEqual(20);
  });
});

describe.skipIf(unavailable !== undefined)('Postfix -> trackmilter (unix socket) -> smtp-sink, default_action=accept as in main.cf.example', () => {
  let daemon: TrackmilterDaemon;
  let lab: PostfixLab;
  let socketPath: string;

  beforeAll(async () => {
    // The socket sits in the lab's socket dir (mode 0755, Postfix's smtpd runs unchrooted as user
    // postfix); the daemon gives it group postfix and mode 0660, as an admin would configure it.
    lab = await PostfixLab.start({ defaultAction: 'accept' });
    socketPath = lab.socketPath('trackmilter.sock');
    daemon = await TrackmilterDaemon.start({
      unixSocket: socketPath,
      configToml: '[milter]\nsocket_group = "postfix"\nsocket_mode = "0660"\n',
    });
    await lab.reconfigure({ smtpd_milters: milterEntry(daemon.postfixSpec, 'accept') });
  });

  afterAll(async () => {
    await lab?.stop();
    await daemon?.dispose();
  });

  beforeEach(async () => {
    await lab.clearDeliveredMessages();
  });

  it('relays messages through a unix-socket milter, each tracked once and otherwise byte-identical', async () => {
    const messages = Array.from({ length: 30 }, (_, i) => linkedMessage(`unix-${i}`, 1_000 + i * 5_000, 500 + i, i % 3));
    const outcomes = await sendMessages(lab.smtpPort, messages, { concurrency: 4, messagesPerSession: 5 });
    expect(rejectedOutcomes(outcomes)).toEqual([]);

    const delivered = await lab.waitForDeliveredMessages(messages.length);
    expect(deliveryProblems(daemon, messages, delivered)).toEqual([]);
    await expectDaemonLoggedEach(daemon, delivered);
  });

  it('keeps mail flowing (untracked) while the daemon is down, and after a SIGKILL restarts on the same socket path', async () => {
    await daemon.kill();
    expect(existsSync(socketPath), 'SIGKILL leaves the socket file behind').toBe(true);
    const whileDown = Array.from({ length: 5 }, (_, i) => linkedMessage(`down-${i}`, 2_000 + i * 30_000, 900 + i, 2));
    expect(rejectedOutcomes(await sendMessages(lab.smtpPort, whileDown, { concurrency: 2 }))).toEqual([]);
    // Untouched: no header added, links as sent (nothing to put back).
    expect(findDeliveryProblems(whileDown, await lab.waitForDeliveredMessages(whileDown.length), UNTOUCHED)).toEqual([]);

    await lab.clearDeliveredMessages();
    await daemon.restart(); // the stale socket file must not stop it
    const afterRestart = Array.from({ length: 5 }, (_, i) => linkedMessage(`back-${i}`, 2_000 + i * 30_000, 950 + i, 2));
    expect(rejectedOutcomes(await sendMessages(lab.smtpPort, afterRestart, { concurrency: 2 }))).toEqual([]);
    const delivered = await lab.waitForDeliveredMessages(afterRestart.length);
    expect(deliveryProblems(daemon, afterRestart, delivered)).toEqual([]);
    await expectDaemonLoggedEach(daemon, delivered);
  });
});

describe.skipIf(unavailable !== undefined)('postfix-examples/main.cf.example', () => {
  it('is accepted by Postfix without warnings and puts trackmilter before the DKIM signer for SMTP and local mail', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'trackmilter-maincf-'));
    try {
      await fs.copyFile(MAIN_CF_EXAMPLE, path.join(dir, 'main.cf'));
      const masterCf = await fs.readFile(path.join(path.dirname(MAIN_CF_EXAMPLE), 'lab', 'master.cf'), 'utf8');
      await fs.writeFile(path.join(dir, 'master.cf'), masterCf.replaceAll('@SMTPD_PORT@', '2525'));
      const postconf = promisify(execFile);
      const { stdout, stderr } = await postconf(program('postconf'), [
        '-c',
        dir,
        '-x',
        '-h',
        'smtpd_milters',
        'non_smtpd_milters',
        'milter_protocol',
        'milter_default_action',
      ]);
      expect(stderr).toBe('');
      const [smtpd, nonSmtpd, protocol, defaultAction] = stdout.trim().split('\n');
      expect(protocol).toBe('6');
      expect(defaultAction).toBe('accept');
      for (const milters of [smtpd, nonSmtpd]) {
        expect(milters).toMatch(/^\{ inet:127\.0\.0\.1:8899, default_action=accept, [^}]*\}, inet:127\.0\.0\.1:8891$/);
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
