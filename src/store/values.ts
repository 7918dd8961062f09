/**
 * Value encoding: JSON with one-letter field names. JSON because values are small, read rarely (a click,
 * a report) and must stay readable in a dump and across versions; one-letter names because URL rows
 * and messages are written for every message sent, and Snappy does not shorten repeated names inside
 * one short value. Ids, sendIds and times that are already in the key are not repeated here.
 */
import { TIME_BYTES } from './keys.js';
import { EVENT_TYPES, type EventType, type MessageRecord, type EventPart, type StoredUrlRow, type TrackEvent, type UrlRow } from './types.js';

interface UrlRowValue {
  s: string;
  l: string;
  u: string;
  n: string;
  /** ms since the epoch of the message that last wrote the row */
  t: number;
}

interface MessageValue {
  r: string[];
  c: string;
  s: string;
  l: string;
  q: string;
  t: number;
}

interface EventValue {
  y: EventType;
  l: string;
  r: string;
  c: string;
  u: string;
  n: string;
  p: number;
  a: EventPart;
  i: string;
  g: string;
  m: 0 | 1;
  w?: string;
  x?: Record<string, string>;
}

export function encodeUrlRow(row: UrlRow, time: Date): Buffer {
  const value: UrlRowValue = { s: row.sendId, l: row.listId, u: row.url, n: row.linkName, t: time.getTime() };
  return Buffer.from(JSON.stringify(value));
}

export function decodeUrlRow(id: Buffer, bytes: Buffer): StoredUrlRow {
  const v = parse(bytes) as UrlRowValue;
  return { id, sendId: v.s, listId: v.l, url: v.u, linkName: v.n, time: new Date(v.t) };
}

export function encodeMessage(message: MessageRecord): Buffer {
  const value: MessageValue = {
    r: message.recipients,
    c: message.emailCode,
    s: message.sendId,
    l: message.listId,
    q: message.queueId,
    t: message.time.getTime(),
  };
  return Buffer.from(JSON.stringify(value));
}

export function decodeMessage(id: Buffer, bytes: Buffer): MessageRecord {
  const v = parse(bytes) as MessageValue;
  return { id, recipients: v.r, emailCode: v.c, sendId: v.s, listId: v.l, queueId: v.q, time: new Date(v.t) };
}

export function encodeEvent(event: TrackEvent): Buffer {
  if (!EVENT_TYPES.includes(event.type)) throw new RangeError(`unknown event type: ${String(event.type)}`);
  const value: EventValue = {
    y: event.type,
    l: event.listId,
    r: event.recipient,
    c: event.emailCode,
    u: event.url,
    n: event.linkName,
    p: event.position,
    a: event.part,
    i: event.ip,
    g: event.userAgent,
    m: event.machine ? 1 : 0,
  };
  if (event.machineReason !== undefined) value.w = event.machineReason;
  if (event.details !== undefined && Object.keys(event.details).length > 0) value.x = event.details;
  return Buffer.from(JSON.stringify(value));
}

export function decodeEvent(key: { id: Buffer; time: Date }, sendId: string, bytes: Buffer): TrackEvent {
  const v = parse(bytes) as EventValue;
  const event: TrackEvent = {
    id: key.id,
    time: key.time,
    type: v.y,
    sendId,
    listId: v.l,
    recipient: v.r,
    emailCode: v.c,
    url: v.u,
    linkName: v.n,
    position: v.p,
    part: v.a,
    ip: v.i,
    userAgent: v.g,
    machine: v.m === 1,
  };
  if (v.w !== undefined) event.machineReason = v.w;
  if (v.x !== undefined) event.details = v.x;
  return event;
}

/** An event ready for a batch record: what a layout 1 key held (id, time), then its value bytes. */
export interface EncodedEvent {
  id: Buffer;
  timeMs: number;
  value: Buffer;
}

/**
 * A batch record: its events one after another, each as id length (1 byte), id, time (6 bytes, ms since
 * the epoch, big-endian), value length (4 bytes, big-endian), value (encodeEvent's JSON).
 */
export function encodeEventBatch(events: readonly EncodedEvent[]): Buffer {
  let size = 0;
  for (const e of events) size += 1 + e.id.length + TIME_BYTES + 4 + e.value.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const e of events) {
    at = out.writeUInt8(e.id.length, at);
    at += e.id.copy(out, at);
    at = out.writeUIntBE(e.timeMs, at, TIME_BYTES);
    at = out.writeUInt32BE(e.value.length, at);
    at += e.value.copy(out, at);
  }
  return out;
}

/** The encoded events of a batch record; a record cut short throws RangeError. */
export function splitEventBatch(bytes: Buffer): EncodedEvent[] {
  const events: EncodedEvent[] = [];
  let at = 0;
  while (at < bytes.length) {
    const idLength = bytes.readUInt8(at);
    const timeAt = at + 1 + idLength;
    const valueAt = timeAt + TIME_BYTES + 4;
    if (idLength === 0 || valueAt > bytes.length) throw new RangeError('event batch record is cut short');
    const valueEnd = valueAt + bytes.readUInt32BE(timeAt + TIME_BYTES);
    if (valueEnd > bytes.length) throw new RangeError('event batch record is cut short');
    events.push({ id: bytes.subarray(at + 1, timeAt), timeMs: bytes.readUIntBE(timeAt, TIME_BYTES), value: bytes.subarray(valueAt, valueEnd) });
    at = valueEnd;
  }
  return events;
}

export function decodeEncodedEvent(sendId: string, event: EncodedEvent): TrackEvent {
  return decodeEvent({ id: event.id, time: new Date(event.timeMs) }, sendId, event.value);
}

function parse(bytes: Buffer): unknown {
  return JSON.parse(bytes.toString('utf8'));
}
