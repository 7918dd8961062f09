// Suppression at the MTA: the envelope recipients of a message who unsubscribed from its ListID,
// removed (SMFIR_DELRCPT) or only tagged, as unsubscribe.suppression says. Logged as counts only: the
// journal never names a recipient.
import type { EnvelopeAddress } from '../milter/commands.js';
import type { FilterResult } from '../milter/filter.js';
import type { TrackStore } from '../store/index.js';

const SUPPRESSED_HEADER = 'X-Trackmilter-Suppressed';

export interface Suppressed {
  listId: string;
  policy: 'suppress' | 'tag';
  /** Recipients who unsubscribed from the list, as the envelope spells them. */
  unsubscribed: string[];
  /** The recipients the message goes on to (all of them when only tagging). */
  kept: EnvelopeAddress[];
  /** What the milter's answer gains: DELRCPTs, or the tag header; and the log fields. */
  result: Pick<FilterResult, 'removeRecipients' | 'headerChanges' | 'log'>;
  /** Recipients removed from the envelope (0 when tagging). */
  removed: string[];
}

/** null when the message has no ListID or none of its recipients unsubscribed from it. */
export async function suppressRecipients(
  store: Pick<TrackStore, 'suppressedAmong'>,
  listId: string,
  recipients: readonly EnvelopeAddress[],
  policy: 'suppress' | 'tag',
): Promise<Suppressed | null> {
  if (listId === '' || recipients.length === 0) return null;
  const hit = await store.suppressedAmong(
    listId,
    recipients.map((r) => r.address),
  );
  if (hit.size === 0) return null;
  const unsubscribed = recipients.filter((r) => hit.has(r.address)).map((r) => r.address);
  if (policy === 'tag') {
    return {
      listId,
      policy,
      unsubscribed,
      kept: [...recipients],
      removed: [],
      result: {
        headerChanges: [{ op: 'add', name: SUPPRESSED_HEADER, value: `${unsubscribed.length} of ${recipients.length} recipients unsubscribed from this list` }],
        log: { unsubscribedRecipients: unsubscribed.length, suppression: 'tag' },
      },
    };
  }
  return {
    listId,
    policy,
    unsubscribed,
    kept: recipients.filter((r) => !hit.has(r.address)),
    removed: unsubscribed,
    result: { removeRecipients: unsubscribed, log: { suppressed: unsubscribed.length, suppression: 'suppress' } },
  };
}
