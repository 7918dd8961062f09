import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64Ambiguity, decodeBase64, decodeQuotedPrintable, encodeBase64, encodeQuotedPrintable } from '../../src/mime/transfer.js';
import { longestLineOf } from './helpers.js';
import * as reference from './helpers/qp-reference.js';
import * as base64Reference from './helpers/base64-reference.js';

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

describe('quoted-printable codecs against the reference (the simple byte-at-a-time versions)', () => {
  // The fast codecs copy runs of literal bytes a 32-bit word at a time and decode in one pass; the
  // reference copy of the old code is the specification, byte for byte, for any input.
  const qpBytes = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(...'==0123456789ABCDEFabcdefGgXx%  \t\r\n\r\n'.split('').map((c) => c.charCodeAt(0)), 0x00, 0x7e, 0x7f, 0x80, 0xe9, 0xff),
    },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  );
  const qpToken = fc.oneof(
    { weight: 8, arbitrary: qpBytes.map((byte) => [byte]) },
    {
      weight: 3,
      arbitrary: fc
        .constantFrom('\r\n', '=\r\n', '=\n', '= \r\n', '=\t \n', ' \r\n', '\t\n', ' =\r\n', '=3D', '=3d', '=C3=A9', '=20', '=0D=0A', '==41', '=4', '=\r')
        .map((t) => [...b(t)]),
    },
    // Literal runs, so that lines pass 76 columns and whole words take the fast path.
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom('a', 'x y ', '<td>', 'é', '\t'), fc.integer({ min: 1, max: 120 }))
        .map(([unit, n]) => [...Buffer.from(unit.repeat(n), 'utf8')]),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((u) => [...u]) },
  );
  // Bytes rich in "=", hex digits, blanks, CR, LF, 8-bit bytes and long lines; often placed at an odd
  // offset inside a larger buffer (as slices of a message are), with bytes after it that must not be read.
  const qpInput = fc.tuple(fc.array(qpToken, { maxLength: 60 }), fc.nat(7), fc.uint8Array({ maxLength: 5 })).map(([tokens, offset, after]) => {
    const bytes = tokens.flat();
    const whole = Buffer.concat([Buffer.alloc(offset, 0x3d), Buffer.from(bytes), Buffer.from(after)]);
    return whole.subarray(offset, offset + bytes.length);
  });
  const eols = fc.constantFrom<'\r\n' | '\n'>('\r\n', '\n');

  it('decodes any bytes exactly as the reference does', () => {
    fc.assert(
      fc.property(qpInput, (data) => {
        expect(s(decodeQuotedPrintable(data))).toBe(s(reference.decodeQuotedPrintable(data)));
      }),
      { numRuns: 5000 },
    );
  });
  it('decodes what the reference encoder wrote, and damaged copies of it, exactly as the reference does', () => {
    fc.assert(
      fc.property(qpInput, eols, fc.boolean(), fc.nat(), fc.uint8Array({ maxLength: 3 }), (data, eol, breaksAreText, at, noise) => {
        const encoded = reference.encodeQuotedPrintable(data, eol, breaksAreText);
        const cut = encoded.length === 0 ? 0 : at % encoded.length;
        const damaged = Buffer.concat([encoded.subarray(0, cut), Buffer.from(noise), encoded.subarray(cut)]);
        expect(s(decodeQuotedPrintable(encoded))).toBe(s(reference.decodeQuotedPrintable(encoded)));
        expect(s(decodeQuotedPrintable(damaged))).toBe(s(reference.decodeQuotedPrintable(damaged)));
      }),
      { numRuns: 2000 },
    );
  });
  it('encodes any bytes exactly as the reference does, with either eol and either line break rule', () => {
    fc.assert(
      fc.property(qpInput, eols, fc.boolean(), (data, eol, breaksAreText) => {
        expect(s(encodeQuotedPrintable(data, eol, breaksAreText))).toBe(s(reference.encodeQuotedPrintable(data, eol, breaksAreText)));
      }),
      { numRuns: 5000 },
    );
  });
  it('encodes decoded text (long lines, few escapes) exactly as the reference does', () => {
    const line = fc.array(fc.constantFrom('word ', 'a', '<a href="x">', 'é', '\t', ' ', '=', '.', '\xff'), { maxLength: 80 }).map((units) => units.join(''));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), eols, fc.constantFrom('\r\n', '\n', ''), fc.boolean(), (lines, eol, end, breaksAreText) => {
        const data = Buffer.from(lines.join(eol) + end, 'utf8');
        expect(s(encodeQuotedPrintable(data, eol, breaksAreText))).toBe(s(reference.encodeQuotedPrintable(data, eol, breaksAreText)));
      }),
      { numRuns: 2000 },
    );
  });
  it('agrees with the reference on every input of up to six bytes from "=", hex digits, blanks, CR, LF and 8-bit', () => {
    // Short inputs reach every end-of-data case: an escape, a stray "=" or blanks cut off by the end.
    const alphabet = [...b('=4a \r\n\xe9')];
    const data = Buffer.alloc(6);
    const differ: string[] = [];
    const visit = (length: number): void => {
      const input = data.subarray(0, length);
      if (!decodeQuotedPrintable(input).equals(reference.decodeQuotedPrintable(input))) differ.push(`decode ${JSON.stringify(s(input))}`);
      for (const [eol, breaksAreText] of [
        ['\r\n', true],
        ['\n', true],
        ['\r\n', false],
      ] as const) {
        if (!encodeQuotedPrintable(input, eol, breaksAreText).equals(reference.encodeQuotedPrintable(input, eol, breaksAreText))) {
          differ.push(`encode ${JSON.stringify(s(input))} ${JSON.stringify(eol)} ${breaksAreText}`);
        }
      }
      if (length === data.length) return;
      for (const byte of alphabet) {
        data[length] = byte;
        visit(length + 1);
      }
    };
    visit(0);
    expect(differ.slice(0, 10)).toEqual([]);
  });
  it('agrees with the reference on every line length around the 76-column limit', () => {
    for (const eol of ['\r\n', '\n'] as const) {
      for (let n = 60; n <= 160; n++) {
        for (const fill of ['x', ' ', '\t', '=', '\xe9']) {
          for (const tail of ['', 'y', ' ', '\t', '=', '\xe9', eol, ` ${eol}`]) {
            const data = b(`${'x'.repeat(n % 7)}${fill.repeat(n)}${tail}`);
            for (const breaksAreText of [true, false]) {
              expect(s(encodeQuotedPrintable(data, eol, breaksAreText))).toBe(s(reference.encodeQuotedPrintable(data, eol, breaksAreText)));
            }
            expect(s(decodeQuotedPrintable(data))).toBe(s(reference.decodeQuotedPrintable(data)));
          }
        }
      }
    }
  });
});

