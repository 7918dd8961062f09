/**
 * The context rules as first written (src/truth/context-rules.ts before it was made linear): every
 * rule a loop over all events inside a loop over the hits, scans or clicks, O(n^2) in the events of
 * a recipient. Kept as the reference the linear version must agree with (context-rules.test.ts) and
 * to time against it (`npm run bench:truth -- --judge`).
 */
import type { ContextSettings, SeenEvent } from '../../src/truth/context-rules.js';

/**
 * The context reasons of every event (same order as `events`, which must be sorted by time). Adding
 * events never takes a reason away from an earlier one, except `no-open` when an open arrives that
 * happened before the click (callers keep what they already reported).
 */
export function referenceContextReasons(events: readonly SeenEvent[], s: ContextSettings): string[][] {
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
