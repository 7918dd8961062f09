// Keeps each send's HTML once, when its first message passes the milter, for the dashboard's click map
// (dashboard.click_map). The HTML is made with the message's tracking work (on a worker thread for big
// messages, see tracking-work.ts); here only the store is asked and written. A failure never touches
// the message: it is only logged with the message.
import type { ConfigValues } from '../config/load.js';
import type { ClassSettings } from '../config/schema.js';
import type { MessageContext } from '../milter/filter.js';
import type { TrackStore } from '../store/index.js';
import { BoundedMap } from '../util/bounded-map.js';
import { errorCode } from '../util/errors.js';
import { captureClickMapHtml } from './click-map-capture.js';
import { resolveSend, type SendIdentity } from './send-context.js';
import { rewriteSettings } from './settings.js';

/** Sends known to have their HTML kept, so later messages of a send cost one map lookup. */
const KNOWN_SENDS = 10_000;

/** The click map's HTML of one message (dashboard.click_map decides what it keeps), or null. */
export function clickMapHtml(
  msg: Pick<MessageContext, 'headers' | 'body'>,
  config: ConfigValues,
  identity: SendIdentity,
  settings: ClassSettings,
  hosts: ReadonlySet<string>,
): string | null {
  const mode = config['dashboard.click_map'];
  if (mode === 'off') return null;
  return captureClickMapHtml(msg.headers, msg.body, rewriteSettings(config, settings), {
    mode,
    recipients: identity.recipients,
    emailCode: identity.emailCode,
    isTrackingUrl: (url) => hosts.has(url.host.toLowerCase()) || hosts.has(url.hostname.toLowerCase()),
  });
}

export function createClickMapKeeper(config: ConfigValues, store: TrackStore) {
  const mode = config['dashboard.click_map'];
  const known = new BoundedMap<true>(KNOWN_SENDS);
  return {
    /** Whether this message may be its send's first here (read from its headers, before the work). */
    wants(msg: Pick<MessageContext, 'headers' | 'from' | 'recipients'>): boolean {
      if (mode === 'off') return false;
      const decision = resolveSend(msg.headers, msg, config);
      return decision.kind === 'track' && !known.get(decision.identity.sendId);
    },
    /** 'kept' when this HTML became its send's, an error code when that failed, else undefined. */
    async keep(sendId: string, html: string | null): Promise<string | undefined> {
      // A send whose first message has no HTML part is not asked again (its mail is text only).
      known.set(sendId, true);
      if (html === null) return undefined;
      try {
        return (await store.aggregates.keepHtml(sendId, html)) ? 'kept' : undefined;
      } catch (err) {
        known.delete(sendId);
        return `failed: ${errorCode(err)}`;
      }
    },
  };
}
