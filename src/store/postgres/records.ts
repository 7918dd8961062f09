/**
 * Records to and from PostgreSQL rows. Checked on the caller's turn with the limits the LevelDB store
 * has (ids of 1 to 64 bytes, times its keys can hold, known event types), so a record is valid for
 * both backends alike, plus PostgreSQL's own: text cannot hold a NUL character. A bad record fails
 * only its own call, never the group it would have joined.
 */
import { checkSendId, checkTimeMs, idBytes } from '../keys.js';
import { normalizeAddress, suppressingSource, suppressionKey, type Suppression, type SuppressionChange } from '../suppressions.js';
import { EVENT_TYPES, type EventPart, type EventType, type MessageRecord, type StoredUrlRow, type TrackEvent, type UrlRow } from '../types.js';

function checkText(name: string, value: string): void {
  if (typeof value !== 'string') throw new RangeError(`${name} is not text`);
  if (value.includes('\u0000')) throw new RangeError(`${name} holds a NUL character`);
}

function checkTime(time: Date): void {
  checkTimeMs(time.getTime());
}

export interface CheckedRow {
  id: Buffer;
  row: UrlRow;
}

export function checkMessage(message: MessageRecord, urlRows: readonly UrlRow[]): { message: MessageRecord & { id: Buffer }; rows: CheckedRow[] } {
  checkTime(message.time);
  checkSendId(message.sendId);
  for (const [name, value] of [
    ['sendId', message.sendId],
    ['listId', message.listId],
    ['emailCode', message.emailCode],
    ['queueId', message.queueId],
  ] as const)
    checkText(name, value);
  for (const recipient of message.recipients) checkText('recipient', recipient);
  const rows = urlRows.map((row): CheckedRow => {
    checkSendId(row.sendId);
    for (const [name, value] of [
      ['sendId', row.sendId],
      ['listId', row.listId],
      ['url', row.url],
      ['linkName', row.linkName],
    ] as const)
      checkText(name, value);
    return { id: idBytes(row.id), row };
  });
  return { message: { ...message, id: idBytes(message.id) }, rows };
}

export function checkEvents(events: readonly TrackEvent[]): Array<TrackEvent & { id: Buffer }> {
  return events.map((event) => {
    if (!EVENT_TYPES.includes(event.type)) throw new RangeError(`unknown event type: ${String(event.type)}`);
    checkTime(event.time);
    checkSendId(event.sendId);
    for (const [name, value] of [
      ['sendId', event.sendId],
      ['listId', event.listId],
      ['recipient', event.recipient],
      ['emailCode', event.emailCode],
      ['url', event.url],
      ['linkName', event.linkName],
      ['ip', event.ip],
      ['userAgent', event.userAgent],
    ] as const)
      checkText(name, value);
    if (event.machineReason !== undefined) checkText('machineReason', event.machineReason);
    if (!Number.isInteger(event.position) || event.position < 0 || event.position > 0x7fffffff) throw new RangeError('position out of range');
    return { ...event, id: idBytes(event.id) };
  });
}

/** The suppression an unsubscribe event implies (as the LevelDB writer adds in its batch), or null. */
export function impliedSuppression(event: TrackEvent): Suppression | null {
  const source = suppressingSource(event);
  if (source === null) return null;
  const address = normalizeAddress(event.recipient);
  try {
    suppressionKey(event.listId, address);
  } catch {
    return null; // an address no suppression can hold: the event is still recorded, as on LevelDB
  }
  return { listId: event.listId, address, time: event.time, source, sendId: event.sendId };
}

export function checkSuppressionChanges(changes: readonly SuppressionChange[]): SuppressionChange[] {
  return changes.map((change) => {
    const listId = change.op === 'add' ? change.suppression.listId : change.listId;
    const address = normalizeAddress(change.op === 'add' ? change.suppression.address : change.address);
    suppressionKey(listId, address); // the LevelDB store's limits, so both backends take the same
    checkText('listId', listId);
    checkText('address', address);
    if (change.op === 'remove') return { op: 'remove', listId, address };
    checkTime(change.suppression.time);
    return { op: 'add', suppression: { ...change.suppression, address } };
  });
}

export interface UrlRowRow {
  id: Buffer;
  send_id: string;
  list_id: string;
  url: string;
  link_name: string;
  time: Date;
}

export const URL_ROW_COLUMNS = 'id, send_id, list_id, url, link_name, time';

export function urlRowFromRow(r: UrlRowRow): StoredUrlRow {
  return { id: r.id, sendId: r.send_id, listId: r.list_id, url: r.url, linkName: r.link_name, time: r.time };
}

export interface MessageRow {
  id: Buffer;
  recipients: string[];
  email_code: string;
  send_id: string;
  list_id: string;
  queue_id: string;
  time: Date;
}

export const MESSAGE_COLUMNS = 'id, recipients, email_code, send_id, list_id, queue_id, time';

export function messageFromRow(r: MessageRow): MessageRecord {
  return { id: r.id, recipients: r.recipients, emailCode: r.email_code, sendId: r.send_id, listId: r.list_id, queueId: r.queue_id, time: r.time };
}

export interface EventRow {
  id: Buffer;
  time: Date;
  type: EventType;
  send_id: string;
  list_id: string;
  recipient: string;
  email_code: string;
  url: string;
  link_name: string;
  position: number;
  part: EventPart;
  ip: string;
  user_agent: string;
  machine: boolean;
  machine_reason: string | null;
  details: Record<string, string> | null;
}

export const EVENT_COLUMNS =
  'id, time, type, send_id, list_id, recipient, email_code, url, link_name, position, part, ip, user_agent, machine, machine_reason, details';

export function eventFromRow(r: EventRow): TrackEvent {
  const event: TrackEvent = {
    id: r.id,
    time: r.time,
    type: r.type,
    sendId: r.send_id,
    listId: r.list_id,
    recipient: r.recipient,
    emailCode: r.email_code,
    url: r.url,
    linkName: r.link_name,
    position: r.position,
    part: r.part,
    ip: r.ip,
    userAgent: r.user_agent,
    machine: r.machine,
  };
  if (r.machine_reason !== null) event.machineReason = r.machine_reason;
  if (r.details !== null) event.details = r.details;
  return event;
}

export interface SuppressionRow {
  list_id: string;
  address: string;
  time: Date;
  source: Suppression['source'];
  send_id: string;
}

export function suppressionFromRow(r: SuppressionRow): Suppression {
  return { listId: r.list_id, address: r.address, time: r.time, source: r.source, sendId: r.send_id };
}
