/**
 * The load that every Postfix stress run pushes: small linked messages (three tracked links each)
 * sent over many concurrent SMTP sessions, then the accounting of what arrived at smtp-sink against
 * what Postfix answered 250 to: lost, duplicated, delivered although refused, tracked or not, and
 * every Nth message compared byte for byte once its tracked links are put back.
 */
import type { TrackmilterDaemon } from '../../test/helpers/daemon.js';
import { findDeliveryProblems, restoreTrackedLinks, testIdOf } from '../../test/helpers/delivery.js';
import { makeLinkedTextBody, makeTestMessage } from '../../test/helpers/messages.js';
import { readDumpsInBatches } from './dumps.js';
import { pollUntil } from '../../test/helpers/net.js';
import type { DeliveredMessage, PostfixLab } from '../../test/helpers/postfix-lab.js';
import { sendMessages, type OutgoingMessage, type SendManyOptions, type SmtpOutcome } from '../../test/helpers/smtp.js';

/** The header trackmilter adds to every message it tracks (see test/e2e/postfix.test.ts). */
export const TRACKED_MARK = { name: 'X-Mailer-Info-Extra', value: /^[A-Za-z0-9_-]{1,56}(?: [A-Za-z0-9_-]{1,56})*$/ };

export interface LoadMessage {
  id: string;
  /** The links in the body, in order, as the sender wrote them. */
  links: string[];
  /** The message as sent the nth time (X-Test-Attempt tells which send a delivered copy came from). */
  message(attempt: number): OutgoingMessage;
}

/** `count` linked messages of 2-6 KB; `seedBase` keeps links distinct between rounds. */
export function buildLoadMessages(idPrefix: string, count: number, seedBase = 1): LoadMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `${idPrefix}-${i}`;
    const { body, links } = makeLinkedTextBody(2_000 + ((i * 7_919) % 4_000), seedBase * 1_000_000 + i, 3);
    return { id, links, message: (attempt: number) => makeTestMessage({ id, body, attempt }) };
  });
}

export interface SentRound {
  /** Each message's last outcome (accepted, or refused on every attempt). */
  outcomes: SmtpOutcome[];
  /** The attempt (1-based) Postfix accepted, 0 when none was. */
  acceptedAttempt: number[];
  /** Every refusal of every attempt, by "stage code". */
  refusedByCode: Record<string, number>;
  startedAt: number;
  finishedAt: number;
}

export interface RoundOptions extends Partial<SendManyOptions> {
  /** Send a refused message again, up to this many attempts in all (default 1: no retry). */
  attempts?: number;
  /** After a refusal every sender waits this long, as a client backs off on a 4xx (default 0). */
  backoffMs?: number;
}

/**
 * Sends the messages (50 sessions, 10 messages per session unless told otherwise), then sends what
 * was refused again, as an injector keeps a message it got a 4xx for and retries it.
 */
export async function sendRound(lab: PostfixLab, messages: LoadMessage[], options: RoundOptions = {}): Promise<SentRound> {
  const outcomes = new Array<SmtpOutcome>(messages.length);
  const acceptedAttempt = new Array<number>(messages.length).fill(0);
  const refusedByCode: Record<string, number> = {};
  const backoffMs = options.backoffMs ?? 0;
  let pauseUntil = 0;
  const startedAt = Date.now();
  let pending = messages.map((_, i) => i);
  for (let attempt = 1; attempt <= (options.attempts ?? 1) && pending.length > 0; attempt++) {
    const batch = pending;
    const results = await sendMessages(
      lab.smtpPort,
      batch.map((i) => messages[i]!.message(attempt)),
      {
        concurrency: 50,
        messagesPerSession: 10,
        ...options,
        beforeSend: async (k) => {
          const wait = pauseUntil - Date.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          await options.beforeSend?.(k);
        },
        onOutcome: (outcome, k) => {
          if (!outcome.accepted) {
            const key = `${outcome.stage} ${outcome.code}`;
            refusedByCode[key] = (refusedByCode[key] ?? 0) + 1;
            pauseUntil = Date.now() + backoffMs;
          }
          options.onOutcome?.(outcome, batch[k]!);
        },
      },
    );
    results.forEach((outcome, k) => {
      outcomes[batch[k]!] = outcome;
      if (outcome.accepted) acceptedAttempt[batch[k]!] = attempt;
    });
    pending = batch.filter((_, k) => !results[k]!.accepted);
  }
  return { outcomes, acceptedAttempt, refusedByCode, startedAt, finishedAt: Date.now() };
}

export interface DeliveryAccount {
  sent: number;
  accepted: number;
  /** Never accepted: the client still holds them (a 4xx is fine, a 5xx is not). */
  refused: number;
  /** Refusals over all attempts. */
  refusals: number;
  refusedByCode: Record<string, number>;
  delivered: number;
  /** Accepted (250) but never delivered. */
  lost: string[];
  /** Delivered more than once. */
  duplicated: string[];
  /** A copy from a send Postfix refused was delivered: the client sends it again (a duplicate). */
  deliveredAfterRefusal: string[];
  tracked: number;
  untracked: number;
  verified: number;
  /** Differences found in the verified messages, in words. */
  problems: string[];
}

