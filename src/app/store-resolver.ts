// The daemon's LinkResolver: verifies a token with the keyring and, for stateful links, reads the URL row
// and message record from the store. Stateless links need nothing but the keyring. Whatever needs no
// read (a stateless link, or a stateful one whose row and message are in the store's read cache) is
// answered synchronously, so the redirector serves it without a promise in between.
import { clickDestination, decodeToken, type Keyring } from '../tokens/index.js';
import type { MessageRecord, StoredUrlRow, TrackStore } from '../store/types.js';
import type { LinkResolver, ResolvedLink, TrackingRoute } from '../redirector/types.js';

export function createStoreResolver(keyring: Keyring, store: TrackStore | null): LinkResolver {
  return {
    resolve(route: TrackingRoute): Promise<ResolvedLink | null> | ResolvedLink | null {
      const token = decodeToken(keyring, route.token);
      if (!token.ok) return null;
      switch (token.kind) {
        case 'stateless-click':
          return {
            kind: 'click',
            ...identityOf(token),
            url: token.url,
            position: token.position,
            part: token.part,
            ...(token.unsubscribeLink ? { unsubscribeLink: true as const } : {}),
            ...(token.linkName ? { linkName: token.linkName } : {}),
            ...(token.sentAt !== undefined ? { deliveredAt: token.sentAt } : {}),
          };
        case 'stateless-open':
          return { kind: 'open', ...identityOf(token) };
        case 'stateful-click': {
          if (!store) return null;
          const row = store.peekUrlRow(token.rowId);
          const message = store.peekMessage(token.messageId);
          if (row && message) return statefulClick(route, token, row, message);
          return Promise.all([row ?? store.getUrlRow(token.rowId), message ?? store.getMessage(token.messageId)]).then(([r, m]) =>
            statefulClick(route, token, r, m),
          );
        }
        case 'stateful-open': {
          if (!store) return null;
          const message = store.peekMessage(token.messageId);
          return message ? statefulOpen(message) : store.getMessage(token.messageId).then(statefulOpen);
        }
      }
    },
  };
}

function statefulClick(
  route: TrackingRoute,
  token: Required<Pick<ResolvedLink, 'position' | 'part'>> & Pick<ResolvedLink, 'unsubscribeLink'>,
  row: StoredUrlRow | undefined,
  message: MessageRecord | undefined,
): ResolvedLink | null {
  if (!row) return null;
  const url = clickDestination(row.url, route.query ? `?${route.query}` : '');
  if (!url) return null;
  // Built field by field rather than with spreads: the common click gets one object shape.
  const link: ResolvedLink = {
    kind: 'click',
    url,
    sendId: row.sendId,
    listId: row.listId,
    recipient: soleRecipient(message?.recipients),
    emailCode: message?.emailCode ?? '',
    linkName: row.linkName,
    position: token.position,
    part: token.part,
  };
  if (message) {
    link.deliveredAt = message.time;
    link.messageId = hexId(message);
  }
  if (token.unsubscribeLink) link.unsubscribeLink = true;
  return link;
}

function statefulOpen(message: MessageRecord | undefined): ResolvedLink | null {
  if (!message) return null;
  return {
    kind: 'open',
    sendId: message.sendId,
    listId: message.listId,
    recipient: soleRecipient(message.recipients),
    emailCode: message.emailCode,
    deliveredAt: message.time,
    messageId: hexId(message),
  };
}

/** A message id as the machine judge keys recipients by it (src/truth/judge.ts); once per cached record. */
function hexId(message: MessageRecord): string {
  let hex = hexIds.get(message);
  if (hex === undefined) {
    const id = message.id;
    hexIds.set(message, (hex = Buffer.from(id.buffer, id.byteOffset, id.length).toString('hex')));
  }
  return hex;
}

const hexIds = new WeakMap<MessageRecord, string>();

function identityOf(t: { sendId: string; listId: string; recipient: string; emailCode: string }) {
  return { sendId: t.sendId, listId: t.listId, recipient: t.recipient, emailCode: t.emailCode };
}

/** With several recipients a message's links name no one (DESIGN: one body for all recipients). */
function soleRecipient(recipients: string[] | undefined): string {
  return recipients && recipients.length === 1 ? recipients[0]! : '';
}
