// What the milter takes from a message's tracking outcome. A worker's outcome crosses back to the main
// thread by structured clone, and the main thread only counts the rewritten links: sent along, with
// both URLs each, they were most of the reply.
import type { RewritePlan } from './plan-rewrite.js';
import type { TrackingOutcome } from './tracking-filter.js';
import { asBuffer } from './worker-messages.js';

type Tracked = Extract<TrackingOutcome, { kind: 'track' }>;

/** A tracking outcome without its rewritten links: their count stands in for them. */
export type WorkOutcome = Exclude<TrackingOutcome, Tracked> | (Omit<Tracked, 'plan'> & { plan: Omit<RewritePlan, 'links'> & { linkCount: number } });

/**
 * An outcome as it arrives from a worker: its bytes Buffers again (record and row ids, the new body).
 * Field by field, not by walking the whole reply: the walk cost about 30 µs of main-thread time per
 * message. worker-pool.test.ts walks a reply to hold that no other Buffer is in it.
 */
export function reviveOutcome(outcome: WorkOutcome): WorkOutcome {
  if (outcome.kind !== 'track') return outcome;
  outcome.record.id = asBuffer(outcome.record.id);
  for (const row of outcome.urlRows) row.id = asBuffer(row.id);
  if (outcome.plan.body) outcome.plan.body = asBuffer(outcome.plan.body);
  return outcome;
}

/**
 * An outcome as it leaves a worker, with the buffer to move along with it: its record and row ids
 * copied into one buffer of their own. Each id alone is a 12-byte view of an 8 KB slab of Node's
 * buffer pool, and structured clone copies a view's whole backing store: two or three slabs a
 * message, copied, then pinned on the main thread by the ids the store keeps. The rows are new
 * objects: the minter's may be shared with the worker's caches.
 */
export function withPackedIds(outcome: WorkOutcome): { outcome: WorkOutcome; ids: ArrayBuffer | null } {
  if (outcome.kind !== 'track') return { outcome, ids: null };
  let size = outcome.record.id.length;
  for (const row of outcome.urlRows) size += row.id.length;
  const ids = Buffer.alloc(size); // not from the pool: a buffer of its own, so it can be moved
  let at = 0;
  const place = (id: Uint8Array): Buffer => {
    ids.set(id, at);
    at += id.length;
    return ids.subarray(at - id.length, at);
  };
  const record = { ...outcome.record, id: place(outcome.record.id) };
  const urlRows = outcome.urlRows.map((row) => ({ ...row, id: place(row.id) }));
  return { outcome: { ...outcome, record, urlRows }, ids: ids.buffer };
}

/** The outcome the milter gets: the rewritten links counted, not sent. */
export function workOutcome(outcome: TrackingOutcome): WorkOutcome {
  if (outcome.kind !== 'track') return outcome;
  const { links, ...plan } = outcome.plan;
  return { ...outcome, plan: { ...plan, linkCount: links.length } };
}