export interface AccountOptions {
  /** 'all': every delivered message must be tracked (tempfail); 'some': untracked copies must be untouched (accept). */
  tracking: 'all' | 'some';
  /** Verify every Nth message (by send order). Default 10. */
  verifyEvery?: number;
  timeoutMs?: number;
}

/**
 * Waits until every accepted message is delivered and the queue is empty (nothing more can arrive),
 * then accounts for each message. Call lab.clearDeliveredMessages() before the round.
 */
export async function accountDeliveries(
  lab: PostfixLab,
  daemon: TrackmilterDaemon,
  messages: LoadMessage[],
  round: SentRound,
  options: AccountOptions,
): Promise<DeliveryAccount> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const acceptedIds = new Set(messages.filter((_, i) => round.acceptedAttempt[i]! > 0).map((m) => m.id));
  // A shortfall is not thrown here: it shows below as lost messages.
  await pollUntil(
    'every accepted message delivered',
    async () => ((await lab.deliveriesSinceClear()) >= acceptedIds.size ? true : undefined),
    timeoutMs,
    250,
  ).catch(() => undefined);
  await pollUntil('an empty Postfix queue', async () => ((await lab.queueSize()) === 0 ? true : undefined), timeoutMs).catch(() => undefined);
  // Only this round's messages count (a probe sent alongside is someone else's business).
  const ids = new Set(messages.map((m) => m.id));
  const delivered = (await readDumpsInBatches(lab)).filter((m) => ids.has(testIdOf(m) ?? ''));

  const copies = new Map<string, DeliveredMessage[]>();
  for (const message of delivered) {
    const id = testIdOf(message) ?? `(no X-Test-Id: ${message.file})`;
    copies.set(id, [...(copies.get(id) ?? []), message]);
  }

  const origin = `http://127.0.0.1:${daemon.httpPort}`;
  const verifyEvery = options.verifyEvery ?? 10;
  const problems: string[] = [];
  let verified = 0;
  messages.forEach((sent, i) => {
    const copy = copies.get(sent.id)?.[0];
    if (!copy || i % verifyEvery !== 0 || round.acceptedAttempt[i] === 0) return;
    const isTracked = copy.header(TRACKED_MARK.name).length > 0;
    if (!isTracked && options.tracking === 'all') problems.push(`${sent.id}: delivered untracked`);
    const expectation = isTracked ? { added: [TRACKED_MARK] } : { absentOf: [TRACKED_MARK] };
    problems.push(
      // X-Test-Attempt is compared too: the copy delivered must be the send Postfix accepted.
      ...findDeliveryProblems([sent.message(round.acceptedAttempt[i]!)], [copy], expectation, {
        restoreBody: (_id, body) => restoreTrackedLinks(body, sent.links, origin),
      }),
    );
    verified++;
  });

  const tracked = delivered.filter((m) => m.header(TRACKED_MARK.name).length > 0).length;
  return {
    sent: messages.length,
    accepted: acceptedIds.size,
    refused: messages.length - acceptedIds.size,
    refusals: Object.values(round.refusedByCode).reduce((a, b) => a + b, 0),
    refusedByCode: round.refusedByCode,
    delivered: delivered.length,
    lost: [...acceptedIds].filter((id) => !copies.has(id)),
    duplicated: [...copies].filter(([, list]) => list.length > 1).map(([id]) => id),
    deliveredAfterRefusal: messages.filter((m, i) => (copies.get(m.id) ?? []).some((copy) => attemptOf(copy) !== round.acceptedAttempt[i])).map((m) => m.id),
    tracked,
    untracked: delivered.length - tracked,
    verified,
    problems,
  };
}

function attemptOf(copy: DeliveredMessage): number {
  return Number(copy.header('X-Test-Attempt')[0] ?? 0);
}

export interface MilterTrouble {
  /** Deferred or bounced deliveries whose reason names the milter. */
  milterDeferrals: number;
  /** Refusals at SMTP time by the milter (milter-reject: 4xx while it was down, with tempfail). */
  milterRejects: number;
  deferred: number;
  bounced: number;
}

/** Counts milter trouble in the lab's maillog (the whole log: use a fresh lab per round). */
export async function milterTrouble(lab: PostfixLab): Promise<MilterTrouble> {
  const lines = (await lab.maillog()).split('\n');
  const counts = await lab.maillogCounts();
  return {
    milterDeferrals: lines.filter((line) => / status=(deferred|bounced) /.test(line) && /milter/i.test(line)).length,
    milterRejects: counts.milterRejects,
    deferred: counts.deferred,
    bounced: counts.bounced,
  };
}
