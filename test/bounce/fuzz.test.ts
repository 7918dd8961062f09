/**
 * Mutated bounces (truncated, overwritten with noise, lines dropped or duplicated, line ends
 * swapped) never throw, never hit the internal-error path, and never name anyone but the signed
 * recipient: a mutation can lose the identity, never invent one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeInfoHeader } from '../../src/tokens/index.js';
import { parseReport, type BounceResult } from '../../src/bounce/index.js';
import { CORPUS, corpusAbsence, corpusExists, fixtureWithHeader, identity, injectAfterLine, ourKeys } from './helpers.js';

const signed = identity('subscriber@list.example');

function samples(): Buffer[] {
  const own = [
    'postfix-dsn.eml',
    'postfix-dsn-headers-only.eml',
    'multi-recipient-failed-and-delayed.eml',
    'arf-complaint.eml',
    'exchange-ndr.eml',
    'qmail-bounce.eml',
  ].map((name) => fixtureWithHeader(name, signed));
  if (!corpusExists) return own;
  const corpus = readdirSync(CORPUS)
    .filter((f) => /bounce|report|delivery-status|complaint|disposition|failure/.test(f))
    .map((f) => readFileSync(join(CORPUS, f)));
  // One corpus report with our header, so mutations also exercise the verified path on real bytes.
  const zed = injectAfterLine(
    readFileSync(join(CORPUS, 'flanker-bounce-zed.eml')),
    'To: asdfasdfasdfasdfasdfasdfewrqertrtyrthsfgdfgadfqeadvxzvz@gmail.com',
    encodeInfoHeader(ourKeys, signed),
  );
  return [...own, ...corpus, zed];
}

type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'noise'; at: number; bytes: Uint8Array }
  | { kind: 'drop-line'; line: number }
  | { kind: 'repeat-line'; line: number; times: number }
  | { kind: 'swap-eol'; seed: number };

const anyMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('noise' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant('drop-line' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('repeat-line' as const), line: fc.nat(), times: fc.integer({ min: 2, max: 50 }) }),
  fc.record({ kind: fc.constant('swap-eol' as const), seed: fc.nat() }),
);

function mutate(raw: Buffer, mutation: Mutation): Buffer {
  switch (mutation.kind) {
    case 'truncate':
      return raw.subarray(0, mutation.at % (raw.length + 1));
    case 'noise': {
      const out = Buffer.from(raw);
      const at = mutation.at % Math.max(1, out.length);
      Buffer.from(mutation.bytes).copy(out, at);
      return out;
    }
    case 'drop-line':
    case 'repeat-line': {
      const lines = raw.toString('latin1').split(/(?<=\n)/);
      const index = mutation.line % lines.length;
      if (mutation.kind === 'drop-line') lines.splice(index, 1);
      else lines.splice(index, 1, ...Array<string>(mutation.times).fill(lines[index]!));
      return Buffer.from(lines.join(''), 'latin1');
    }
    case 'swap-eol': {
      let n = mutation.seed;
      return Buffer.from(
        raw.toString('latin1').replace(/\r?\n/g, () => ((n = (n * 1103515245 + 12345) % 2 ** 31) % 3 === 0 ? '\r\n' : n % 3 === 1 ? '\n' : '\r')),
        'latin1',
      );
    }
  }
}

function eventsOf(result: BounceResult) {
  if (result.kind === 'bounce') return [...result.events, ...result.delayed];
  if (result.kind === 'delayed' || result.kind === 'complaint') return result.events;
  return [];
}

describe('mutated bounces', () => {
  const inputs = samples();
  if (!corpusExists) console.log(`corpus not used (${corpusAbsence}): fuzzing our own fixtures only`);

  it('never throw and never name anyone but the signed recipient', () => {
    let withEvents = 0;
    fc.assert(
      fc.property(fc.nat(), fc.array(anyMutation, { minLength: 1, maxLength: 4 }), (pick, mutations) => {
        const raw = mutations.reduce(mutate, inputs[pick % inputs.length]!);
        const result = parseReport(raw, ourKeys);
        expect(result.kind === 'not-a-report' && result.reason === 'unreadable').toBe(false);
        const events = eventsOf(result);
        if (events.length > 0) withEvents++;
        for (const event of events) {
          expect(event.sendId).toBe('a100525');
          expect(event.recipient).toBe('subscriber@list.example');
        }
      }),
      { numRuns: 3000 },
    );
    // Most single mutations leave the identity intact: the verified path was exercised, not skipped.
    expect(withEvents).toBeGreaterThan(300);
  });

  it('survive pure noise', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        const result = parseReport(Buffer.from(bytes), ourKeys);
        expect(['not-ours', 'not-a-report']).toContain(result.kind);
      }),
      { numRuns: 1000 },
    );
  });
});
