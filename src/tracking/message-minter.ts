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
import { detached } from '../util/string-pool.js';
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
 *
 * Rows are kept by family (key, send, list, link name), then by URL, not under one joined key: a message
 * asks for a family once per link name (rowsOf), and a lookup then hashes nothing but the URL, whose
 * hash the message's own row map has already had V8 keep in the string. A joined key was a new string
 * per link to build, flatten and hash (6% of prepareTracking on a 40-link newsletter). Two generations
 * of rows, as in BoundedMap (src/util/bounded-map.ts): at most `capacity` rows.
 */
export class RowIdCache {
  private young = new Map<string, Map<string, Buffer>>();
  private old = new Map<string, Map<string, Buffer>>();
  private youngRows = 0;
  private readonly generationRows: number;

  constructor(readonly capacity = 20_000) {
    this.generationRows = Math.ceil(capacity / 2);
  }

  /** The row id of each URL of one send's links named `linkName`, under the keyring's current key. */
  rowsOf(keyring: Keyring, sendId: string, listId: string, linkName: string): (url: string) => Buffer {
    const key = keyring.current;
    // Lengths, not separators alone: a send or list id holding a NUL must not make two families one.
    const family = `${key.kid}:${sendId.length}:${listId.length}:${sendId}${listId}${linkName}`;
    return (url) => {
      if (url.length > MAX_CACHED_URL_CHARS) return urlRowId(key, { sendId, listId, url, linkName });
      const id = this.young.get(family)?.get(url);
      if (id !== undefined) return id;
      const found = this.old.get(family)?.get(url) ?? urlRowId(key, { sendId, listId, url, linkName });
      this.keep(family, url, found);
      return found;
    };
  }

  private keep(family: string, url: string, id: Buffer): void {
    if (this.generationRows <= 0) return;
    let rows = this.young.get(family);
    if (rows === undefined) {
      rows = new Map();
      this.young.set(family, rows);
    }
    // A copy: the URL may be a slice of a message's body, which a kept slice would keep alive.
    rows.set(detached(url), id);
    if (++this.youngRows >= this.generationRows) {
      this.old = this.young;
      this.young = new Map();
      this.youngRows = 0;
    }
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
  const rowsByName = new Map<string, { rows: Map<string, UrlRow>; idOf: (url: string) => Buffer }>();
  const rowList: UrlRow[] = [];
  const idsOf = (linkName: string): ((url: string) => Buffer) =>
    o.rowIds ? o.rowIds.rowsOf(keyring, sendId, listId, linkName) : (url) => urlRowId(keyring.current, { sendId, listId, url, linkName });
  const rowId = (url: string, linkName: string): Uint8Array => {
    let named = rowsByName.get(linkName);
    if (!named) {
      named = { rows: new Map(), idOf: idsOf(linkName) };
      rowsByName.set(linkName, named);
    }
    let row = named.rows.get(url);
    if (!row) {
      row = { id: named.idOf(url), sendId, listId, url, linkName };
      named.rows.set(url, row);
      rowList.push(row);
    }
    return row.id;
  };

  // The row URL is the verdict's string up to the query when there is one: the one string every copy
  // of the send shares (the verdict cache's), so the row maps find it without hashing it again. A URL
  // without a query is its own row URL, the verdict's string too.
  const rowUrlAndQuery = (link: LinkFound): { rowUrl: string; query: string } => {
    const before = link.urlBeforeQuery;
    return before === undefined ? splitQuery(link.url) : { rowUrl: before, query: link.url.slice(before.length) };
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
        const { rowUrl, query } = rowUrlAndQuery(link);
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
