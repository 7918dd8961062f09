// The links of one message: a LinkMinter bound to the message's identity and class settings, which also
// collects the URL rows a stateful message must store before its verdict.
import type { ClassSettings } from '../config/schema.js';
import {
  clickLinkMaker,
  mintStatefulOpen,
  mintStatelessClick,
  mintStatelessOpen,
  openLink,
  splitQuery,
  statefulClickMinter,
  urlRowId,
  type Keyring,
  type TrackingOrigin,
} from '../tokens/index.js';
import type { StatelessClick } from '../tokens/tokens.js';
import type { LinkFound, LinkMinter } from '../rewrite/types.js';
import { isUnsubscribePlaceholder } from '../rewrite/unsubscribe-placeholder.js';
import type { UrlRow } from '../store/index.js';
import { MAX_CACHED_URL_CHARS } from '../rewrite/url-verdict-cache.js';
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

/**
 * A bounded memo of urlRowId: one keyed hash per distinct row instead of one per link per message.
 * Rows of URLs longer than MAX_CACHED_URL_CHARS are hashed every time, as the URL verdict cache judges
 * them every time: a memo keyed by such URLs could hold gigabytes.
 */
export class RowIdCache {
  private readonly ids: BoundedMap<Buffer>;

  constructor(capacity = 20_000) {
    this.ids = new BoundedMap(capacity);
  }

  get(keyring: Keyring, content: { sendId: string; listId: string; url: string; linkName: string }): Buffer {
    if (content.url.length > MAX_CACHED_URL_CHARS) return urlRowId(keyring.current, content);
    const kid = keyring.current.kid;
    const memoKey = `${kid}\0${content.sendId}\0${content.listId}\0${content.linkName}\0${content.url}`;
    return this.ids.getOrAdd(memoKey, () => urlRowId(keyring.current, content));
  }
}

export function createMessageMinter(o: MessageMinterOptions): MessageMinter {
  const { keyring, identity, settings, origin, messageId } = o;
  const { recipient, sendId, listId, emailCode } = identity;
  const who = { recipient, sendId, listId, emailCode };
  const stateful = settings.mode === 'stateful';
  // Made once per message, not per link: the frame holding the message id, and the links' start.
  const mintClick = stateful ? statefulClickMinter(keyring, messageId) : null;
  const linkTo = clickLinkMaker(origin, settings.style);

  // This message's rows, by link name then URL (the row id is a function of them for one key and send);
  // a URL in both parts is hashed, or looked up in rowIds, once. Two maps, not a joined key: no string
  // is built per link. The list keeps the order rows were first minted in.
  const rowsByName = new Map<string, Map<string, UrlRow>>();
  const rowList: UrlRow[] = [];
  const rowId = (url: string, linkName: string): Uint8Array => {
    let rows = rowsByName.get(linkName);
    if (!rows) {
      rows = new Map();
      rowsByName.set(linkName, rows);
    }
    let row = rows.get(url);
    if (!row) {
      const content = { sendId, listId, url, linkName };
      const id = o.rowIds ? o.rowIds.get(keyring, content) : urlRowId(keyring.current, content);
      row = { id, sendId, listId, url, linkName };
      rows.set(url, row);
      rowList.push(row);
    }
    return row.id;
  };

  const statelessClick = (link: LinkFound): string => {
    const click: StatelessClick = { recipient, sendId, listId, emailCode, url: link.url, position: link.position, part: link.part };
    if (link.unsubscribe) click.unsubscribeLink = true;
    if (link.linkName) click.linkName = link.linkName;
    if (o.sentAt !== undefined) click.sentAt = o.sentAt;
    return linkTo(mintStatelessClick(keyring, click), { url: link.url });
  };

  return {
    click(link: LinkFound): string | null {
      if (isUnsubscribePlaceholder(link.url)) return o.unsubscribeUrl?.() ?? null;
      try {
        if (mintClick === null) return statelessClick(link);
        // As GreenArrow does: the row holds the URL up to `?`; the query travels in the link.
        const { rowUrl, query } = splitQuery(link.url);
        const id = rowId(rowUrl, link.linkName ?? '');
        const { position, part } = link;
        const token = mintClick(link.unsubscribe ? { rowId: id, position, part, unsubscribeLink: true } : { rowId: id, position, part });
        return linkTo(token, { url: rowUrl, query });
      } catch {
        // A URL no token can carry (a lone surrogate, absurd length): the link stays as it was.
        return null;
      }
    },
    open(): string {
      if (!stateful) return openLink(origin, mintStatelessOpen(keyring, who));
      rowId('', '');
      return openLink(origin, mintStatefulOpen(keyring, { messageId }));
    },
    isTrackingUrl(url: URL): boolean {
      const { host } = url;
      if (o.trackingHosts.has(host.toLowerCase())) return true;
      // Without a port the hostname is the host, already looked up.
      const { hostname } = url;
      return hostname !== host && o.trackingHosts.has(hostname.toLowerCase());
    },
    urlRows: () => [...rowList],
  };
}
