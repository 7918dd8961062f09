/** Property tests: arbitrary new text, and arbitrarily damaged or random bodies. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rewriteBody, type PartKind } from '../../src/mime/index.js';
import { CHARSETS, CTES, multipartBody, multipartHeaders, textPart } from './fixtures.js';
import { decodeOutputPart, expectUntouchedOutsideEdits, LIMITS, longestLineOf } from './helpers.js';

const utf8 = CHARSETS.find((c) => c.name === 'utf-8')!;

describe('rewriteBody properties', () => {
  it('any new text: decodes back exactly, bytes outside the parts kept, no line over 998', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CTES),
        fc.constantFrom(...CTES),
        fc.constantFrom<'\r\n' | '\n'>('\r\n', '\n'),
        fc.string({ unit: 'grapheme', maxLength: 1500 }),
        fc.string({ unit: 'binary', maxLength: 300 }),
        (textCte, htmlCte, eol, htmlText, plainText) => {
          const body = multipartBody('==b', [textPart('text', utf8, textCte, eol), textPart('html', utf8, htmlCte, eol)], eol);
          const headers = multipartHeaders('multipart/alternative', '==b');
          const wanted: Record<PartKind, string> = { html: htmlText, text: plainText };
          const result = rewriteBody(headers, body, (kind) => wanted[kind], LIMITS);
          for (const part of result.parts) {
            if (!part.changed) continue;
            expect(decodeOutputPart(result.body!, part)).toBe(wanted[part.kind]);
          }
          // Lone surrogates cannot be written in UTF-8: such a part must be left alone, not mangled.
          for (const part of result.parts.filter((p) => !p.changed)) expect(part.skipped?.code ?? 'same').toMatch(/unrepresentable|same/);
          if (result.body) {
            expectUntouchedOutsideEdits(body, result);
            expect(longestLineOf(result.body)).toBeLessThanOrEqual(998);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('damaged messages (cut, spliced, bytes inserted) never throw, and any change keeps the invariants', () => {
    const eol = '\r\n';
    const original = multipartBody('b', [textPart('text', utf8, 'quoted-printable', eol), textPart('html', utf8, 'base64', eol)], eol);
    const headers = multipartHeaders('multipart/mixed', 'b');
    fc.assert(
      fc.property(fc.nat(original.length), fc.nat(original.length), fc.uint8Array({ maxLength: 40 }), (cut, at, noise) => {
        const damaged = Buffer.concat([original.subarray(0, Math.min(cut, at)), Buffer.from(noise), original.subarray(Math.max(cut, at))]);
        const result = rewriteBody(headers, damaged, (_k, t) => `${t}!`, LIMITS);
        expect(result.skipped?.code).not.toBe('internal-error');
        if (result.body) {
          expectUntouchedOutsideEdits(damaged, result);
          for (const part of result.parts.filter((p) => p.changed)) expect(decodeOutputPart(result.body, part).endsWith('!')).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('random headers and bodies never throw', () => {
    const contentTypes = [
      'multipart/mixed; boundary=a',
      'multipart/alternative; boundary="a"',
      'text/html; charset=utf-16',
      'text/plain; charset=iso-2022-jp',
      'text/plain',
      'garbage',
      '',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...contentTypes),
        fc.constantFrom('7bit', 'base64', 'quoted-printable', '8bit', 'bogus'),
        fc.array(
          fc.constantFrom(
            '--a',
            '\r\n',
            '\n',
            'Content-Type: text/html',
            ': ',
            '=',
            '=\r\n',
            '\x1b$B',
            'x',
            '\xff',
            '--a--',
            'Content-Transfer-Encoding: base64',
          ),
        ),
        (type, cte, pieces) => {
          const body = Buffer.from(pieces.join(''), 'latin1');
          const result = rewriteBody(
            [
              { name: 'Content-Type', value: type },
              { name: 'Content-Transfer-Encoding', value: cte },
            ],
            body,
            (_k, t) => `${t}+`,
            LIMITS,
          );
          expect(result.skipped?.code).not.toBe('internal-error');
          if (result.body) expectUntouchedOutsideEdits(body, result);
        },
      ),
      { numRuns: 500 },
    );
  });
});
