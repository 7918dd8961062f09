/**
 * Machine verdicts from what one recipient's events say together: pure functions over the events of
 * one recipient of one message, oldest first. Each rule, and where its pattern is published:
 *
 * - `burst`: clicks on at least `burstMinLinks` different links of the message in one run of events
 *   no more than `burstGapMs` apart (in link order or all at once). Gateway scanners sweep every link
 *   in under a second (craft-campaign#546: "all ~9-10 links in one sub-second sweep", 5 clicks in 1 s
 *   used as the cluster test there; mautic#16263; listmonk#2400). Every event of the run is flagged,
 *   its pixel fetch included. People open a link, read, come back: seconds between two links; those
 *   who open several in tabs take about a second or more each (bench:truth: a 2 s gap flagged 1.5% of
 *   people's clicks, 1 s none, and caught the same sweeps).
 * - `honeypot`: a click on the hidden link (position 0 of the HTML part, see src/rewrite/honeypot.ts).
 *   No person can see, tab to or hear it, so only a machine follows it; the recipient's other events
 *   in the same run, and those of the same client (network and user agent) within `honeypotWindowMs`
 *   either side, are flagged too (mautic#9798: an invisible link and a +/-10 s window took out about 90% of scanner
 *   clicks; we keep the window to the scanner's network, as a person clicking or opening within those
 *   seconds from elsewhere is the person).
 * - `time-of-click`: the same link clicked twice within `pairWindowMs` from two different networks
 *   (/24, /48): the first is the vendor's check at time of click (Microsoft Safe Links fetches the URL
 *   from its own network right before it sends the person's browser on), the second is the person.
 *   A double click from one network is a person's and flags nothing.
 * - `scan-network`: an event of the same client (network /24 or /48, and user agent) as a run already
 *   judged a scan (burst or honeypot), within `scanNetworkWindowMs` before or after it. The user agent
 *   keeps apart a person and an on-premises appliance behind one corporate NAT. The scanner's own pixel
 *   fetch comes a median 33 s before its click sweep, and 97% of sweeps start within 5 minutes of
 *   sending (craft-campaign#546), hence the 5-minute default.
 * - `no-open` (weak): a click on an HTML link when no open of the message has been seen before it.
 *   People reading HTML mostly load images first; many clients block them, so alone it means nothing.
 *
 * Weak reasons count only in pairs (see ./verdict.ts): `no-open` with `early` (./request-signals.ts).
 */
import type { LinkKind } from '../redirector/types.js';

/** What the rules need to know of one event. */
export interface SeenEvent {
  time: number;
  kind: LinkKind;
  /** Link position in its part (0 for opens and for the honeypot). */
  position: number;
  part: 'h' | 't' | '';
  honeypot: boolean;
  /** The client's network: its address cut to /24 (IPv4) or /48 (IPv6). */
  network: string;
  /** The client: its network and user agent (a scanner and a person behind one NAT differ in the second). */
  client: string;
  /** Reasons from the request alone (user agent, method, ranges): a machine already. */
  requestMachine: boolean;
}

export interface ContextSettings {
  burstGapMs: number;
  burstMinLinks: number;
  honeypotWindowMs: number;
  pairWindowMs: number;
  scanNetworkWindowMs: number;
}

export const DEFAULT_CONTEXT_SETTINGS: ContextSettings = {
  burstGapMs: 1_000,
  burstMinLinks: 2,
  honeypotWindowMs: 10_000,
  pairWindowMs: 5_000,
  scanNetworkWindowMs: 300_000,
};

/** The longest any rule looks back: how long a recipient's events must be kept. */
export function contextHorizonMs(s: ContextSettings): number {
  return Math.max(s.burstGapMs, s.honeypotWindowMs, s.pairWindowMs, s.scanNetworkWindowMs);
}

/**
 * The context reasons of every event (same order as `events`, which must be sorted by time). Adding
 * events never takes a reason away from an earlier one, except `no-open` when an open arrives that
 * happened before the click (callers keep what they already reported).
 *
 * Linear in the events: the judge runs this on every click and open over up to 32 events of the
 * recipient, twice (the verdict, then the search for changed verdicts). Each window rule is a pass
 * forwards and one backwards keeping, per client or link, the nearest event that can trigger it; the
 * time order makes the nearest one the only one to check. test/truth/context-rules.test.ts holds it
 * to the quadratic reference it replaced.
 */
