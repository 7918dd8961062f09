/**
 * Machine verdicts from one request alone: method, user agent, address ranges, time since delivery.
 * Pure, given the range table and the user-agent lookup (cached by the caller).
 *
 * - `head`, `options`: browsers following a link send GET. HEAD is a link checker or prefetch;
 *   OPTIONS is Office's "existence discovery" before it opens a link for the person.
 * - user agent: ./user-agents.ts. Address ranges: ./address-ranges.ts (`range:<vendor>`, `apple-mpp`).
 * - `fast-click` (clicks): within `fastClickMs` of delivery, a machine on that alone. Off by default:
 *   scanner sweeps start a median 43 s after delivery and only 0.5% within 10 s (craft-campaign#546),
 *   while some people do click within seconds of a notification.
 * - `early` (weak, clicks and opens): within `earlyMs` of delivery. 84% of scanner pixel fetches land
 *   within 20 s and 97% of sweeps within 5 min of sending (craft-campaign#546), but a person reading as
 *   mail arrives does too, so it counts only with another weak reason (./verdict.ts).
 */
import type { LinkKind } from '../redirector/types.js';
import type { RangeTable } from './address-ranges.js';

export interface RequestFacts {
  kind: LinkKind;
  method: string;
  userAgent: string;
  /** The full client address (after trusted X-Forwarded-For), before any truncation. */
  ip: string;
  /** When the message passed the milter, ms since the epoch, when known. */
  deliveredAt: number | undefined;
  now: number;
}

export interface RequestSignalSettings {
  ranges: RangeTable;
  userAgentReason: (userAgent: string, kind: LinkKind) => string | undefined;
  /** 0: off. */
  fastClickMs: number;
  /** 0: off. */
  earlyMs: number;
}

export function requestReasons(f: RequestFacts, s: RequestSignalSettings): string[] {
  const reasons: string[] = [];
  if (f.method === 'HEAD') reasons.push('head');
  else if (f.method === 'OPTIONS') reasons.push('options');
  const ua = s.userAgentReason(f.userAgent, f.kind);
  if (ua !== undefined) reasons.push(ua);
  const range = s.ranges.reasonFor(f.ip, f.kind);
  if (range !== undefined && !reasons.includes(range)) reasons.push(range);
  if (f.deliveredAt !== undefined) {
    const since = f.now - f.deliveredAt;
    if (since >= 0) {
      if (f.kind === 'click' && s.fastClickMs > 0 && since < s.fastClickMs) reasons.push('fast-click');
      if (s.earlyMs > 0 && since < s.earlyMs) reasons.push('early');
    }
  }
  return reasons;
}
