/**
 * The load that every Postfix stress run pushes: small linked messages (three tracked links each)
 * sent over many concurrent SMTP sessions, then the accounting of what arrived at smtp-sink against
 * what Postfix answered 250 to: lost, duplicated, delivered although refused, tracked or not, and
 * every Nth message compared byte for byte once its tracked links are put back.
 */
import type { TrackmilterDaemon } from '../../test/helpers/daemon.js';
import { findDeliveryProblems, restoreTrackedLinks, testIdOf } from '../../test/helpers/delivery.js';
import { makeLinkedTextBody, makeTestMessage } from '../../test/helpers/messages.js';
import { pollUntil } from '../../test/helpers/net.js';
import type { DeliveredMessage, PostfixLab } from '../../test/helpers/postfix-lab.js';
import { sendMessages, type OutgoingMessage, type SendManyOptions, type SmtpOutcome } from '../../test/helpers/smtp.js';

/** The header trackmilter adds to every message it tracks (see test/e2e/postfix.test.ts). */
export const TRACKED_MARK = { name: 'X-Mailer-Info-Extra', value: /^[A-Za-z0-9_-]{1,56}(?: [A-Za-z0-9_-]{1,56})*$/ };

export interface LoadMessage {
  id: string;
  message: OutgoingMessage;
  /** The links in the body, in order, as the sender wrote them. */
  links: string[];
}

/** `count` linked messages of 2-6 KB; `seedBase` keeps links distinct between rounds. */
export function buildLoadMessages(idPrefix: string, count: number, seedBase = 1): LoadMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const id = `${idPrefix}-${i}`;
    const { body, links } = makeLinkedTextBody(2_000 + ((i * 7_919) % 4_000), seedBase * 1_000_000 + i, 3);
    return { id, links, message: makeTestMessage({ id, body }) };
  });
}

export interface SentRound {
  outcomes: SmtpOutcome[];
  /** When each message's final reply came (ms since the epoch). */
  doneAt: number[];
  startedAt: number;
  finishedAt: number;
}

/** Sends the messages (50 sessions, 10 messages per session unless told otherwise). */
export async function sendRound(
  lab: PostfixLab,
  messages: LoadMessage[],
  options: Partial<SendManyOptions> = {},
): Promise<SentRound> {
  const doneAt = new Array<number>(messages.length).fill(0);
  const startedAt = Date.now();
  const outcomes = await sendMessages(
    lab.smtpPort,
    messages.map((m) => m.message),
    {
      concurrency: 50,
      messagesPerSession: 10,
      ...options,
      onOutcome: (outcome, index) => {
        doneAt[index] = Date.now();
        options.onOutcome?.(outcome, index);
      },
    },
  );
  return { outcomes, doneAt, startedAt, finishedAt: Date.now() };
}

export interface DeliveryAccount {
  sent: number;
  accepted: number;
  /** Not accepted: the client still holds them (a 4xx is fine, a 5xx is not). */
  refused: number;
  refusedByCode: Record<string, number>;
  delivered: number;
  /** Accepted (250) but never delivered. */
  lost: string[];
  /** Delivered more than once. */
  duplicated: string[];
  /** Delivered although Postfix refused it: the client would send it again (a duplicate). */
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
  outcomes: SmtpOutcome[],
  options: AccountOptions,
): Promise<DeliveryAccount> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const acceptedIds = new Set(messages.filter((_, i) => outcomes[i]?.accepted).map((m) => m.id));
  await lab.waitForDeliveredMessages(acceptedIds.size, timeoutMs).catch(() => undefined); // a shortfall shows as lost below
  await pollUntil('an empty Postfix queue', async () => ((await lab.queueSize()) === 0 ? true : undefined), timeoutMs).catch(() => undefined);
  const delivered = await lab.readDeliveredMessages();

  const copies = new Map<string, DeliveredMessage[]>();
  for (const message of delivered) {
    const id = testIdOf(message) ?? `(no X-Test-Id: ${message.file})`;
    copies.set(id, [...(copies.get(id) ?? []), message]);
  }
  const refusedByCode: Record<string, number> = {};
  outcomes.forEach((outcome) => {
    if (outcome.accepted) return;
    const key = `${outcome.stage} ${outcome.code}`;
    refusedByCode[key] = (refusedByCode[key] ?? 0) + 1;
  });

  const origin = `http://127.0.0.1:${daemon.httpPort}`;
  const verifyEvery = options.verifyEvery ?? 10;
  const problems: string[] = [];
  let verified = 0;
  messages.forEach((sent, i) => {
    const copy = copies.get(sent.id)?.[0];
    if (!copy || i % verifyEvery !== 0) return;
    const isTracked = copy.header(TRACKED_MARK.name).length > 0;
    if (!isTracked && options.tracking === 'all') problems.push(`${sent.id}: delivered untracked`);
    const expectation = isTracked ? { added: [TRACKED_MARK] } : { absentOf: [TRACKED_MARK] };
    problems.push(
      ...findDeliveryProblems([sent.message], [copy], expectation, {
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
    refusedByCode,
    delivered: delivered.length,
    lost: [...acceptedIds].filter((id) => !copies.has(id)),
    duplicated: [...copies].filter(([, list]) => list.length > 1).map(([id]) => id),
    deliveredAfterRefusal: messages.filter((m, i) => !outcomes[i]?.accepted && copies.has(m.id)).map((m) => m.id),
    tracked,
    untracked: delivered.length - tracked,
    verified,
    problems,
  };
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
