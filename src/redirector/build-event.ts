/**
 * Builds the event recorded for a click or open from the resolved link and the request facts.
 */
import { randomBytes } from 'node:crypto';
import type { LinkKind, RedirectEvent, ResolvedLink } from './types.js';

/**
 * Event ids: 8 random bytes chosen at start, then a 64-bit counter. Unique across restarts without
 * asking the system for randomness on every request.
 */
export class EventIdSource {
  private readonly prefix = randomBytes(8);
  private high = 0;
  private low = 0;

  next(): Uint8Array {
    const id = Buffer.allocUnsafe(16);
    this.prefix.copy(id, 0);
    this.low += 1;
    if (this.low > 0xffffffff) {
      this.low = 0;
      this.high += 1;
    }
    id.writeUInt32BE(this.high, 8);
    id.writeUInt32BE(this.low, 12);
    return id;
  }
}

interface RequestFacts {
  time: Date;
  ip: string;
  userAgent: string;
  machineReason: string | undefined;
}

export function buildEvent(id: Uint8Array, kind: LinkKind, link: ResolvedLink, location: string, facts: RequestFacts): RedirectEvent {
  const event: RedirectEvent = {
    id,
    time: facts.time,
    type: kind,
    sendId: link.sendId,
    listId: link.listId,
    recipient: link.recipient,
    emailCode: link.emailCode,
    url: kind === 'click' ? location : '',
    linkName: link.linkName ?? '',
    position: link.position ?? 0,
    part: link.part ?? '',
    ip: facts.ip,
    userAgent: facts.userAgent,
    machine: facts.machineReason !== undefined,
  };
  if (facts.machineReason !== undefined) event.machineReason = facts.machineReason;
  // A click on the sender's own unsubscribe page (data-msys-unsubscribe): an unsubscribe click, with
  // its verdict; the sender's page decides whether anyone is unsubscribed, so it suppresses no one.
  if (kind === 'click' && link.unsubscribeLink) return { ...event, type: 'unsubscribe', details: { source: 'link' } };
  return event;
}
