// Events as `trackmilter events` exports them: JSON lines in the sinks' own shape (../events/event-json.ts),
// or CSV with one column per field and the bounce or complaint details as one JSON text column.
import { greenarrowType, toEventJson, type BounceClassification } from '../events/event-json.js';
import type { TrackEvent } from '../store/index.js';

const EVENT_COLUMNS = [
  'id',
  'time',
  'type',
  'greenarrowType',
  'sendId',
  'listId',
  'recipient',
  'emailCode',
  'url',
  'linkName',
  'position',
  'part',
  'ip',
  'userAgent',
  'machine',
  'machineReason',
  'details',
] as const;

function eventObject(e: TrackEvent): Record<(typeof EVENT_COLUMNS)[number], string | number | boolean> {
  return {
    id: Buffer.from(e.id).toString('hex'),
    time: e.time.toISOString(),
    type: e.type,
    greenarrowType: greenarrowType(e.type, e.details?.classification as BounceClassification | undefined),
    sendId: e.sendId,
    listId: e.listId,
    recipient: e.recipient,
    emailCode: e.emailCode,
    url: e.url,
    linkName: e.linkName,
    position: e.position,
    part: e.part,
    ip: e.ip,
    userAgent: e.userAgent,
    machine: e.machine,
    machineReason: e.machineReason ?? '',
    details: e.details ? JSON.stringify(e.details) : '',
  };
}

export function eventJsonLine(e: TrackEvent): string {
  return JSON.stringify(toEventJson(e)) + '\n';
}

export const CSV_HEADER = EVENT_COLUMNS.join(',') + '\r\n';

/** RFC 4180: fields with a comma, quote or line break are quoted; a leading = + - @ is defused for spreadsheets. */
export function eventCsvLine(e: TrackEvent): string {
  const o = eventObject(e);
  return EVENT_COLUMNS.map((c) => csvField(String(o[c]))).join(',') + '\r\n';
}

function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
