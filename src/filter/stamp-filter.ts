// The filter until link rewriting is wired in: marks each message and hands its body back unchanged
// through REPLBODY, so the body replacement path is exercised on every message from day one.
import type { FilterResult, MessageContext, MessageFilter } from '../milter/filter.js';
import { VERSION } from '../version.js';

export const STAMP_HEADER = 'X-Trackmilter';

export function createStampFilter(): MessageFilter {
  return {
    endOfMessage(ctx: MessageContext): FilterResult {
      return { headerChanges: [{ op: 'add', name: STAMP_HEADER, value: VERSION }], body: ctx.body };
    },
  };
}
