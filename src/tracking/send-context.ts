// Who a message is for and how it is tracked, from its control headers, its envelope and the config.
// GreenArrow: SendID = X-GreenArrow-MailClass + X-GreenArrow-InstanceID, ListID, Click-Tracking-ID.
// Momentum: X-MSYS-API JSON with options.click_tracking / open_tracking, campaign_id, metadata.
// Precedence for tracking switches: header > mail class > global.
import type { ConfigValues } from '../config/load.js';
import type { ClassSettings } from '../config/schema.js';
import type { EnvelopeAddress, HeaderField } from '../milter/commands.js';
import type { HeaderChange } from '../milter/filter.js';

export interface SendIdentity {
  sendId: string;
  listId: string;
  emailCode: string;
  mailClass: string;
  /** The one envelope recipient, or '' when there are several (links cannot name one person then). */
  recipient: string;
  recipients: string[];
  campaignId: string;
  metadata: Record<string, unknown> | null;
}

type SendDecision =
  | { kind: 'track'; identity: SendIdentity; settings: ClassSettings; removeHeaders: HeaderChange[] }
  | { kind: 'pass'; reason: string; detail: string; removeHeaders: HeaderChange[] }
  | { kind: 'reject'; reply: string; detail: string };

const GREENARROW_PREFIX = 'x-greenarrow-';
const MSYS_API = 'x-msys-api';

export function resolveSend(
  headers: HeaderField[],
  envelope: { from: EnvelopeAddress | null; recipients: EnvelopeAddress[] },
  config: ConfigValues,
): SendDecision {
  // Names lowered once: this runs for every message, and each lookup below would lower them all again.
  const names = headers.map((h) => h.name.toLowerCase());
  const valueOf = (name: string): string | undefined => {
    const at = names.indexOf(name);
    return at < 0 ? undefined : headers[at]!.value;
  };
  const get = (name: string): string => headerText(valueOf(name) ?? '').trim();
  const removeHeaders = config['headers.remove_control'] ? controlHeaderRemovals(headers) : [];

  const msys = parseMsysApi(valueOf(MSYS_API));
  if (msys.kind === 'invalid') {
    if (config['headers.invalid_msys_api'] === 'reject') {
      return { kind: 'reject', reply: '550 5.6.0 X-MSYS-API header is not valid JSON', detail: msys.why };
    }
  }
  const api = msys.kind === 'ok' ? msys.value : null;
  const tagged = api !== null || names.some((name) => name.startsWith(GREENARROW_PREFIX));
  if (!tagged && config['tracking.untagged'] === 'pass') {
    return { kind: 'pass', reason: 'untagged', detail: 'no X-GreenArrow-* or X-MSYS-API header', removeHeaders };
  }

  const recipients = envelope.recipients.map((r) => r.address);
  if (recipients.length > 1 && config['tracking.multiple_recipients'] === 'skip') {
    return { kind: 'pass', reason: 'multiple-recipients', detail: `${recipients.length} envelope recipients`, removeHeaders };
  }

  const mailClass = get('x-greenarrow-mailclass');
  const instanceId = get('x-greenarrow-instanceid');
  const campaignId = typeof api?.campaign_id === 'string' ? api.campaign_id : '';
  const settings = classSettings(config, mailClass, envelope.from?.address ?? '');
  const options = isObject(api?.options) ? api.options : {};
  if (typeof options.click_tracking === 'boolean') settings.clicks = options.click_tracking;
  if (typeof options.open_tracking === 'boolean') settings.opens = options.open_tracking;

  return {
    kind: 'track',
    identity: {
      sendId: mailClass || instanceId ? mailClass + instanceId : campaignId,
      listId: get('x-greenarrow-listid'),
      emailCode: get('x-greenarrow-click-tracking-id'),
      mailClass,
      recipient: recipients.length === 1 ? recipients[0]! : '',
      recipients,
      campaignId,
      metadata: isObject(api?.metadata) ? api.metadata : null,
    },
    settings,
    removeHeaders,
  };
}

/** The message's ListID (X-GreenArrow-ListID), unfolded and trimmed; '' when it has none. */
export function listIdOf(headers: readonly HeaderField[]): string {
  const field = headers.find((h) => h.name.toLowerCase() === 'x-greenarrow-listid');
  return field ? headerText(field.value).trim() : '';
}

/** The default class (`tracking.*`), overlaid with the named class, with the sender domain's tracking domain. */
function classSettings(config: ConfigValues, mailClass: string, sender: string): ClassSettings {
  const base: ClassSettings = {
    clicks: config['tracking.clicks'],
    opens: config['tracking.opens'],
    domain: config['tracking.domain'],
    scheme: config['tracking.scheme'],
    style: config['tracking.style'],
    mode: config['tracking.mode'],
    unsubscribe: config['tracking.unsubscribe'],
    unsubscribe_page: config['tracking.unsubscribe_page'],
    honeypot: config['tracking.honeypot'],
  };
  const own = (mailClass && config.classes[mailClass]) || {};
  const senderDomain = sender.slice(sender.lastIndexOf('@') + 1).toLowerCase();
  const domainForSender = senderDomain ? config.senderDomains[senderDomain] : undefined;
  return { ...base, ...(domainForSender ? { domain: domainForSender } : {}), ...own };
}

/** Deletions of every X-GreenArrow-* and X-MSYS-API header, last occurrence first so indexes stay valid. */
export function controlHeaderRemovals(headers: HeaderField[]): HeaderChange[] {
  const seen = new Map<string, { name: string; count: number }>();
  for (const h of headers) {
    const key = h.name.toLowerCase();
    if (!key.startsWith(GREENARROW_PREFIX) && key !== MSYS_API) continue;
    const entry = seen.get(key) ?? { name: h.name, count: 0 };
    entry.count += 1;
    seen.set(key, entry);
  }
  const removals: HeaderChange[] = [];
  for (const { name, count } of seen.values()) for (let index = count; index >= 1; index--) removals.push({ op: 'change', index, name, value: '' });
  return removals;
}

type MsysApi = { kind: 'absent' } | { kind: 'ok'; value: Record<string, unknown> } | { kind: 'invalid'; why: string };

function parseMsysApi(raw: string | undefined): MsysApi {
  if (raw === undefined) return { kind: 'absent' };
  try {
    const value: unknown = JSON.parse(headerText(raw));
    if (!isObject(value)) return { kind: 'invalid', why: 'X-MSYS-API is JSON but not an object' };
    return { kind: 'ok', value };
  } catch (err) {
    return { kind: 'invalid', why: (err as Error).message };
  }
}

const NOT_PLAIN_ASCII = /[\n\u0080-\uffff]/;

/** Header values arrive as bytes in a latin1 string, possibly folded: unfold and read them as UTF-8. */
function headerText(value: string): string {
  // ASCII on one line (nearly every value) reads as it is.
  if (!NOT_PLAIN_ASCII.test(value)) return value;
  return Buffer.from(value.replace(/\r?\n(?=[ \t])/g, ''), 'latin1').toString('utf8');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
