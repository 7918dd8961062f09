// The protocol floor: adds one header and hands the body back unchanged through REPLBODY, the same
// work as ../shared/bench/echo-milter.c does with libmilter. The MTA benchmark runs our milter engine
// with it to compare engine with engine, apart from what tracking costs.
import type { FilterResult, MessageContext, MessageFilter } from '../../src/milter/filter.js';

export const ECHO_HEADER = 'X-Echo';

export function createEchoFilter(): MessageFilter {
  return {
    endOfMessage(ctx: MessageContext): FilterResult {
      return { headerChanges: [{ op: 'add', name: ECHO_HEADER, value: '1' }], body: ctx.body };
    },
  };
}
