/**
 * The MIME + rewrite pipeline (planRewrite, as the milter runs it) on mutations of every corpus message
 * and of the corpus templates wrapped in multipart/alternative (QP, base64, 8bit): truncation, damaged
 * boundaries, bad encodings, wrong or unknown charsets, huge lines, deep nesting, byte flips.
 *
 * Findings: an exception; the internal-error skip (an exception the MIME layer caught to save the mail);
 * a case whose pipeline runs over 5 s (the supervisor; the harness's checks after it are not the
 * product's time); output that breaks the rewriting invariants (plan-invariants.ts, the checks of
 * test/tracking/pipeline-check.ts restated for invalid input).
 */
import { planRewrite, type RewriteSettings } from '../../src/tracking/plan-rewrite.js';
import { splitMessage } from '../../src/mime/message-split.js';
import { RecordingMinter } from '../../test/rewrite/recording-minter.js';
import { corpusAbsence, corpusMessages, corpusPresent, corpusTemplates, generatedMessages, wrapHtml, type Seed, type WrapEncoding } from '../corpus.js';
import { mutateMail, nest } from '../mail-mutations.js';
import { checkPlanInvariants } from '../plan-invariants.js';
import { stack } from '../mutate.js';
import type { Rng } from '../random.js';
import type { FuzzCase, FuzzTarget, Problem, TargetContext } from '../target.js';

/** The production defaults (src/config/schema.ts), with the link limit as the corpus tests set it. */
export const MIME_FUZZ_SETTINGS: RewriteSettings = {
  clicks: true,
  opens: true,
  maxLinks: 10_000,
  skipDkimSigned: false,
  limits: { maxDepth: 20, maxParts: 500, maxPartBytes: 10 * 1024 * 1024 },
};

/** Templates carry `href="#"` placeholders: give some of them real links so that there is something to rewrite. */
function withLinks(html: Buffer): Buffer {
  let n = 0;
  const text = html.toString('utf8').replace(/href=(["'])(#|http:\/\/)\1/g, (_m, q: string) => `href=${q}https://seed.example/${++n}?a=1&amp;b=2${q}`);
  return Buffer.from(text, 'utf8');
}

function seeds(ctx: TargetContext): Seed[] {
  if (!corpusPresent()) {
    ctx.note(`shared corpus not used (${corpusAbsence()}): mutating generated messages instead`);
    return generatedMessages();
  }
  const messages = corpusMessages();
  const templates = corpusTemplates().flatMap((t) =>
    (['quoted-printable', 'base64', '8bit'] as WrapEncoding[]).map((cte) => ({ name: `${t.name} as ${cte}`, raw: wrapHtml(withLinks(t.raw), cte) })),
  );
  ctx.note(`${messages.length} corpus messages and ${templates.length} wrapped templates as seeds`);
  return [...messages, ...templates];
}

function generator(all: Seed[]): (rng: Rng) => FuzzCase {
  return (rng) => {
    const seed = rng.pick(all);
    const r = rng.below(1000);
    if (r < 5) {
      const levels = rng.pick([25, 100, 1000]);
      return { label: `${seed.name} nested ${levels} deep`, input: nest(seed.raw, levels) };
    }
    if (r < 15) return { label: `${seed.name} unmutated`, input: seed.raw };
    const m = stack(rng, seed.raw, 4, mutateMail);
    return { label: `${seed.name}: ${m.label}`, input: m.data };
  };
}

/** Runs one message through the pipeline and its checks; exported for the regression tests. */
export interface PipelineRun {
  problems: Problem[];
  links: number;
  skipped?: string;
  linkCountDisagreement?: string;
}

/** `planned` is called once the product's work is done, before the harness checks it. */
export function runPipeline(raw: Buffer, settings: RewriteSettings = MIME_FUZZ_SETTINGS, planned?: () => void): PipelineRun {
  const { headers, body } = splitMessage(raw);
  const minter = new RecordingMinter();
  const plan = planRewrite(headers, body, minter, settings);
  planned?.();
  if (plan.skipped?.code === 'internal-error') {
    return { problems: [{ kind: 'crash', message: `the MIME layer caught an internal error: ${plan.skipped.detail}` }], links: 0 };
  }
  const check = checkPlanInvariants(body, plan, minter);
  const problems = check.problems.map((message) => ({ kind: 'violation' as const, message: `rewriting invariant: ${message}` }));
  return {
    problems,
    links: plan.links.length,
    ...(plan.skipped ? { skipped: plan.skipped.code } : {}),
    ...(check.linkCountDisagreement ? { linkCountDisagreement: check.linkCountDisagreement } : {}),
  };
}

export const mimeTarget: FuzzTarget = {
  name: 'mime',
  caseTimeoutMs: 5_000,
  async start(ctx) {
    const generate = generator(seeds(ctx));
    return {
      generate,
      execute: (c) => {
        const result = runPipeline(c.input, MIME_FUZZ_SETTINGS, () => ctx.checking?.());
        ctx.count(result.links > 0 ? 'rewritten' : result.skipped ? `skipped:${result.skipped}` : 'unchanged');
        ctx.count('links', result.links);
        if (result.linkCountDisagreement) {
          ctx.count('link-count-disagreements');
          if (c.label.endsWith('unmutated')) return [{ kind: 'violation', message: `unmutated seed: ${result.linkCountDisagreement}` }];
        }
        return result.problems;
      },
      close: () => undefined,
    };
  },
  async generator(ctx) {
    return generator(seeds(ctx));
  },
};
