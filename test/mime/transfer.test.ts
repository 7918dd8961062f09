import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64Ambiguity, decodeBase64, decodeQuotedPrintable, encodeBase64, encodeQuotedPrintable } from '../../src/mime/transfer.js';
import { longestLineOf } from './helpers.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const s = (buf: Buffer): string => buf.toString('latin1');

describe('quoted-printable decoding', () => {
  it('joins soft line breaks (CRLF and LF) and keeps hard ones as written', () => {
    expect(s(decodeQuotedPrintable(b('ab=\r\ncd\r\nef=\ngh\nij')))).toBe('abcd\r\nefgh\nij');
  });
  it('decodes upper- and lower-case hex', () => {
    expect(s(decodeQuotedPrintable(b('a=3Db=3db=C3=a9')))).toBe('a=b=b\xc3\xa9');
  });
  it('keeps a stray "=" that is not followed by two hex digits', () => {
    expect(s(decodeQuotedPrintable(b('50% =XY off =4')))).toBe('50% =XY off =4');
  });
  it('drops transport padding at line ends, also after a soft break', () => {
    expect(s(decodeQuotedPrintable(b('one  \r\ntwo= \t\r\nthree')))).toBe('one\r\ntwothree');
  });
  it('treats a final "=" as a soft break at the end of the data', () => {
    expect(s(decodeQuotedPrintable(b('end=')))).toBe('end');
  });
});

describe('quoted-printable encoding', () => {
  it('escapes "=", 8-bit bytes and a blank before a line break', () => {
    expect(s(encodeQuotedPrintable(b('a=b \xe9 \r\nx\t'), '\r\n', true))).toBe('a=3Db =E9=20\r\nx=09');
  });
  it('wraps at 76 columns with the given line ending and never splits an escape', () => {
    const data = b(`${'x'.repeat(74)}\xe9${'y'.repeat(10)}`);
    const out = s(encodeQuotedPrintable(data, '\n', true));
    expect(out).toBe(`${'x'.repeat(74)}=\n=E9${'y'.repeat(10)}`);
  });
  it('fills the last line up to 76 columns', () => {
    expect(s(encodeQuotedPrintable(b('z'.repeat(76)), '\r\n', true))).toBe('z'.repeat(76));
    expect(s(encodeQuotedPrintable(b('z'.repeat(77)), '\r\n', true))).toBe(`${'z'.repeat(75)}=\r\nzz`);
  });
  it('escapes CR and LF as data when line breaks are not text (UTF-16)', () => {
    expect(s(encodeQuotedPrintable(b('\x00a\x00\r\x00\n'), '\r\n', false))).toBe('=00a=00=0D=00=0A');
  });
  it("writes only the part's own line break style as hard breaks and escapes other CR/LF", () => {
    expect(s(encodeQuotedPrintable(b('a\r\nb\nc\r'), '\r\n', true))).toBe('a\r\nb=0Ac=0D');
    expect(s(encodeQuotedPrintable(b('a\r\nb\nc'), '\n', true))).toBe('a=0D\nb\nc');
  });
  it('round-trips any bytes, with lines of at most 76 octets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.constantFrom<'\r\n' | '\n'>('\r\n', '\n'), fc.boolean(), (bytes, eol, breaksAreText) => {
        const data = Buffer.from(bytes);
        const encoded = encodeQuotedPrintable(data, eol, breaksAreText);
        expect(decodeQuotedPrintable(encoded).equals(data)).toBe(true);
        if (!breaksAreText) expect(longestLineOf(encoded)).toBeLessThanOrEqual(76);
        for (const byte of encoded) expect(byte === 0x09 || byte === 0x0a || byte === 0x0d || (byte >= 0x20 && byte < 0x7f)).toBe(true);
      }),
    );
  });
  it('is canonical: what it wrote decodes and encodes back to the same bytes (an unchanged part stays unchanged)', () => {
    const texty = fc.array(fc.constantFrom(0x0d, 0x0a, 0x20, 0x09, 0x3d, 0x41, 0x7e, 0x80, 0xff), { maxLength: 400 });
    fc.assert(
      fc.property(
        fc.oneof(
          texty,
          fc.uint8Array({ maxLength: 400 }).map((u) => [...u]),
        ),
        fc.constantFrom<'\r\n' | '\n'>('\r\n', '\n'),
        fc.boolean(),
        (bytes, eol, breaksAreText) => {
          const encoded = encodeQuotedPrintable(Buffer.from(bytes), eol, breaksAreText);
          expect(encodeQuotedPrintable(decodeQuotedPrintable(encoded), eol, breaksAreText).equals(encoded)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
  it('keeps lines within 76 octets for text with any line lengths', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 300 }), { maxLength: 8 }), (lines) => {
        const encoded = encodeQuotedPrintable(Buffer.from(lines.join('\r\n'), 'utf8'), '\r\n', true);
        expect(longestLineOf(encoded)).toBeLessThanOrEqual(76);
      }),
    );
  });
});

describe('base64', () => {
  it('decodes despite missing padding, stray characters and whitespace', () => {
    expect(s(decodeBase64(b('aGVs\r\nbG8 gd29y!bGQ')))).toBe('hello world');
  });
  it('says when readers may disagree on base64, and only then', () => {
    for (const unambiguous of ['', 'aGVsbG8=', 'aGVsbG8', 'aGVs\r\nbG8 gd29y!bGQ', 'aGk', 'aGk=\r\n', 'aGVsbG8==', 'aGVs=']) {
      expect(base64Ambiguity(b(unambiguous)), unambiguous).toBeUndefined();
    }
    expect(base64Ambiguity(b('aGk=\r\ndGhlcmU='))).toMatch(/after "=" padding/);
    expect(base64Ambiguity(b('aGVsbG=8'))).toMatch(/after "=" padding/);
    expect(base64Ambiguity(b('aGVsbG8hQ'))).toMatch(/last group of one character/);
    expect(base64Ambiguity(b('aGVsQ=\r\n'))).toMatch(/one character before "="/);
  });

  it('decodes several padded blocks glued together', () => {
    expect(s(decodeBase64(b('aGk=\r\ndGhlcmU=')))).toBe('hithere');
  });
  it('encodes in 76-column lines without a final break', () => {
    const out = s(encodeBase64(Buffer.alloc(120, 0xff), '\n'));
    const lines = out.split('\n');
    expect(lines.map((l) => l.length)).toEqual([76, 76, 8]);
    expect(out.endsWith('\n')).toBe(false);
  });
  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const data = Buffer.from(bytes);
        expect(decodeBase64(encodeBase64(data, '\r\n')).equals(data)).toBe(true);
      }),
    );
  });
});