export function contextReasons(events: readonly SeenEvent[], s: ContextSettings): Array<readonly string[]> {
  const n = events.length;
  const flags = new Uint8Array(n); // each event's reasons, as bits (REASON_BITS)
  let scans = 0; // events of a scan (burst or honeypot): those with a reason after the first two rules
  let hits = 0;
  let clicks = 0;

  // Runs of events no more than burstGapMs apart.
  let start = 0;
  for (let i = 1; i <= n; i++) {
    if (i < n && events[i]!.time - events[i - 1]!.time <= s.burstGapMs) continue;
    let links = 0;
    let honeypot = false;
    let only = -1;
    let seen: Set<number> | undefined; // the run's links, once it has two
    for (let j = start; j < i; j++) {
      const e = events[j]!;
      if (e.honeypot) {
        honeypot = true;
        hits++;
      } else if (e.kind === 'click') {
        clicks++;
        const link = linkId(e);
        if (links === 0) {
          only = link;
          links = 1;
        } else if (seen) {
          if (!seen.has(link)) {
            seen.add(link);
            links++;
          }
        } else if (link !== only) {
          seen = new Set([only, link]);
          links = 2;
        }
      }
    }
    const run = (links >= s.burstMinLinks ? BURST : 0) | (honeypot ? HONEYPOT : 0);
    if (run !== 0) {
      for (let j = start; j < i; j++) flags[j] = run;
      scans += i - start;
    }
    start = i;
  }

  // Clients as small numbers, for the two rules that look for the same client nearby.
  const client = hits > 0 || scans > 0 ? clientIds(events) : undefined;

  // The honeypot's window, either side, from the hit's client (beyond the run, other networks are
  // more likely the person than the scanner): the nearest hit of the client before, then after.
  if (hits > 0) {
    const near = nearestTimes(events, client!, (j) => events[j]!.honeypot);
    for (let j = 0; j < n; j++) {
      const t = events[j]!.time;
      if (t - near.before[j]! <= s.honeypotWindowMs || near.after[j]! - t <= s.honeypotWindowMs) {
        if (flags[j] === 0) scans++;
        flags[j]! |= HONEYPOT;
      }
    }
  }

  // Same client as a scan, near it: the nearest scan event of the client before, then after. Only
  // events with no reason yet, so none of the scan's own.
  if (scans > 0 && scans < n) {
    const scan = flags.slice();
    const near = nearestTimes(events, client!, (j) => scan[j] !== 0);
    for (let j = 0; j < n; j++) {
      if (scan[j] !== 0) continue;
      const t = events[j]!.time;
      if (t - near.before[j]! <= s.scanNetworkWindowMs || near.after[j]! - t <= s.scanNetworkWindowMs) flags[j]! |= SCAN_NETWORK;
    }
  }

  // A vendor's check right before the person's click on the same link: backwards, per link, the
  // earliest later click that can be the person's, and the earliest from a network other than its.
  if (clicks > 0 && clicks + hits > 1) {
    const first = new Map<number, number>();
    const other = new Map<number, number>();
    for (let j = n - 1; j >= 0; j--) {
      const e = events[j]!;
      if (e.kind !== 'click') continue;
      const link = linkId(e);
      const f = first.get(link);
      if (f !== undefined) {
        if (!e.honeypot) {
          const k = events[f]!.network !== e.network ? f : other.get(link);
          if (k !== undefined && events[k]!.time - e.time <= s.pairWindowMs) flags[j]! |= TIME_OF_CLICK;
        }
        if (!e.requestMachine && events[f]!.network !== e.network) other.set(link, f);
      }
      if (!e.requestMachine) first.set(link, j);
    }
  }

  // Weak: an HTML click with no open before it.
  for (let j = 0; j < n; j++) {
    const e = events[j]!;
    if (e.kind === 'open') break;
    if (e.part === 'h' && !e.honeypot) flags[j]! |= NO_OPEN;
  }
  const out = new Array<readonly string[]>(n);
  for (let j = 0; j < n; j++) out[j] = REASON_LISTS[flags[j]!]!;
  return out;
}

/** Reasons as bits while the rules run; a list of them is written in this order. */
const BURST = 1;
const HONEYPOT = 2;
const SCAN_NETWORK = 4;
const TIME_OF_CLICK = 8;
const NO_OPEN = 16;
const REASON_BITS: ReadonlyArray<[number, string]> = [
  [BURST, 'burst'],
  [HONEYPOT, 'honeypot'],
  [SCAN_NETWORK, 'scan-network'],
  [TIME_OF_CLICK, 'time-of-click'],
  [NO_OPEN, 'no-open'],
];
/** Every set of reasons as one shared, frozen list: the rules allocate none per event. */
const REASON_LISTS: ReadonlyArray<readonly string[]> = Array.from({ length: 32 }, (_, bits) =>
  Object.freeze(REASON_BITS.filter(([bit]) => (bits & bit) !== 0).map(([, reason]) => reason)),
);

/** A link of the message as one number: its position and its part. */
function linkId(e: SeenEvent): number {
  return e.position * 4 + (e.part === 'h' ? 1 : e.part === 't' ? 2 : 3);
}

/** Each event's client as a number from 0 (a recipient's events come from a few clients). */
function clientIds(events: readonly SeenEvent[]): Uint32Array {
  const ids = new Uint32Array(events.length);
  const known = new Map<string, number>();
  for (let j = 0; j < events.length; j++) {
    const c = events[j]!.client;
    let id = known.get(c);
    if (id === undefined) known.set(c, (id = known.size));
    ids[j] = id;
  }
  return ids;
}

/**
 * For each event, the time of the nearest other event of its client that `marks`, before it and
 * after it (-Infinity and Infinity when there is none): a pass each way.
 */
function nearestTimes(events: readonly SeenEvent[], client: Uint32Array, marks: (i: number) => boolean): { before: Float64Array; after: Float64Array } {
  const n = events.length;
  const before = new Float64Array(n);
  const after = new Float64Array(n);
  const last = new Float64Array(n).fill(-Infinity);
  for (let j = 0; j < n; j++) {
    before[j] = last[client[j]!]!;
    if (marks(j)) last[client[j]!] = events[j]!.time;
  }
  last.fill(Infinity);
  for (let j = n - 1; j >= 0; j--) {
    after[j] = last[client[j]!]!;
    if (marks(j)) last[client[j]!] = events[j]!.time;
  }
  return { before, after };
}
