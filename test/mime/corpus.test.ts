/** Runs rewriteBody over every message of the shared corpus (read in place, never copied). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rewriteBody, type PartKind } from '../../src/mime/index.js';
import { sharedPath } from '../helpers/shared-dir.js';
import { decodeOutputPart, expectUntouchedOutsideEdits, LIMITS, longestLineOf, splitMessage } from './helpers.js';

const corpus = sharedPath('corpus', 'messages');
const CORPUS = corpus.path;
const MARKER = ' [[trackmilter-marker]]';
const haveCorpus = corpus.present;
if (!haveCorpus) console.log(`mime corpus test skipped: ${corpus.absence}`);

describe.skipIf(!haveCorpus)('corpus messages', () => {
  const files = haveCorpus
    ? readdirSync(CORPUS)
        .filter((f) => f.endsWith('.eml'))
        .sort()
    : [];
  it.each(files)('%s', (file) => {
    const raw = readFileSync(join(CORPUS, file));
    const { headers, body } = splitMessage(raw);
    const originals = new Map<PartKind, string>();
    const transform = (kind: PartKind, text: string): string => {
      originals.set(kind, text);
      return text + MARKER;
    };
    const result = rewriteBody(headers, body, transform, LIMITS);
    // Forcing the unchanged text through re-encoding must not alter what any part decodes to.
    const forced = rewriteBody(headers, body, (_k, text) => text, LIMITS, { forceReencode: true });
    if (forced.body) expectUntouchedOutsideEdits(body, forced);
    for (const part of forced.parts.filter((p) => p.output)) expect(decodeOutputPart(forced.body!, part)).toBe(originals.get(part.kind));
    if (result.body === null) {
      expect(result.parts.every((p) => !p.changed)).toBe(true);
      return;
    }
    expectUntouchedOutsideEdits(body, result);
    for (const part of result.parts.filter((p) => p.changed)) {
      expect(decodeOutputPart(result.body, part)).toBe(originals.get(part.kind)! + MARKER);
      const content = result.body.subarray(part.output!.start, part.output!.end);
      if ((part.newCte ?? part.cte) !== 'binary') expect(longestLineOf(content)).toBeLessThanOrEqual(998);
    }
  });
});
