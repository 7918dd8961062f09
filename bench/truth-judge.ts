/**
 * The plan of ./truth-traffic.ts through the redirector's judge in this process, on replay time: each
 * request is judged at its planned time (ms after its recipient's delivery, uncompressed), in time
 * order, with the daemon's default rule settings and the shipped address ranges. No network and no
 * clock, so the same seed gives the same verdicts every time (test/truth/replay.test.ts checks it);
 * `npm run bench:truth -- --judge` times it (µs per judged event, the follow-ups' search included).
 */
import { createMachineJudge, type MachineFlagOptions } from '../src/redirector/machine-flags.js';
import type { RedirectEvent } from '../src/redirector/types.js';
import { contextHorizonMs, DEFAULT_CONTEXT_SETTINGS, type SeenEvent } from '../src/truth/context-rules.js';
import { networkOf, recipientKey } from '../src/truth/judge.js';
import type { TrafficPlan } from './truth-traffic.js';

const SEND_ID = 'a9001';
/** Recipient i's message is delivered at BASE + i * 1 s: recipients are judged apart anyway. */
const BASE = Date.UTC(2026, 0, 5, 9);

export interface JudgeReplay {
  /** The final machineReason of each planned request (same order as plan.requests), undefined for a person. */
  verdicts: Array<string | undefined>;
  /** Requests (indexes into plan.requests) whose verdict changed after they were judged: the follow-ups a sink gets. */
  followUps: number[];
  /** Time spent judging, remembering and looking for verdict changes, in ms (performance.now). */
  elapsedMs: number;
}

export function replayThroughJudge(plan: TrafficPlan, options: MachineFlagOptions = {}): JudgeReplay {
  const verdicts: Array<string | undefined> = [];
  const followUps: number[] = [];
  const judge = createMachineJudge(options, (changed, amended) => {
    for (const e of changed) followUps.push(Buffer.from(e.id).readUInt32BE(0));
    for (const e of [...changed, ...amended]) verdicts[Buffer.from(e.id).readUInt32BE(0)] = e.machineReason;
  });
  const deliveredAt = (recipient: number): number => BASE + recipient * 1_000;
  const order = plan.requests
    .map((q, n) => n)
    .sort(
      (a, b) => deliveredAt(plan.requests[a]!.recipient) + plan.requests[a]!.at - (deliveredAt(plan.requests[b]!.recipient) + plan.requests[b]!.at) || a - b,
    );
  const id = Buffer.alloc(4);
  const started = performance.now();
  for (const n of order) {
    const q = plan.requests[n]!;
    const address = plan.recipients[q.recipient]!.address;
    const now = deliveredAt(q.recipient) + q.at;
    const honeypot = q.kind === 'click' && q.position === 0;
    const judged = judge.judge({
      kind: q.kind,
      method: q.method,
      userAgent: q.userAgent,
      ip: q.ip,
      deliveredAt: deliveredAt(q.recipient),
      now,
      recipientKey: recipientKey(SEND_ID, address, '', '', q.ip),
      position: q.position,
      part: q.kind === 'click' ? 'h' : '',
      honeypot,
    });
    verdicts[n] = judged.machineReason;
    id.writeUInt32BE(n, 0);
    judged.remember(eventOf(Buffer.from(id), q.kind, now, address, judged.machineReason));
    // What the daemon does on the next turn of its event loop, here after every request.
    judge.flush();
  }
  return { verdicts, followUps, elapsedMs: performance.now() - started };
}

const deliveredAt = (recipient: number): number => BASE + recipient * 1_000;

/** Indexes of plan.requests in the order they happen (planned order among ties). */
function replayOrder(plan: TrafficPlan): number[] {
  const at = (n: number): number => deliveredAt(plan.requests[n]!.recipient) + plan.requests[n]!.at;
  return plan.requests.map((_, n) => n).sort((a, b) => at(a) - at(b) || a - b);
}

/**
 * The histories the context rules are run over while replaying the plan: for each request, its
 * recipient's events within the rules' horizon, at most `eventsPerRecipient`, itself last. To time
 * the rules alone (the judge runs them over each of these twice: the verdict, the search for changes).
 */
export function contextHistories(plan: TrafficPlan, options: MachineFlagOptions = {}, eventsPerRecipient = 32): SeenEvent[][] {
  const judge = createMachineJudge(options);
  const horizon = contextHorizonMs(DEFAULT_CONTEXT_SETTINGS);
  const byRecipient = new Map<number, SeenEvent[]>();
  const histories: SeenEvent[][] = [];
  for (const n of replayOrder(plan)) {
    const q = plan.requests[n]!;
    const now = deliveredAt(q.recipient) + q.at;
    const network = networkOf(q.ip);
    const facts = { kind: q.kind, method: q.method, userAgent: q.userAgent, ip: q.ip, deliveredAt: deliveredAt(q.recipient), now };
    const seen: SeenEvent = {
      time: now,
      kind: q.kind,
      position: q.position,
      part: q.kind === 'click' ? 'h' : '',
      honeypot: q.kind === 'click' && q.position === 0,
      network,
      client: `${network}\n${q.userAgent}`,
      requestMachine: judge.requestVerdict(facts) !== undefined,
    };
    const list = (byRecipient.get(q.recipient) ?? []).filter((e) => now - e.time <= horizon);
    list.push(seen);
    if (list.length > eventsPerRecipient) list.splice(0, list.length - eventsPerRecipient);
    byRecipient.set(q.recipient, list);
    histories.push([...list]);
  }
  return histories;
}

function eventOf(id: Buffer, kind: 'click' | 'open', now: number, recipient: string, machineReason: string | undefined): RedirectEvent {
  return {
    id,
    time: new Date(now),
    type: kind,
    sendId: SEND_ID,
    listId: '',
    recipient,
    emailCode: '',
    url: '',
    linkName: '',
    position: 0,
    part: '',
    ip: '',
    userAgent: '',
    machine: machineReason !== undefined,
    ...(machineReason ? { machineReason } : {}),
  };
}
