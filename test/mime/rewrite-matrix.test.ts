/** Every transfer encoding x charset, for html and text parts, in a multipart and as the root part. */
import { describe, expect, it } from 'vitest';
import { rewriteBody, type PartKind } from '../../src/mime/index.js';
import { CHARSETS, CTES, multipartBody, multipartHeaders, sampleText, textPart, type CharsetFixture, type Cte, type Eol } from './fixtures.js';
import { decodeOutputPart, expectUntouchedOutsideEdits, LIMITS, longestLineOf } from './helpers.js';

const NEW_URL = 'https://t.example/c/AbC123';
const relink = (_kind: PartKind, text: string): string => text.replace('http://example.com/a', NEW_URL);
const identity = (_kind: PartKind, text: string): string => text;

/** The transfer encoding a part must end up in, per DESIGN.md "Which parts are rewritten". */
function expectedCte(cte: Cte, charset: CharsetFixture): string {
  if (cte === 'base64' || cte === 'quoted-printable') return cte;
  if (!charset.lineBreaksAreText) return 'quoted-printable'; // UTF-16 has NUL bytes: never 7bit/8bit
  const sevenBitClean = charset.name === 'iso-2022-jp';
  return cte === '8bit' || sevenBitClean ? cte : 'quoted-printable';
}

const combos = CHARSETS.flatMap((charset) => CTES.flatMap((cte) => (['\r\n', '\n'] as Eol[]).map((eol) => ({ charset, cte, eol }))));
const label = (c: { charset: CharsetFixture; cte: Cte; eol: Eol }) => `${c.charset.name} ${c.cte} ${c.eol === '\n' ? 'LF' : 'CRLF'}`;

describe.each(combos.map((c) => [label(c), c] as const))('%s', (_name, { charset, cte, eol }) => {
  const parts = [textPart('text', charset, cte, eol), textPart('html', charset, cte, eol)];
  const headers = multipartHeaders('multipart/alternative', 'b1=_x');
  const body = multipartBody('b1=_x', parts, eol, { epilogue: `epilogue${eol}` });

  it('multipart: rewrites both parts, decodes to the new text, keeps every other byte', () => {
    const result = rewriteBody(headers, body, relink, LIMITS);
    expect(result.skipped).toBeUndefined();
    expect(result.body).not.toBeNull();
    expect(result.headerChanges).toEqual([]);
    expect(result.parts.map((p) => [p.kind, p.changed, p.skipped])).toEqual([
      ['text', true, undefined],
      ['html', true, undefined],
    ]);
    const out = result.body!;
    for (const part of result.parts) {
      expect(part.newCte ?? part.cte).toBe(expectedCte(cte, charset));
      const expected = sampleText(part.kind, charset, eol).replace('http://example.com/a', NEW_URL);
      expect(decodeOutputPart(out, part)).toBe(expected);
      if (part.newCte) {
        expect(part.headerEdits).toHaveLength(1);
        expect(out.toString('latin1', part.headerEdits![0]!.input.start - 27, part.headerEdits![0]!.output.end)).toContain(
          'Content-Transfer-Encoding: quoted-printable',
        );
      }
    }
    expectUntouchedOutsideEdits(body, result);
    expect(longestLineOf(out)).toBeLessThanOrEqual(998);
  });

  it('multipart: an identity transform changes nothing; forced through the splice path it is byte-exact', () => {
    expect(rewriteBody(headers, body, identity, LIMITS).body).toBeNull();
    const forced = rewriteBody(headers, body, identity, LIMITS, { forceReencode: true });
    expect(forced.body).not.toBeNull();
    // A 7bit part holding 8-bit bytes is not canonical: it has to become quoted-printable.
    if (expectedCte(cte, charset) === cte) expect(forced.body!.equals(body)).toBe(true);
  });

  it('root part: the new encoding is a root header change', () => {
    const root = textPart('html', charset, cte, eol);
    const rootHeaders = root.headers.map((h) => ({ name: h.split(':')[0]!, value: h.slice(h.indexOf(':') + 1) }));
    const rootBody = Buffer.concat([root.content, Buffer.from(eol)]);
    const result = rewriteBody(rootHeaders, rootBody, relink, LIMITS);
    const part = result.parts[0]!;
    expect(part).toMatchObject({ kind: 'html', isRoot: true, changed: true, start: 0, end: rootBody.length });
    const want = expectedCte(cte, charset);
    expect(result.headerChanges).toEqual(want === cte ? [] : [{ name: 'Content-Transfer-Encoding', value: want }]);
    // The body's final line break is text, except after base64 data or UTF-16 (line structure there).
    const finalBreak = cte === 'base64' || !charset.lineBreaksAreText ? '' : eol;
    expect(decodeOutputPart(result.body!, part)).toBe(`${sampleText('html', charset, eol).replace('http://example.com/a', NEW_URL)}${finalBreak}`);
  });
});
