// The mailto: form of List-Unsubscribe, read by the milter: mail to unsubscribe.mailto (or to its `+`
// detail) is an unsubscribe request. Who it is for comes from a token, never from the sender's address
// (anyone can write From): the token in the address's detail or in the Subject (as the mailto: URL put
// it), or else a verified X-Mailer-Info-Extra the message quotes (a reply or forward of the original).
import { infoHeadersInText, verifyCandidates } from '../bounce/find-info-header.js';
import type { FilterResult, MessageContext, MessageFilter } from '../milter/filter.js';
import type { Keyring } from '../tokens/index.js';
import { isTokenText } from '../tokens/token-text.js';
import type { UnsubscribeService, UnsubscribeTarget } from './service.js';

/** Quoted text scanned for X-Mailer-Info-Extra: the start of a reply is where the original is quoted. */
const MAX_SCANNED_BODY_BYTES = 256 * 1024;
const SUBJECT_TOKEN = /(?:^|\s)unsubscribe\s+([A-Za-z0-9_~]{16,})\s*$/i;

export interface UnsubscribeAddress {
  local: string;
  domain: string;
}

/** unsubscribe.mailto as its lower-cased parts, or null when unset or not an address. */
export function parseUnsubscribeAddress(text: string): UnsubscribeAddress | null {
  const address = text.trim().toLowerCase();
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** The `+` detail when `recipient` is the unsubscribe address (with or without one), else null. */
export function addressDetail(recipient: string, address: UnsubscribeAddress): string | null {
  const lower = recipient.toLowerCase();
  const at = lower.lastIndexOf('@');
  if (at <= 0 || lower.slice(at + 1) !== address.domain) return null;
  const local = lower.slice(0, at);
  if (local === address.local) return '';
  if (!local.startsWith(`${address.local}+`)) return null;
  // The token is case-sensitive: take it from the address as written.
  return recipient.slice(address.local.length + 1, at);
}

interface MailtoReaderOptions {
  address: UnsubscribeAddress;
  service: UnsubscribeService;
  keyring: Keyring;
  afterRecord: 'discard' | 'accept';
}

/** Who a request names: tokens first (address detail, then Subject), then a quoted info header. */
async function readRequest(
  ctx: Pick<MessageContext, 'recipients' | 'headers' | 'body'>,
  o: Pick<MailtoReaderOptions, 'address' | 'service' | 'keyring'>,
): Promise<{ target: UnsubscribeTarget; found: 'token' | 'info-header' } | null> {
  const tokens: string[] = [];
  for (const r of ctx.recipients) {
    const detail = addressDetail(r.address, o.address);
    if (detail && isTokenText(detail)) tokens.push(detail);
  }
  const subject = ctx.headers.find((h) => h.name.toLowerCase() === 'subject')?.value.replace(/\r?\n[ \t]/g, ' ') ?? '';
  const inSubject = SUBJECT_TOKEN.exec(subject.trim())?.[1];
  if (inSubject) tokens.push(inSubject);
  for (const token of tokens) {
    const target = await o.service.resolve(token);
    if (target) return { target, found: 'token' };
  }
  const text = ctx.body.subarray(0, MAX_SCANNED_BODY_BYTES).toString('latin1');
  const lines = text.split(/\r?\n/).map((line) => line.replace(/^(?:[ \t]*>)+[ \t]?/, ''));
  const lookup = verifyCandidates(
    o.keyring,
    infoHeadersInText(lines).map((c) => c.value),
  );
  if (!lookup.ok) return null;
  const { recipient, sendId, listId, emailCode } = lookup.identity;
  if (!recipient || !listId) return null;
  return { target: { recipient, sendId, listId, emailCode, mailClass: '' }, found: 'info-header' };
}

export function createMailtoReader(o: MailtoReaderOptions): MessageFilter {
  return {
    async endOfMessage(ctx: MessageContext): Promise<FilterResult> {
      const request = await readRequest(ctx, o);
      if (!request) return { log: { unsubscribeMail: 'not-ours' } };
      const facts = { time: new Date(), ip: ctx.connect?.address ?? '', userAgent: '' };
      const result = await o.service.unsubscribe(request.target, facts, 'mailto');
      const log = { unsubscribeMail: result, found: request.found, sendId: request.target.sendId };
      if (o.afterRecord === 'accept') return { log };
      // Read: not delivered to the unsubscribe address; anyone else it was also sent to still gets it.
      const ours = ctx.recipients.filter((r) => addressDetail(r.address, o.address) !== null).map((r) => r.address);
      if (ours.length === ctx.recipients.length) return { verdict: { kind: 'discard' }, log };
      return { removeRecipients: ours, log };
    },
  };
}
