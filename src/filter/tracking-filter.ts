// The milter filter that tracks: rewrites links, inserts the pixel, and marks the message.
import type { FilterResult, MessageContext, MessageFilter } from '../milter/filter.js';
import type { LinkMinter } from '../rewrite/types.js';
import { planRewrite, type RewriteSettings } from './plan-rewrite.js';
import { STAMP_HEADER } from './stamp-filter.js';
import { VERSION } from '../version.js';

export function createTrackingFilter(minter: LinkMinter, settings: RewriteSettings): MessageFilter {
  return {
    endOfMessage(ctx: MessageContext): FilterResult {
      const plan = planRewrite(ctx.headers, ctx.body, minter, settings);
      // A message passed over for a reason is left exactly as it came, not even marked.
      if (plan.skipped) return { skipped: { reason: plan.skipped.code, detail: plan.skipped.detail } };
      return {
        headerChanges: [...plan.headerChanges, { op: 'add', name: STAMP_HEADER, value: VERSION }],
        ...(plan.body ? { body: plan.body } : {}),
        log: { links: plan.links.length, pixel: plan.pixel, partsRewritten: plan.parts.filter((p) => p.changed).length },
      };
    },
  };
}
