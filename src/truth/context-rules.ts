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
 */
export function contextReasons(events: readonly SeenEvent[], s: ContextSettings): string[][] {
  const reasons = events.map((): string[] => []);
  const add = (i: number, reason: string): void => {
    const list = reasons[i]!;
    if (!list.includes(reason)) list.push(reason);
  };
  const scans = new Set<number>(); // indexes of events judged part of a scan (burst or honeypot)

  // Runs of events no more than burstGapMs apart.
  let start = 0;
  for (let i = 1; i <= events.length; i++) {
    if (i < events.length && events[i]!.time - events[i - 1]!.time <= s.burstGapMs) continue;
    const links = new Set<string>();
    let honeypot = false;
    for (let j = start; j < i; j++) {
      const e = events[j]!;
      if (e.honeypot) honeypot = true;
      else if (e.kind === 'click') links.add(`${e.part}${e.position}`);
    }
    const burst = links.size >= s.burstMinLinks;
    if (burst || honeypot) {
      for (let j = start; j < i; j++) {
        if (burst) add(j, 'burst');
        if (honeypot) add(j, 'honeypot');
        scans.add(j);
      }
    }
    start = i;
  }

  // The honeypot's window, either side, from the hit's network (beyond the run, other networks are
  // more likely the person than the scanner).
  events.forEach((hit, h) => {
    if (!hit.honeypot) return;
    for (let j = 0; j < events.length; j++) {
      if (j !== h && events[j]!.client === hit.client && Math.abs(events[j]!.time - hit.time) <= s.honeypotWindowMs) {
        add(j, 'honeypot');
        scans.add(j);
      }
    }
  });

  // Same network as a scan, near it.
  for (const k of scans) {
    const scan = events[k]!;
    for (let j = 0; j < events.length; j++) {
      const e = events[j]!;
      if (reasons[j]!.length === 0 && e.client === scan.client && Math.abs(e.time - scan.time) <= s.scanNetworkWindowMs) add(j, 'scan-network');
    }
  }

  // A vendor's check right before the person's click on the same link.
  for (let j = 0; j < events.length; j++) {
    const first = events[j]!;
    if (first.kind !== 'click' || first.honeypot) continue;
    for (let k = j + 1; k < events.length && events[k]!.time - first.time <= s.pairWindowMs; k++) {
      const second = events[k]!;
      if (
        second.kind === 'click' &&
        second.position === first.position &&
        second.part === first.part &&
        second.network !== first.network &&
        !second.requestMachine
      ) {
        add(j, 'time-of-click');
        break;
      }
    }
  }

  // Weak: an HTML click with no open before it.
  let opened = false;
  events.forEach((e, j) => {
    if (e.kind === 'open') opened = true;
    else if (!opened && e.part === 'h' && !e.honeypot) add(j, 'no-open');
  });
  return reasons;
}
