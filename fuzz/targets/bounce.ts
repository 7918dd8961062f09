/**
 * Bounce and complaint parsing: mutated DSN / ARF corpus files (names with bounce, report, complaint,
 * delivery-status) and our own fixtures carrying a signed X-Mailer-Info-Extra, through parseReport.
 * Invariants: never throws, never takes the internal-error path ('unreadable'), under 5 s (the
 * supervisor), and never names anyone but the signed identity (a mutation may lose it, not invent one).
 */
import { parseReport, type BounceResult } from '../../src/bounce/index.js';
import { encodeInfoHeader } from '../../src/tokens/index.js';
import { fixtureWithHeader, identity, injectAfterLine, ourKeys } from '../../test/bounce/helpers.js';
import { corpusAbsence, corpusMessages, corpusPresent, type Seed } from '../corpus.js';
import { mutateMail, nest } from '../mail-mutations.js';
import { stack } from '../mutate.js';
import type { Rng } from '../random.js';
import type { FuzzCase, FuzzTarget, Problem, TargetContext } from '../target.js';

const SIGNED = identity('subscriber@list.example');
const REPORT_NAMES = /bounce|report|complaint|delivery-status/;

function seeds(ctx: TargetContext): Seed[] {
  const own = [
    'postfix-dsn.eml',
    'postfix-dsn-headers-only.eml',
    'multi-recipient-failed-and-delayed.eml',
    'arf-complaint.eml',
    'exchange-ndr.eml',
    'qmail-bounce.eml',
  ].map((name) => ({ name: `fixture ${name}`, raw: fixtureWithHeader(name, SIGNED) }));
  if (!corpusPresent()) {
    ctx.note(`shared corpus not used (${corpusAbsence()}): mutating test/bounce/fixtures only`);
    return own;
  }
  const corpus = corpusMessages(REPORT_NAMES);
  const zed = corpus.find((s) => s.name === 'flanker-bounce-zed.eml');
  const signedZed = zed
    ? [
        {
          name: 'flanker-bounce-zed.eml + our header',
          raw: injectAfterLine(zed.raw, 'To: asdfasdfasdfasdfasdfasdfewrqertrtyrthsfgdfgadfqeadvxzvz@gmail.com', encodeInfoHeader(ourKeys, SIGNED)),
        },
      ]
    : [];
  ctx.note(`${corpus.length} corpus reports and ${own.length + signedZed.length} signed fixtures as seeds`);
  return [...corpus, ...own, ...signedZed];
}

function generator(all: Seed[]): (rng: Rng) => FuzzCase {
  return (rng) => {
    const seed = rng.pick(all);
    if (rng.chance(0.01)) {
      const levels = rng.pick([50, 200, 1000]);
      return { label: `${seed.name} nested ${levels} deep`, input: nest(seed.raw, levels) };
    }
    const m = stack(rng, seed.raw, 4, mutateMail);
    return { label: `${seed.name}: ${m.label}`, input: m.data };
  };
}

function eventsOf(result: BounceResult) {
  if (result.kind === 'bounce') return [...result.events, ...result.delayed];
  if (result.kind === 'delayed' || result.kind === 'complaint') return result.events;
  return [];
}

function check(result: BounceResult, ctx: TargetContext): Problem[] {
  if (result.kind === 'not-a-report' && result.reason === 'unreadable') {
    return [{ kind: 'crash', message: `parseReport hit its internal-error path: ${result.detail ?? ''}` }];
  }
  ctx.count(result.kind);
  const problems: Problem[] = [];
  for (const event of eventsOf(result)) {
    if (event.sendId !== SIGNED.sendId || event.listId !== SIGNED.listId || event.emailCode !== SIGNED.emailCode) {
      problems.push({
        kind: 'violation',
        message: `an event names a send that was never signed: ${JSON.stringify({ sendId: event.sendId, listId: event.listId })}`,
      });
    }
    if (event.recipient !== SIGNED.recipient) {
      problems.push({ kind: 'violation', message: `an event names a recipient that was never signed: ${JSON.stringify(event.recipient)}` });
    }
  }
  return problems;
}

export const bounceTarget: FuzzTarget = {
  name: 'bounce',
  caseTimeoutMs: 5_000,
  async start(ctx) {
    const generate = generator(seeds(ctx));
    return {
      generate,
      execute: (c) => check(parseReport(c.input, ourKeys), ctx),
      close: () => undefined,
    };
  },
  async generator(ctx) {
    return generator(seeds(ctx));
  },
};
