// The milter side of bounce intake: a message to a bounce address is read as a DSN or ARF report, its
// events recorded, and the message delivered on or discarded (`bounce.after_record`).
import { takeInReport } from '../bounce/intake.js';
import type { FilterResult, MessageContext, MessageFilter } from '../milter/filter.js';
import type { TrackEvent } from '../store/index.js';
import type { Keyring } from '../tokens/index.js';
import type { ConfigValues } from '../config/load.js';

interface BounceReaderOptions {
  keyring: Keyring;
  recordEvents: (events: TrackEvent[]) => Promise<void>;
  afterRecord: ConfigValues['bounce.after_record'];
}

export function createBounceReader({ keyring, recordEvents, afterRecord }: BounceReaderOptions): MessageFilter {
  return {
    async endOfMessage(ctx: MessageContext): Promise<FilterResult> {
      const outcome = await takeInReport(rawMessage(ctx), keyring, recordEvents);
      const discard = outcome.recorded > 0 && afterRecord === 'discard';
      return { ...(discard ? { verdict: { kind: 'discard' } } : {}), log: { bounce: outcome.kind, recorded: outcome.recorded, reason: outcome.reason } };
    },
  };
}

/** The message as it was received, for parsers that want the whole thing. */
function rawMessage(ctx: MessageContext): Buffer {
  const head = ctx.headers.map((h) => `${h.name}: ${h.value.replace(/\r?\n/g, '\r\n')}\r\n`).join('');
  return Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), ctx.body]);
}
