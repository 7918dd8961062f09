// The links of one message: a LinkMinter bound to the message's identity and class settings, which also
// collects the URL rows a stateful message must store before its verdict.
import type { ClassSettings } from '../config/schema.js';
import {
  clickLink,
  mintStatefulClick,
  mintStatefulOpen,
  mintStatelessClick,
  mintStatelessOpen,
  openLink,
  splitQuery,
  urlRowId,
  type Keyring,
  type TrackingOrigin,
} from '../tokens/index.js';
import type { LinkFound, LinkMinter } from '../rewrite/types.js';
import { isUnsubscribePlaceholder } from '../rewrite/unsubscribe-placeholder.js';
import type { UrlRow } from '../store/index.js';
import { BoundedMap } from '../util/bounded-map.js';
import type { SendIdentity } from './send-context.js';

interface MessageMinter extends LinkMinter {
  /** Rows for every distinct URL minted so far, plus the open row when the pixel was minted (stateful only). */
  urlRows(): UrlRow[];
}

interface MessageMinterOptions {
  keyring: Keyring;
  identity: SendIdentity;
  settings: ClassSettings;
  origin: TrackingOrigin;
  messageId: Buffer;
  /** When the message passed the milter (ms since the epoch): stateless clicks carry it for fast-click flags. */
  sentAt?: number;
  /** Hosts (lower case, with or without port) whose links are ours already and never tracked again. */
  trackingHosts: ReadonlySet<string>;
  /**
   * The message's one-click unsubscribe page (`/u/TOKEN`) for UNSUBSCRIBE_PLACEHOLDER links, or null
   * when it has none (no ListID, several recipients): such a link is then left as it is.
   */
  unsubscribeUrl?: () => string | null;
  /** Row ids already computed, shared across messages: a send's copies all link to the same rows. */
  rowIds?: RowIdCache;
}

/** A bounded memo of urlRowId: one keyed hash per distinct row instead of one per link per message. */
export class RowIdCache {
  private readonly ids: BoundedMap<Buffer>;

  constructor(capacity = 20_000) {
    this.ids = new BoundedMap(capacity);
  }

  get(keyring: Keyring, content: { sendId: string; listId: string; url: string; linkName: string }): Buffer {
    const kid = keyring.current.kid;
    const memoKey = `${kid}\0${content.sendId}\0${content.listId}\0${content.linkName}\0${content.url}`;
    let id = this.ids.get(memoKey);
    if (!id) {
      id = urlRowId(keyring.current, content);
      this.ids.set(memoKey, id);
    }
    return id;
  }
}

export function createMessageMinter(o: MessageMinterOptions): MessageMinter {
  const { keyring, identity, settings, origin, messageId } = o;
  const who = { recipient: identity.recipient, sendId: identity.sendId, listId: identity.listId, emailCode: identity.emailCode };
  const rows = new Map<string, UrlRow>();
  const addRow = (url: string, linkName: string): Buffer => {
    const content = { sendId: identity.sendId, listId: identity.listId, url, linkName };
    const id = o.rowIds ? o.rowIds.get(keyring, content) : urlRowId(keyring.current, content);
    rows.set(id.toString('hex'), { id, ...content });
    return id;
  };
  const stateful = settings.mode === 'stateful';

  return {
    click(link: LinkFound): string | null {
      if (isUnsubscribePlaceholder(link.url)) return o.unsubscribeUrl?.() ?? null;
      const place = { position: link.position, part: link.part, ...(link.unsubscribe ? { unsubscribeLink: true as const } : {}) };
      try {
        if (!stateful) {
          const token = mintStatelessClick(keyring, {
            ...who,
            url: link.url,
            ...place,
            ...(link.linkName ? { linkName: link.linkName } : {}),
            ...(o.sentAt !== undefined ? { sentAt: o.sentAt } : {}),
          });
          return clickLink(origin, settings.style, token, { url: link.url });
        }
        // As GreenArrow does: the row holds the URL up to `?`; the query travels in the link.
        const { rowUrl, query } = splitQuery(link.url);
        const rowId = addRow(rowUrl, link.linkName ?? '');
        const token = mintStatefulClick(keyring, { rowId, messageId, ...place });
        return clickLink(origin, settings.style, token, { url: rowUrl, query });
      } catch {
        // A URL no token can carry (a lone surrogate, absurd length): the link stays as it was.
        return null;
      }
    },
    open(): string {
      if (!stateful) return openLink(origin, mintStatelessOpen(keyring, who));
      addRow('', '');
      return openLink(origin, mintStatefulOpen(keyring, { messageId }));
    },
    isTrackingUrl(url: URL): boolean {
      return o.trackingHosts.has(url.host.toLowerCase()) || o.trackingHosts.has(url.hostname.toLowerCase());
    },
    urlRows: () => [...rows.values()],
  };
}
