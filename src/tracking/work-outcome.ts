// What the milter takes from a message's tracking outcome, and the form in which a worker's outcome
// crosses back to the main thread by structured clone. The main thread only counts the rewritten
// links: sent along, with both URLs each, they were most of the reply.
import type { UrlRow } from '../store/types.js';
import type { RewritePlan } from './plan-rewrite.js';
import type { TrackingOutcome } from './tracking-filter.js';
import { asBuffer, transferOf } from './worker-messages.js';

type Tracked = Extract<TrackingOutcome, { kind: 'track' }>;
type TrackedWork = Omit<Tracked, 'plan'> & { plan: Omit<RewritePlan, 'links'> & { linkCount: number } };

/** A tracking outcome without its rewritten links: their count stands in for them. */
export type WorkOutcome = Exclude<TrackingOutcome, Tracked> | TrackedWork;

/**
 * A message's URL rows as they cross: a list per field rather than an object per row (structured
 * clone reads objects property by property, looking up each one's shape), and the ids in one buffer of
 * the reply's own, moved with it. Each id alone is a 12-byte view of an 8 KB slab of Node's buffer
 * pool, and structured clone copies a view's whole backing store: two or three slabs a message,
 * copied, then pinned on the main thread by the ids the store keeps. The record's id comes first.
 */
interface PackedRows {
  ids: Uint8Array;
  /** Where each id ends in `ids`: the record's, then each row's. */
  idEnds: number[];
  sendIds: string[];
  listIds: string[];
  urls: string[];
  linkNames: string[];
}

/** A WorkOutcome as it crosses from a worker to the main thread. */
export type WorkReply = Exclude<WorkOutcome, TrackedWork> | (Omit<TrackedWork, 'urlRows'> & { urlRows: PackedRows });

/** An outcome ready to leave a worker, and the buffers that move with it (the new body, the ids). */
export function packOutcome(outcome: WorkOutcome): { reply: WorkReply; transfer: ArrayBuffer[] } {
  if (outcome.kind !== 'track') return { reply: outcome, transfer: [] };
  const rows = outcome.urlRows;
  const idEnds = new Array<number>(rows.length + 1);
  let size = (idEnds[0] = outcome.record.id.length);
  for (let i = 0; i < rows.length; i++) idEnds[i + 1] = size += rows[i]!.id.length;
  const ids = Buffer.alloc(size); // not from the pool: a buffer of its own, so it can be moved
  ids.set(outcome.record.id, 0);
  for (let i = 0; i < rows.length; i++) ids.set(rows[i]!.id, idEnds[i]);
  const urlRows: PackedRows = {
    ids,
    idEnds,
    sendIds: rows.map((row) => row.sendId),
    listIds: rows.map((row) => row.listId),
    urls: rows.map((row) => row.url),
    linkNames: rows.map((row) => row.linkName),
  };
  return { reply: { ...outcome, urlRows }, transfer: [...transferOf(outcome.plan.body), ids.buffer] };
}

/**
 * An outcome as it arrives from a worker: its rows objects again, its bytes Buffers again (the record
 * and row ids, views of one buffer; the new body). Field by field, not by walking the whole reply: the
 * walk cost about 30 µs of main-thread time per message. worker-pool.test.ts walks a reply to hold
 * that no other Buffer is in it.
 */
export function reviveOutcome(reply: WorkReply): WorkOutcome {
  if (reply.kind !== 'track') return reply;
  const { ids, idEnds, sendIds, listIds, urls, linkNames } = reply.urlRows;
  const bytes = asBuffer(ids);
  const urlRows = new Array<UrlRow>(urls.length);
  for (let i = 0; i < urls.length; i++) {
    urlRows[i] = { id: bytes.subarray(idEnds[i], idEnds[i + 1]), sendId: sendIds[i]!, listId: listIds[i]!, url: urls[i]!, linkName: linkNames[i]! };
  }
  reply.record.id = bytes.subarray(0, idEnds[0]);
  if (reply.plan.body) reply.plan.body = asBuffer(reply.plan.body);
  return { ...reply, urlRows };
}

/** The outcome the milter gets: the rewritten links counted, not sent. */
export function workOutcome(outcome: TrackingOutcome): WorkOutcome {
  if (outcome.kind !== 'track') return outcome;
  const { links, ...plan } = outcome.plan;
  return { ...outcome, plan: { ...plan, linkCount: links.length } };
}
