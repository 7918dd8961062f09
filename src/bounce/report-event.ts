/**
 * The events a report becomes, and the caps on their text. Every string field comes from a remote
 * party (even a signed identity was signed for someone else's mail), so each is cleaned of control
 * characters and capped before it reaches logs, LevelDB, JSONL or a webhook.
 */
import type { BounceCategory, Classification } from './classify.js';

/** How the event was read: a DSN, an ARF report, or prose that quotes the original headers. */
type ReportSource = 'dsn' | 'arf' | 'quoted-headers';

export interface ReportEventFields {
  time: Date;
  sendId: string;
  listId: string;
  /** From our signed header; the reported recipient when the header's is empty (a multi-recipient message). */
  recipient: string;
  emailCode: string;
  /** The address the report names (DSN Final-Recipient, ARF Original-Rcpt-To, or from the prose). */
  reportedRecipient: string;
  /** Enhanced status code, or ''. */
  status: string;
  /** DSN Action, lower-cased ('' when not from a DSN). */
  action: string;
  diagnostic: string;
  reportingMta: string;
  remoteMta: string;
  /** The report's Arrival-Date (or ARF Received-Date) as written, unparsed. */
  arrivalDate: string;
  classification: Classification;
  category: BounceCategory | 'complaint';
  source: ReportSource;
  /** Id of the key that signed the header (for key rotation audits). */
  kid: number;
}

export interface BounceEvent extends ReportEventFields {
  type: 'bounce';
}

/** A DSN with Action: delayed. Not a bounce: the MTA is still trying. Always soft. */
export interface DelayedEvent extends ReportEventFields {
  type: 'delayed';
  classification: 'soft';
}

export interface ComplaintEvent extends ReportEventFields {
  type: 'complaint';
  category: 'complaint';
  feedbackType: string;
  userAgent: string;
  sourceIp: string;
  originalMailFrom: string;
}

export type ReportEvent = BounceEvent | DelayedEvent | ComplaintEvent;

/**
 * Caps in characters. Addresses: RFC 5321 allows 256 octets of path, 320 leaves room for quoting.
 * Identity fields come from our own header (bounded at 8 KB as a whole), capped to stay sane.
 * Diagnostics can run to kilobytes of multi-line SMTP replies; 1,000 keeps the useful start.
 */
export const FIELD_CAPS = {
  address: 320,
  identity: 2048,
  status: 16,
  action: 32,
  diagnostic: 1000,
  mta: 255,
  date: 128,
  feedbackType: 64,
  userAgent: 255,
  sourceIp: 64,
} as const;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** One line of text at most `max` characters, never ending in half a surrogate pair. */
export function capText(value: string, max: number): string {
  const clean = value
    .replace(/[\r\n\t]+/g, ' ')
    .replace(CONTROL, '')
    .replace(/ {2,}/g, ' ')
    .trim();
  if (clean.length <= max) return clean;
  let cut = clean.slice(0, max - 1);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return `${cut}…`;
}
