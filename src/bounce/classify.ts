/**
 * Hard, soft or unknown, and a category, from a status code and diagnostic text.
 *
 * "hard" means the address itself is bad or gone: stop sending to it. "soft" means the failure is
 * temporary or not about the address (a full mailbox, a policy block, our own message), so the
 * address stays. "unknown" means the report gives nothing to decide on.
 *
 * Order of evidence:
 * 1. An enhanced status code (RFC 3463) listed in SPECIFIC_CODES decides the category.
 * 2. Otherwise (no code, or a generic one such as 5.0.0, 5.1.0, 5.2.0, 5.3.0, 5.7.1) the first
 *    TEXT_RULES pattern that matches the diagnostic decides it.
 * 3. Otherwise the code's subject (the middle number) gives a default category.
 * Then the class decides hard or soft: 4.x.x is always soft (the receiver said "try again");
 * 5.x.x is hard only for the HARD_CATEGORIES; with no code at all the category alone decides,
 * and "other" without a code is unknown. 2.x.x is success, never a bounce: unknown.
 *
 * Choices that differ from "5 is hard, 4 is soft":
 * - 5.2.2 mailbox full and 5.2.3/5.3.4 message too large are soft: the address exists.
 * - 5.7.x (policy, spam, blocked, DMARC) and 5.6.x (content) are soft: the receiver refused this
 *   message or this sender, not the address. Text such as "user unknown" under 5.7.1 still wins.
 * - 5.1.7/5.1.8 (bad sender address) are soft: they are about our envelope sender.
 * - x.4.7 (delivery time expired) is soft, category "expired": the address was never refused;
 *   repeated expiries to one domain are for a threshold over many events to judge, not one report.
 */
import { ENHANCED_STATUS } from './dsn.js';
import type { GreenArrowEventType } from '../events/event-json.js';

export type Classification = 'hard' | 'soft' | 'unknown';

export type BounceCategory =
  | 'bad-address'
  | 'bad-domain'
  | 'inactive'
  | 'mailbox-full'
  | 'message-too-large'
  | 'policy'
  | 'content'
  | 'routing'
  | 'expired'
  | 'transient'
  | 'sender'
  | 'protocol'
  | 'other';

interface BounceVerdict {
  classification: Classification;
  category: BounceCategory;
}

/** subject.detail of enhanced codes that are specific enough to decide the category alone. */
const SPECIFIC_CODES: Readonly<Record<string, BounceCategory>> = {
  '1.1': 'bad-address', // bad destination mailbox address
  '1.2': 'bad-domain', // bad destination system address
  '1.3': 'bad-address', // bad destination mailbox address syntax
  '1.4': 'bad-address', // destination mailbox address ambiguous
  '1.6': 'bad-address', // mailbox has moved, no forwarding address
  '1.10': 'bad-address', // RFC 7505 null MX; Office 365 uses it for "recipient not found"
  '1.7': 'sender', // bad sender's mailbox address syntax
  '1.8': 'sender', // bad sender's system address
  '2.1': 'inactive', // mailbox disabled, not accepting messages
  '2.2': 'mailbox-full',
  '2.3': 'message-too-large', // message length exceeds administrative limit
  '3.1': 'transient', // mail system full
  '3.2': 'transient', // system not accepting network messages
  '3.4': 'message-too-large', // message too big for system
  '4.4': 'bad-domain', // unable to route (no MX, no such domain)
  '4.6': 'routing', // routing loop detected
  '4.7': 'expired', // delivery time expired
  '5.1': 'protocol',
  '5.2': 'protocol',
  '5.3': 'protocol',
  '5.4': 'protocol',
  '6.1': 'content',
  '6.2': 'content',
  '6.3': 'content',
  '7.2': 'policy', // mailing list expansion prohibited
  '7.7': 'policy', // message integrity failure
};

/** When a code is generic and the text says nothing known: the category its subject implies. */
const SUBJECT_DEFAULTS: Readonly<Record<string, BounceCategory>> = {
  '1': 'bad-address',
  '4': 'routing',
  '5': 'protocol',
  '6': 'content',
  '7': 'policy',
};

