// Which filter a message goes to: mail to unsubscribe.mailto to the mailto reader, mail to a configured
// bounce address to the bounce reader, everything else to the tracking filter. Mail to either address
// is never tracked, even where no reader runs (the `milter` role has no store to record into): it then
// passes untouched.
import type { FilterResult, MessageContext, MessageFilter } from '../milter/filter.js';
import { addressDetail, type UnsubscribeAddress } from '../unsubscribe/mailto-reader.js';

interface MessageRoutes {
  /** Lower-cased addresses whose mail is read as bounces and complaints. */
  bounceAddresses: ReadonlySet<string>;
  /** Reads mail to a bounce address; null where nothing can record what it finds. */
  bounceReader: MessageFilter | null;
  tracking: MessageFilter;
  /** unsubscribe.mailto and its reader (null where nothing can record: mail to it then passes untouched). */
  unsubscribe?: { address: UnsubscribeAddress; reader: MessageFilter | null };
}

export function createMessageRouter({ bounceAddresses, bounceReader, tracking, unsubscribe }: MessageRoutes): MessageFilter {
  if (bounceAddresses.size === 0 && !unsubscribe) return tracking;
  return {
    endOfMessage(ctx: MessageContext, signal: AbortSignal): Promise<FilterResult> | FilterResult {
      if (unsubscribe && ctx.recipients.some((r) => addressDetail(r.address, unsubscribe.address) !== null)) {
        if (unsubscribe.reader) return unsubscribe.reader.endOfMessage(ctx, signal);
        return { skipped: { reason: 'unsubscribe-address', detail: 'mail to the unsubscribe address, not read here: this process has no store' } };
      }
      if (!ctx.recipients.some((r) => bounceAddresses.has(r.address.toLowerCase()))) return tracking.endOfMessage(ctx, signal);
      if (bounceReader) return bounceReader.endOfMessage(ctx, signal);
      return { skipped: { reason: 'bounce-address', detail: 'mail to a bounce address, not read here: this process has no store' } };
    },
  };
}

/** `bounce.addresses` as a set of lower-cased addresses. */
export function bounceAddressSet(list: string): Set<string> {
  return new Set(
    list
      .split(',')
      .map((a) => a.trim().toLowerCase())
      .filter((a) => a !== ''),
  );
}
