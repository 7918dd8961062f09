// Unsubscribes: who a token names, whether they already left the list, and recording one unsubscribe
// (the event, and with it the suppression, written by the store in one batch) exactly once.
import { randomBytes } from 'node:crypto';
import type { Keyring } from '../tokens/keyring.js';
import { decodeUnsubscribeToken } from '../tokens/unsubscribe-token.js';
import { normalizeAddress, type TrackEvent, type TrackStore } from '../store/index.js';

/** Who unsubscribes from what: a verified token's identity. */
export interface UnsubscribeTarget {
  recipient: string;
  sendId: string;
  listId: string;
  emailCode: string;
  /** Picks the confirmation page's template. */
  mailClass: string;
}

/** How the unsubscribe arrived: RFC 8058's POST, the confirmation page's button, or mail to the address. */
type UnsubscribeSource = 'one-click' | 'page' | 'mailto';

export interface UnsubscribeFacts {
  time: Date;
  ip: string;
  userAgent: string;
  machineReason?: string;
}

type UnsubscribeOutcome = 'recorded' | 'already';

interface UnsubscribeServiceOptions {
  keyring: Keyring;
  /** Stateful tokens need the message record; suppressions make repeats idempotent. Null: stateless only. */
  store: Pick<TrackStore, 'getMessage' | 'suppressedAmong'> | null;
  /** The event pipeline (store, then sinks): resolves once the event is durably written. */
  record: (events: TrackEvent[]) => Promise<void>;
  /** A stateless token older than this is expired (a stateful one expires with its message record). */
  maxAgeMs: number;
  now?: () => number;
}

export class UnsubscribeService {
  /** Unsubscribes being recorded, by list and address: a second POST meanwhile waits for the first. */
  private readonly inFlight = new Map<string, Promise<UnsubscribeOutcome>>();
  private readonly now: () => number;

  constructor(private readonly o: UnsubscribeServiceOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The target of a token, or null when it is forged, malformed, expired or names no one. Never throws on bad input. */
  async resolve(token: string): Promise<UnsubscribeTarget | null> {
    const decoded = decodeUnsubscribeToken(this.o.keyring, token);
    if (!decoded.ok) return null;
    if (decoded.kind === 'stateless') {
      if (this.now() - decoded.mintedAt > this.o.maxAgeMs) return null;
      const { recipient, sendId, listId, emailCode, mailClass } = decoded;
      return recipient && listId ? { recipient, sendId, listId, emailCode, mailClass } : null;
    }
    const message = this.o.store ? await this.o.store.getMessage(decoded.messageId) : undefined;
    if (!message || message.recipients.length !== 1 || !message.listId) return null;
    return {
      recipient: message.recipients[0]!,
      sendId: message.sendId,
      listId: message.listId,
      emailCode: message.emailCode,
      mailClass: decoded.mailClass,
    };
  }

  async isUnsubscribed(target: UnsubscribeTarget): Promise<boolean> {
    if (!this.o.store) return false;
    return (await this.o.store.suppressedAmong(target.listId, [target.recipient])).size > 0;
  }

  /** Records the unsubscribe unless the person already left the list; resolves once it is on disk. */
  unsubscribe(target: UnsubscribeTarget, facts: UnsubscribeFacts, source: UnsubscribeSource): Promise<UnsubscribeOutcome> {
    const key = `${target.listId}\0${normalizeAddress(target.recipient)}`;
    const running = this.inFlight.get(key);
    if (running) return running.then(() => 'already');
    const work = (async (): Promise<UnsubscribeOutcome> => {
      if (await this.isUnsubscribed(target)) return 'already';
      await this.o.record([unsubscribeEvent(target, facts, source)]);
      return 'recorded';
    })();
    this.inFlight.set(key, work);
    const forget = (): void => {
      this.inFlight.delete(key);
    };
    work.then(forget, forget);
    return work;
  }
}

function unsubscribeEvent(target: UnsubscribeTarget, facts: UnsubscribeFacts, source: UnsubscribeSource): TrackEvent {
  const event: TrackEvent = {
    id: randomBytes(16),
    time: facts.time,
    type: 'unsubscribe',
    sendId: target.sendId,
    listId: target.listId,
    recipient: target.recipient,
    emailCode: target.emailCode,
    url: '',
    linkName: '',
    position: 0,
    part: '',
    ip: facts.ip,
    userAgent: facts.userAgent,
    machine: facts.machineReason !== undefined,
    details: { source },
  };
  if (facts.machineReason !== undefined) event.machineReason = facts.machineReason;
  return event;
}