/** Diagnostic text patterns, first match wins (full mailbox before "unknown", domain before address). */
export const TEXT_RULES: ReadonlyArray<{ pattern: RegExp; category: BounceCategory }> = [
  {
    category: 'mailbox-full',
    pattern:
      /mailbox (?:is |was )?full|over ?quota|quota (?:exceeded|exceed)|exceeded (?:the |their |his |her |storage )*(?:quota|storage)|insufficient (?:system )?storage|mailbox size limit|out of storage/i,
  },
  { category: 'message-too-large', pattern: /message (?:is )?too (?:large|big)|size exceeds|exceeds (?:the )?(?:maximum|max|size)/i },
  {
    category: 'bad-domain',
    pattern:
      /domain (?:name )?not found|host (?:or domain name )?not found|no mx|no such domain|unroute?able|domain (?:does not|doesn't) exist|nxdomain|dns error/i,
  },
  {
    category: 'bad-address',
    pattern:
      /user unknown|unknown user|no such (?:user|mailbox|recipient|address|account)|(?:user|mailbox|recipient|address|account) (?:does not|doesn't|did not) exist|does not exist|recipient not found|unknown recipient|invalid (?:recipient|mailbox|address)|mailbox (?:unavailable|not found)|unknown e-?mail address|user not found|recip(?:ient)?notfound|no mailbox|not a valid (?:user|mailbox|recipient)|(?:was ?n[o']t|couldn't be) found at/i,
  },
  {
    category: 'inactive',
    pattern:
      /(?:mailbox|account|user|address) (?:is |has been )?(?:disabled|inactive|deactivated|suspended|closed)|no longer (?:active|available|valid|in use)/i,
  },
  {
    category: 'policy',
    pattern: /spam|blocked|block ?list|black ?list|deny ?list|reputation|policy|not authori[sz]ed|dmarc|\bspf\b|\bdkim\b|junk|banned|access denied|prohibited/i,
  },
  { category: 'content', pattern: /virus|malware|content rejected/i },
  { category: 'expired', pattern: /expired|too long in queue|could not be delivered for \d+ days|retry timeout exceeded|giving up/i },
  { category: 'transient', pattern: /timed? ?out|connection (?:refused|reset|lost|closed)|try again later|temporar|deferred|greylist|service unavailable/i },
];

/** Categories for which a permanent (5.x.x) failure means the address should not be mailed again. */
const HARD_CATEGORIES: ReadonlySet<BounceCategory> = new Set(['bad-address', 'bad-domain', 'inactive', 'other']);

/** An SMTP reply code (550) at the start of a diagnostic or after "said:", "#" and the like. */
const REPLY_CODE = /(?:^|[\s:#(;])([245])\d\d(?=[\s-]|$)/;

/** The enhanced status code in `status`, else the first one in `diagnostic`. */
function effectiveStatus(status: string, diagnostic: string): string {
  return ENHANCED_STATUS.exec(status)?.[0] ?? ENHANCED_STATUS.exec(diagnostic)?.[0] ?? '';
}

/** 2, 4 or 5 from the enhanced code, else from an SMTP reply code in the diagnostic; '' if neither. */
export function statusClass(status: string, diagnostic: string): string {
  const enhanced = effectiveStatus(status, diagnostic);
  if (enhanced) return enhanced[0]!;
  return REPLY_CODE.exec(diagnostic)?.[1] ?? '';
}

function categoryOf(enhanced: string, diagnostic: string): BounceCategory {
  const [, subject = '', detail = ''] = enhanced.split('.');
  const specific = enhanced ? SPECIFIC_CODES[`${subject}.${detail}`] : undefined;
  if (specific) return specific;
  const byText = TEXT_RULES.find((rule) => rule.pattern.test(diagnostic));
  if (byText) return byText.category;
  return SUBJECT_DEFAULTS[subject] ?? 'other';
}

export function classify(status: string, diagnostic: string): BounceVerdict {
  const enhanced = effectiveStatus(status, diagnostic);
  const category = categoryOf(enhanced, diagnostic);
  switch (statusClass(status, diagnostic)) {
    case '5':
      return { classification: HARD_CATEGORIES.has(category) ? 'hard' : 'soft', category };
    case '4':
      return { classification: 'soft', category };
    case '2':
      return { classification: 'unknown', category };
    default:
      if (category === 'other') return { classification: 'unknown', category };
      return { classification: HARD_CATEGORIES.has(category) ? 'hard' : 'soft', category };
  }
}

/** The GreenArrow event types a report can become. */
type ReportGreenArrowType = Extract<GreenArrowEventType, 'bounce_all' | 'bounce_bad_address' | 'scomp'>;

/**
 * GreenArrow's names for one of our events. Every bounce is a `bounce_all` (with bounce_type h, s
 * or o); a hard bounce is also a `bounce_bad_address`, as GreenArrow raises it when an address
 * meets the deactivation rule and one hard bounce is the rule here (soft-bounce thresholds need
 * counts over many events, which is the store's job, not a parser's). A complaint is `scomp`.
 * A delay is not a bounce in GreenArrow either: no event.
 */
export function greenArrowEventTypes(event: { type: 'bounce' | 'delayed' | 'complaint'; classification: Classification }): ReportGreenArrowType[] {
  if (event.type === 'complaint') return ['scomp'];
  if (event.type === 'delayed') return [];
  return event.classification === 'hard' ? ['bounce_all', 'bounce_bad_address'] : ['bounce_all'];
}

/** GreenArrow's bounce_type field: h(ard), s(oft) or o(ther). */
export function greenArrowBounceType(classification: Classification): 'h' | 's' | 'o' {
  return classification === 'hard' ? 'h' : classification === 'soft' ? 's' : 'o';
}
