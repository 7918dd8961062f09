// The daemon's LinkResolver: verifies a token with the keyring and, for stateful links, reads the URL row
// and message record from the store. Stateless links need nothing but the keyring.
import { clickDestination, decodeToken, type Keyring } from '../tokens/index.js';
import type { TrackStore } from '../store/index.js';
import type { LinkResolver, ResolvedLink, TrackingRoute } from '../redirector/types.js';

export function createStoreResolver(keyring: Keyring, store: TrackStore | null): LinkResolver {
  return {
    async resolve(route: TrackingRoute): Promise<ResolvedLink | null> {
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
            ...(token.linkName ? { linkName: token.linkName } : {}),
            ...(token.sentAt !== undefined ? { deliveredAt: token.sentAt } : {}),
          };
        case 'stateless-open':
          return { kind: 'open', ...identityOf(token) };
        case 'stateful-click': {
          if (!store) return null;
          const [row, message] = await Promise.all([store.getUrlRow(token.rowId), store.getMessage(token.messageId)]);
          if (!row) return null;
          const url = clickDestination(row.url, route.query ? `?${route.query}` : '');
          if (!url) return null;
          return {
            kind: 'click',
            url,
            sendId: row.sendId,
            listId: row.listId,
            recipient: soleRecipient(message?.recipients),
            emailCode: message?.emailCode ?? '',
            linkName: row.linkName,
            position: token.position,
            part: token.part,
            ...(message ? { deliveredAt: message.time } : {}),
          };
        }
        case 'stateful-open': {
          const message = store ? await store.getMessage(token.messageId) : undefined;
          if (!message) return null;
          return {
            kind: 'open',
            sendId: message.sendId,
            listId: message.listId,
            recipient: soleRecipient(message.recipients),
            emailCode: message.emailCode,
            deliveredAt: message.time,
          };
        }
      }
    },
  };
}

function identityOf(t: { sendId: string; listId: string; recipient: string; emailCode: string }) {
  return { sendId: t.sendId, listId: t.listId, recipient: t.recipient, emailCode: t.emailCode };
}

/** With several recipients a message's links name no one (DESIGN: one body for all recipients). */
function soleRecipient(recipients: string[] | undefined): string {
  return recipients && recipients.length === 1 ? recipients[0]! : '';
}
