/** Records for the store tests; no vitest here, so the crash-writer child can use it too. */
import { createHash } from 'node:crypto';
import type { MessageRecord, TrackEvent, UrlRow } from '../../src/store/index.js';

/** A deterministic 12-byte id, standing in for the keyed hash src/tokens computes. */
export function idOf(...parts: string[]): Buffer {
  return createHash('sha256').update(parts.join('\0')).digest().subarray(0, 12);
}

/** The row src/tokens would produce for a link: the URL is cut at `?`, the id hashes the row's content. */
export function urlRow(sendId: string, url: string, linkName = '', listId = 'list1'): UrlRow {
  const stored = url.split('?')[0]!;
  return { id: idOf('row', sendId, listId, stored, linkName), sendId, listId, url: stored, linkName };
}

export function message(n: number, sendId = 'a100525', time = new Date(Date.UTC(2026, 0, 1, 12, 0, n))): MessageRecord {
  return {
    id: idOf('msg', String(n)),
    recipients: [`subscriber${n}@example.com`],
    emailCode: `code${n}`,
    sendId,
    listId: 'list1',
    queueId: `4Q${n}`,
    time,
  };
}

let eventCounter = 0;
export function event(sendId: string, time: Date, fields: Partial<TrackEvent> = {}): TrackEvent {
  eventCounter += 1;
  return {
    id: idOf('event', String(eventCounter), String(process.pid)),
    time,
    type: 'click',
    sendId,
    listId: 'list1',
    recipient: 'someone@example.com',
    emailCode: 'c1',
    url: 'https://shop.example/sale',
    linkName: 'sale',
    position: 1,
    part: 'h',
    ip: '192.0.2.1',
    userAgent: 'Mozilla/5.0',
    machine: false,
    ...fields,
  };
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
