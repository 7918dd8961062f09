// The List-Unsubscribe (RFC 2369) and List-Unsubscribe-Post (RFC 8058) headers of one message: which
// changes to make, given the message's own headers, its identity and its class's policy. Pure.
import type { HeaderField } from '../milter/commands.js';
import type { HeaderChange } from '../milter/filter.js';
import type { TrackingOrigin } from '../tokens/url-style.js';

const LIST_UNSUBSCRIBE = 'List-Unsubscribe';
const LIST_UNSUBSCRIBE_POST = 'List-Unsubscribe-Post';
/** RFC 8058's only defined value, and the body of the one-click POST. */
const ONE_CLICK = 'List-Unsubscribe=One-Click';

/** SMTP's line limit (RFC 5322 2.1.1) less the header name: a longer value is not sent. */
const MAX_HEADER_LINE = 998;
/** RFC 5321 4.5.3.1.1: a local part is at most 64 octets. */
const MAX_LOCAL_PART = 64;

type UnsubscribePolicy = 'missing' | 'replace' | 'off';

/** Why a message got (or did not get) our headers; logged with the message. */
export type UnsubscribeHeaderNote = 'added' | 'replaced' | 'kept-own' | 'off' | 'no-list' | 'multiple-recipients' | 'too-long' | 'no-token';

export interface UnsubscribeHeaderInput {
  headers: readonly HeaderField[];
  policy: UnsubscribePolicy;
  listId: string;
  /** Envelope recipients of the message (after suppression): a per-person token needs exactly one. */
  recipientCount: number;
  origin: TrackingOrigin;
  /** unsubscribe.mailto, or '' for no mailto form. */
  mailto: string;
  /** Mints the message's unsubscribe token; called only when a header will be added. Null: cannot. */
  mintToken: () => string | null;
}

interface UnsubscribeHeaderPlan {
  changes: HeaderChange[];
  note: UnsubscribeHeaderNote;
  token?: string;
}

export function oneClickUrl(origin: TrackingOrigin, token: string): string {
  return `${origin.scheme}://${origin.domain}/u/${token}`;
}

/**
 * The mailto: form: the token as the address's `+` detail when the local part stays within 64 octets
 * (needs recipient_delimiter = + in Postfix), else in the subject. Either way the milter finds it.
 */
export function unsubscribeMailto(address: string, token: string): string {
  const at = address.lastIndexOf('@');
  const local = at === -1 ? address : address.slice(0, at);
  const domain = at === -1 ? '' : address.slice(at);
  if (local.length + 1 + token.length <= MAX_LOCAL_PART) return `mailto:${local}+${token}${domain}?subject=unsubscribe`;
  return `mailto:${address}?subject=unsubscribe%20${token}`;
}

export function planUnsubscribeHeaders(input: UnsubscribeHeaderInput): UnsubscribeHeaderPlan {
  if (input.policy === 'off') return { changes: [], note: 'off' };
  if (input.listId === '') return { changes: [], note: 'no-list' };
  if (input.recipientCount !== 1) return { changes: [], note: 'multiple-recipients' };
  const own = countNamed(input.headers, LIST_UNSUBSCRIBE);
  if (own > 0 && input.policy === 'missing') return { changes: [], note: 'kept-own' };
  const token = input.mintToken();
  if (token === null) return { changes: [], note: 'no-token' };
  const forms = [`<${oneClickUrl(input.origin, token)}>`];
  if (input.mailto) forms.push(`<${unsubscribeMailto(input.mailto, token)}>`);
  const value = forms.join(', ');
  if (LIST_UNSUBSCRIBE.length + 2 + value.length > MAX_HEADER_LINE) return { changes: [], note: 'too-long' };
  // Theirs go, last first so the indexes of the ones left stay valid; then ours are appended.
  const removals = [...removalsOf(input.headers, LIST_UNSUBSCRIBE), ...removalsOf(input.headers, LIST_UNSUBSCRIBE_POST)];
  return {
    changes: [...removals, { op: 'add', name: LIST_UNSUBSCRIBE, value }, { op: 'add', name: LIST_UNSUBSCRIBE_POST, value: ONE_CLICK }],
    note: own > 0 ? 'replaced' : 'added',
    token,
  };
}

function countNamed(headers: readonly HeaderField[], name: string): number {
  const lower = name.toLowerCase();
  return headers.filter((h) => h.name.toLowerCase() === lower).length;
}

function removalsOf(headers: readonly HeaderField[], name: string): HeaderChange[] {
  const lower = name.toLowerCase();
  const own = headers.filter((h) => h.name.toLowerCase() === lower);
  // The message's own spelling of the name, as controlHeaderRemovals does.
  const spelled = own[0]?.name ?? name;
  return own.map((_, i) => ({ op: 'change' as const, index: own.length - i, name: spelled, value: '' }));
}
