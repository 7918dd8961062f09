/**
 * Value encoding: JSON with one-letter field names. JSON because values are small, read rarely (a click,
 * a report) and must stay readable in a dump and across versions; one-letter names because URL rows
 * and messages are written for every message sent, and Snappy does not shorten repeated names inside
 * one short value. Ids, sendIds and times that are already in the key are not repeated here.
 */
import { EVENT_TYPES, type EventType, type MessageRecord, type PartCode, type StoredUrlRow, type TrackEvent, type UrlRow } from './types.js';

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
  a: PartCode;
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

function parse(bytes: Buffer): unknown {
  return JSON.parse(bytes.toString('utf8'));
}
