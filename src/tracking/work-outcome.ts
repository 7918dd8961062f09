// What the milter takes from a message's tracking outcome. A worker's outcome crosses back to the main
// thread by structured clone, and the main thread only counts the rewritten links: sent along, with
// both URLs each, they were most of the reply.
import type { RewritePlan } from './plan-rewrite.js';
import type { TrackingOutcome } from './tracking-filter.js';

type Tracked = Extract<TrackingOutcome, { kind: 'track' }>;

/** A tracking outcome without its rewritten links: their count stands in for them. */
export type WorkOutcome = Exclude<TrackingOutcome, Tracked> | (Omit<Tracked, 'plan'> & { plan: Omit<RewritePlan, 'links'> & { linkCount: number } });

export function workOutcome(outcome: TrackingOutcome): WorkOutcome {
  if (outcome.kind !== 'track') return outcome;
  const { links, ...plan } = outcome.plan;
  return { ...outcome, plan: { ...plan, linkCount: links.length } };
}
