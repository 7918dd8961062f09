/**
 * RFC 3464 delivery status (and RFC 6533 global delivery status): the per-message fields and one
 * block per recipient. Only what an event needs is kept; unknown fields are ignored.
 */
import { addressValue, firstValue, parseFieldGroups, withoutTypePrefix, type FieldGroup, type ReportField } from './field-groups.js';

interface DsnMessageFields {
  reportingMta: string;
  arrivalDate: string;
  receivedFromMta: string;
}

export interface DsnRecipient {
  finalRecipient: string;
  originalRecipient: string;
  /** Lower-cased: failed, delayed, delivered, relayed or expanded. */
  action: string;
  /** The enhanced status code (`5.1.1`), without any comment that followed it. */
  status: string;
  remoteMta: string;
  /** Diagnostic-Code without its type (`smtp;`). */
  diagnostic: string;
  lastAttemptDate: string;
}

export interface DeliveryStatus extends DsnMessageFields {
  recipients: DsnRecipient[];
}

const MESSAGE_FIELDS = new Set(['reporting-mta', 'arrival-date', 'received-from-mta', 'dsn-gateway', 'original-envelope-id']);
const RECIPIENT_START = new Set(['final-recipient', 'original-recipient']);
const RECIPIENT_FIELDS = new Set([
  ...RECIPIENT_START,
  'action',
  'status',
  'remote-mta',
  'diagnostic-code',
  'last-attempt-date',
  'will-retry-until',
  'final-log-id',
]);

export const ENHANCED_STATUS = /(?<![\w.])([245])\.(\d{1,3})\.(\d{1,3})(?![\w.])/;

function statusCode(value: string): string {
  return ENHANCED_STATUS.exec(value)?.[0] ?? '';
}

function toRecipient(fields: FieldGroup): DsnRecipient {
  return {
    finalRecipient: addressValue(firstValue(fields, 'final-recipient')),
    originalRecipient: addressValue(firstValue(fields, 'original-recipient')),
    action:
      firstValue(fields, 'action')
        .toLowerCase()
        .split(/[\s(;]/)[0] ?? '',
    status: statusCode(firstValue(fields, 'status')),
    remoteMta: withoutTypePrefix(firstValue(fields, 'remote-mta')),
    diagnostic: withoutTypePrefix(firstValue(fields, 'diagnostic-code')),
    lastAttemptDate: firstValue(fields, 'last-attempt-date'),
  };
}

/**
 * Splits the fields into recipient blocks. Blank lines normally separate them, but some generators
 * omit the blank lines, so a field seen twice in a block, or a recipient address after a block
 * that already has an address and an Action or Status, starts a new block too. (Amazon SES writes
 * Action before Final-Recipient, so Action alone does not end a block.)
 */
function recipientBlocks(groups: FieldGroup[]): FieldGroup[] {
  const blocks: FieldGroup[] = [];
  for (const group of groups) {
    let block: ReportField[] = [];
    const seen = new Set<string>();
    for (const field of group) {
      if (!RECIPIENT_FIELDS.has(field.name)) continue;
      const hasRecipient = seen.has('final-recipient') || seen.has('original-recipient');
      const startsAnother = seen.has(field.name) || (RECIPIENT_START.has(field.name) && hasRecipient && (seen.has('action') || seen.has('status')));
      if (startsAnother) {
        blocks.push(block);
        block = [];
        seen.clear();
      }
      block.push(field);
      seen.add(field.name);
    }
    if (block.length > 0) blocks.push(block);
  }
  // A block is a recipient only when it names one or at least says what happened to it.
  return blocks.filter((b) => b.some((f) => RECIPIENT_START.has(f.name)) || b.some((f) => f.name === 'action'));
}

export function parseDeliveryStatus(text: string): DeliveryStatus {
  const groups = parseFieldGroups(text);
  const messageFields = groups.flat().filter((f) => MESSAGE_FIELDS.has(f.name));
  return {
    reportingMta: withoutTypePrefix(firstValue(messageFields, 'reporting-mta')),
    arrivalDate: firstValue(messageFields, 'arrival-date'),
    receivedFromMta: withoutTypePrefix(firstValue(messageFields, 'received-from-mta')),
    recipients: recipientBlocks(groups).map(toRecipient),
  };
}
