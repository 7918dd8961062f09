// Which filter a message goes to: mail to a configured bounce address to the bounce reader, everything
// else to the tracking filter. Mail to a bounce address is never tracked, even where no bounce reader
// runs (the `milter` role has no store to record into): it then passes untouched.
import type { FilterResult, MessageContext, MessageFilter } from '../milter/filter.js';

interface MessageRoutes {
  /** Lower-cased addresses whose mail is read as bounces and complaints. */
  bounceAddresses: ReadonlySet<string>;
  /** Reads mail to a bounce address; null where nothing can record what it finds. */
  bounceReader: MessageFilter | null;
  tracking: MessageFilter;
}

export function createMessageRouter({ bounceAddresses, bounceReader, tracking }: MessageRoutes): MessageFilter {
  if (bounceAddresses.size === 0) return tracking;
  return {
    endOfMessage(ctx: MessageContext, signal: AbortSignal): Promise<FilterResult> | FilterResult {
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
