/**
 * The redirector's machine-or-person settings and the judge built from them. The rules themselves are
 * in src/truth (each documented with its source there and in the README, "Machine or person").
 */
import { parseRangeFile, RangeTable, type RangeList } from '../truth/address-ranges.js';
import { DEFAULT_CONTEXT_SETTINGS, type ContextSettings } from '../truth/context-rules.js';
import { MachineJudge } from '../truth/judge.js';
import type { RedirectEvent } from './types.js';

export interface MachineFlagOptions extends Partial<ContextSettings> {
  /** A click within this many seconds of delivery is a machine on that alone; 0 (default) disables. */
  fastClickSeconds?: number;
  /** Within this many seconds of delivery is the weak reason `early`; 0 (default) disables. */
  earlySeconds?: number;
  /** Address range lists (ranges by default in the daemon); only Apple's 17.0.0.0/8 when absent. */
  ranges?: readonly RangeList[];
  /** Recipients whose recent events are kept for the context rules. Default 50,000. */
  recipients?: number;
  /** Events kept per recipient. Default 32. */
  eventsPerRecipient?: number;
}

export const DEFAULT_EARLY_SECONDS = 0;

const APPLE_ONLY = parseRangeFile('apple', '# reason: apple-mpp\n# kind: open\n17.0.0.0/8\n');

export function createMachineJudge(
  options: MachineFlagOptions = {},
  onReclassified: (changed: RedirectEvent[], amended: RedirectEvent[]) => void = () => undefined,
): MachineJudge {
  return new MachineJudge(
    {
      burstGapMs: options.burstGapMs ?? DEFAULT_CONTEXT_SETTINGS.burstGapMs,
      burstMinLinks: options.burstMinLinks ?? DEFAULT_CONTEXT_SETTINGS.burstMinLinks,
      honeypotWindowMs: options.honeypotWindowMs ?? DEFAULT_CONTEXT_SETTINGS.honeypotWindowMs,
      pairWindowMs: options.pairWindowMs ?? DEFAULT_CONTEXT_SETTINGS.pairWindowMs,
      scanNetworkWindowMs: options.scanNetworkWindowMs ?? DEFAULT_CONTEXT_SETTINGS.scanNetworkWindowMs,
      ranges: new RangeTable(options.ranges ?? [APPLE_ONLY]),
      fastClickMs: (options.fastClickSeconds ?? 0) * 1000,
      earlyMs: (options.earlySeconds ?? DEFAULT_EARLY_SECONDS) * 1000,
      recipients: options.recipients ?? 50_000,
      eventsPerRecipient: options.eventsPerRecipient ?? 32,
    },
    onReclassified,
  );
}