// The encoder works in one buffer it keeps, and the MIME layer decodes into one it keeps (src/mime/part.ts):
// what they hand out must be the caller's own, whatever comes after.
describe('quoted-printable buffers', () => {
  it('encodes with a tail exactly as the encoding followed by the tail, into a buffer of its own each time', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 4 }), (first, second, tail) => {
        const one = encodeQuotedPrintable(Buffer.from(first), '\r\n', true, tail);
        const kept = Buffer.from(one);
        const two = encodeQuotedPrintable(Buffer.from(second), '\n', false);
        expect(one.equals(Buffer.concat([encodeQuotedPrintable(Buffer.from(first), '\r\n', true), tail]))).toBe(true);
        expect(one.equals(kept)).toBe(true); // not overwritten by the second
        expect(two.equals(encodeQuotedPrintable(Buffer.from(second), '\n', false))).toBe(true);
      }),
    );
    // Past the shared buffer's limit, and back under it.
    const big = Buffer.alloc((1 << 20) + 1, 0xe9);
    expect(decodeQuotedPrintable(encodeQuotedPrintable(big, '\r\n', true)).equals(big)).toBe(true);
    expect(s(encodeQuotedPrintable(b('a=b'), '\r\n', true, b('\r\n')))).toBe('a=3Db\r\n');
  });
  it('decodes into a given buffer with room, and into a new one without', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const encoded = encodeQuotedPrintable(Buffer.from(bytes), '\r\n', true);
        const into = Buffer.alloc(encoded.length);
        const decoded = decodeQuotedPrintable(encoded, into);
        expect(decoded.equals(Buffer.from(bytes))).toBe(true);
        expect(decoded.buffer).toBe(into.buffer);
        const small = Buffer.alloc(Math.max(0, encoded.length - 1));
        const elsewhere = decodeQuotedPrintable(encoded, small);
        expect(elsewhere.equals(Buffer.from(bytes))).toBe(true);
        if (encoded.length > 0) expect(elsewhere.buffer).not.toBe(small.buffer);
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

  // Content as encoders write it (Node's decoder reads it in one call), and the same with what takes
  // the tolerant way: a blank, base64url's "-" and "_", "=" inside, a stray byte.
  const plainContent = fc
    .tuple(
      fc.uint8Array({ maxLength: 300 }),
      fc.integer({ min: 1, max: 80 }),
      fc.constantFrom('\r\n', '\n', '\r'),
      fc.boolean(),
      fc.nat({ max: 3 }),
      fc.constantFrom('', '\r\n', '\n\n'),
    )
    .map(([bytes, width, eol, padded, cut, tail]) => {
      const text = Buffer.from(bytes).toString('base64');
      const letters = padded ? text : text.replace(/=+$/, '').slice(0, Math.max(0, text.replace(/=+$/, '').length - cut));
      return b(`${(letters.match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join(eol)}${tail}`);
    });
  const anyContent = fc
    .array(fc.oneof(fc.constantFrom(...'ABCXYZabcxyz0189+/'), fc.constantFrom('=', '\r', '\n', ' ', '\t', '-', '_', '!', '\xe9', '\x00')), { maxLength: 120 })
    .map((chars) => b(chars.join('')));

  it('decodes content as encoders write it, and any other, as the reference decoder does', () => {
    fc.assert(
      fc.property(fc.oneof(plainContent, anyContent), (content) => {
        expect(decodeBase64(content).equals(base64Reference.decodeBase64(content))).toBe(true);
        expect(base64Ambiguity(content)).toBe(base64Reference.base64Ambiguity(content));
      }),
      { numRuns: 2000 },
    );
  });
  it('reads "-" and "_" as stray characters, not as base64url letters', () => {
    expect(s(decodeBase64(b('aGVs-bG8_')))).toBe('hello');
    expect(s(decodeBase64(b('YQ==\r\nYg==')))).toBe('ab');
  });
  // Sized so that a pattern retrying its tail from every line break (as /^[...\r\n]*=*[\r\n]*$/ does)
  // would run for hours: a quadratic check fails by timing out. No clock is read.
  it('checks hostile content in linear time: a megabyte of line breaks, then a stray byte', () => {
    const breaks = '\r\n'.repeat(500_000);
    expect(s(decodeBase64(b(`${breaks}YWJj!`)))).toBe('abc');
    expect(s(decodeBase64(b(`YWJj${'='.repeat(100_000)}${breaks}ZA`)))).toBe('abcd');
  });
});
