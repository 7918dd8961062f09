/** Which parts are found, and how the bytes around them are kept (golden messages written here). */
import { describe, expect, it } from 'vitest';
import { rewriteBody, type HeaderField, type PartKind } from '../../src/mime/index.js';
import { decodeOutputPart, expectUntouchedOutsideEdits, LIMITS, message } from './helpers.js';

const MARK = '<<M>>';
const mark = (_kind: PartKind, text: string): string => text + MARK;

function run(text: string, eol: '\r\n' | '\n' = '\r\n', limits = LIMITS) {
  const { headers, body } = message(text, eol);
  return { headers, body, result: rewriteBody(headers, body, mark, limits) };
}

/** Which (kind, first line of decoded text) pairs were changed. */
function changedParts(text: string, eol: '\r\n' | '\n' = '\r\n') {
  const { body, result } = run(text, eol);
  if (result.body) expectUntouchedOutsideEdits(body, result);
  return result.parts
    .filter((p) => p.changed)
    .map((p) => {
      const decoded = decodeOutputPart(result.body!, p);
      expect(decoded.endsWith(MARK)).toBe(true);
      return [p.kind, decoded.slice(0, -MARK.length).split(/\r?\n/)[0]];
    });
}

const ALTERNATIVE = `Content-Type: multipart/alternative; boundary="B"

preamble with --B inside a line
--B
Content-Type: text/plain; charset=utf-8

plain
--B
Content-Type: text/html; charset=utf-8

<p>html</p>
--B--
epilogue
`;

describe('finding the top parts', () => {
  it('takes the text and html alternatives, leaving preamble and epilogue alone', () => {
    expect(changedParts(ALTERNATIVE)).toEqual([
      ['text', 'plain'],
      ['html', '<p>html</p>'],
    ]);
  });

  it('works the same on an LF-only body', () => {
    const { body, result } = run(ALTERNATIVE, '\n');
    expect(result.body!.toString()).toBe(body.toString().replace('plain\n--B', `plain${MARK}\n--B`).replace('</p>\n--B--', `</p>${MARK}\n--B--`));
  });

  it('descends through nested mixed/related/alternative and skips attachments', () => {
    const text = `Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: text/plain; name="notes.txt"

attachment by name
--outer
Content-Type: text/html
Content-Disposition: inline; filename="page.html"

attachment by filename
--outer
Content-Type: text/plain
Content-Disposition: attachment

attachment by disposition
--outer
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain

nested plain
--alt
Content-Type: text/html

nested html
--alt--
--rel
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--rel--
--outer
Content-Type: text/html

second html is not the top one
--outer--
`;
    expect(changedParts(text)).toEqual([
      ['text', 'nested plain'],
      ['html', 'nested html'],
    ]);
  });

  it('never enters message/rfc822 and multipart/digest children', () => {
    const text = `Content-Type: multipart/mixed; boundary=m

--m
Content-Type: message/rfc822

Content-Type: text/plain

inside the forwarded message
--m
Content-Type: multipart/digest; boundary=d

--d

Content-Type: text/html

digest entry (message/rfc822 by default)
--d--
--m
Content-Type: text/html

outer html
--m--
`;
    expect(changedParts(text)).toEqual([['html', 'outer html']]);
  });

  it('leaves a nested multipart/signed untouched but rewrites parts beside it', () => {
    const text = `Content-Type: multipart/mixed; boundary=m

--m
Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary=s

--s
Content-Type: text/plain

signed text
--s
Content-Type: application/pkcs7-signature

MIAGCSqGSIb3DQEHAqCAMIACAQEx
--s--
--m
Content-Type: text/html

html beside it
--m--
`;
    expect(changedParts(text)).toEqual([['html', 'html beside it']]);
  });

  it.each([
    ['multipart/signed; protocol="application/pgp-signature"', 'signed'],
    ['multipart/encrypted; protocol="application/pgp-encrypted"', 'encrypted'],
  ])('skips a message whose root is %s', (type, code) => {
    const { result } = run(`Content-Type: ${type}; boundary=s\n\n--s\nContent-Type: text/plain\n\nx\n--s--\n`);
    expect(result).toMatchObject({ body: null, skipped: { code } });
  });

  it('treats a message without Content-Type as text/plain us-ascii (RFC 2045)', () => {
    const { result } = run('Subject: hi\n\nhello\n');
    expect(result.parts[0]).toMatchObject({ kind: 'text', contentType: 'text/plain', charset: 'us-ascii', isRoot: true, changed: true });
    expect(result.body!.toString()).toBe(`hello\r\n${MARK}`);
  });

  it('rewrites the last part when the close delimiter is missing', () => {
    expect(changedParts('Content-Type: multipart/alternative; boundary=B\n\n--B\nContent-Type: text/html\n\nunterminated\n')).toEqual([
      ['html', 'unterminated'],
    ]);
    const { result } = run('Content-Type: multipart/alternative; boundary=B\n\n--B\nContent-Type: text/html\n\nunterminated\n');
    expect(result.body!.toString()).toBe(`--B\r\nContent-Type: text/html\r\n\r\nunterminated\r\n${MARK}`);
  });

  it('accepts boundary lines with trailing blanks', () => {
    const text = 'Content-Type: multipart/alternative; boundary=B\n\n--B  \nContent-Type: text/html\n\nx\n--B\t\nContent-Type: text/plain\n\ny\n--B-- \n';
    expect(changedParts(text)).toEqual([
      ['html', 'x'],
      ['text', 'y'],
    ]);
  });

  it('skips a root multipart without any delimiter, and one with conflicting Content-Type fields', () => {
    expect(run('Content-Type: multipart/mixed; boundary=B\n\nno parts here\n').result.skipped?.code).toBe('malformed-multipart');
    expect(run('Content-Type: multipart/mixed; boundary=B\nContent-Type: text/plain\n\n--B\n\nx\n--B--\n').result.skipped?.code).toBe('ambiguous-headers');
  });
});

describe('changing a part transfer encoding', () => {
  const eightBitResult = (cteLine: string) => {
    const headers: HeaderField[] = [{ name: 'Content-Type', value: ' multipart/alternative; boundary=B' }];
    const body = Buffer.from(`--B\r\nContent-Type: text/plain; charset=utf-8\r\n${cteLine}\r\nHi http://x.test/\r\n--B--\r\n`);
    return { body, result: rewriteBody(headers, body, (_k, t) => t.replace('http://x.test/', 'café'), LIMITS) };
  };

  it('rewrites only the value of the part Content-Transfer-Encoding line (7bit -> quoted-printable)', () => {
    const { result } = eightBitResult('Content-Transfer-Encoding: 7bit\r\n');
    expect(result.body!.toString('latin1')).toBe(
      '--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHi caf=C3=A9\r\n--B--\r\n',
    );
    expect(result.parts[0]).toMatchObject({ cte: '7bit', newCte: 'quoted-printable', changed: true });
  });

  it('replaces a folded value and keeps the name as written', () => {
    const { result } = eightBitResult('content-transfer-encoding:\r\n 7BIT\r\n');
    expect(result.body!.toString('latin1')).toContain('\r\ncontent-transfer-encoding:quoted-printable\r\n\r\nHi caf=C3=A9\r\n');
  });

  it('inserts the header line when the part had none', () => {
    const { result } = eightBitResult('');
    expect(result.body!.toString('latin1')).toBe(
      '--B\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHi caf=C3=A9\r\n--B--\r\n',
    );
  });

  it('keeps 7bit when the new text is still 7-bit clean', () => {
    const headers: HeaderField[] = [{ name: 'Content-Type', value: 'text/plain' }];
    const result = rewriteBody(headers, Buffer.from('a\r\n'), (_k, t) => `${t}https://t.example/c/x\r\n`, LIMITS);
    expect(result.body!.toString()).toBe('a\r\nhttps://t.example/c/x\r\n');
    expect(result.headerChanges).toEqual([]);
  });

  it('moves an 8bit part with a line over 998 octets to quoted-printable (root: header change)', () => {
    const headers: HeaderField[] = [
      { name: 'Content-Type', value: 'text/html; charset=utf-8' },
      { name: 'Content-Transfer-Encoding', value: '8bit' },
    ];
    const long = `<p>${'é'.repeat(600)}</p>`;
    const result = rewriteBody(headers, Buffer.from('<p>x</p>\r\n'), () => `${long}\r\n`, LIMITS);
    expect(result.headerChanges).toEqual([{ name: 'Content-Transfer-Encoding', value: 'quoted-printable' }]);
    expect(decodeOutputPart(result.body!, result.parts[0]!)).toBe(`${long}\r\n`);
    expect(
      Math.max(
        ...result
          .body!.toString('latin1')
          .split('\r\n')
          .map((l) => l.length),
      ),
    ).toBeLessThanOrEqual(76);
  });
});

describe('parts left alone, with a reason', () => {
  const single = (contentType: string, cte = '7bit', body = 'text\r\n') => {
    const headers: HeaderField[] = [
      { name: 'Content-Type', value: contentType },
      { name: 'Content-Transfer-Encoding', value: cte },
    ];
    return rewriteBody(headers, Buffer.from(body, 'latin1'), mark, LIMITS);
  };

  it.each([
    ['text/plain; charset=x-klingon', '7bit', 'text\r\n', 'unknown-charset'],
    ['text/plain', 'x-uuencode', 'begin 644 a\r\n', 'unsupported-transfer-encoding'],
    ['text/plain; charset=utf-8', '8bit', 'bad \xff byte\r\n', 'charset-not-reversible'],
    ['text/plain; charset=iso-2022-jp', '7bit', '\x1b$Dxx\r\n', 'charset-decode-error'],
  ])('%s %s', (type, cte, body, code) => {
    const result = single(type, cte, body);
    expect(result.body).toBeNull();
    expect(result.parts[0]).toMatchObject({ changed: false, skipped: { code } });
  });

  it('a transform that returns null or the same text changes nothing', () => {
    const { body, headers } = message(ALTERNATIVE);
    expect(rewriteBody(headers, body, () => null, LIMITS).body).toBeNull();
    expect(rewriteBody(headers, body, (_k, t) => t, LIMITS).body).toBeNull();
  });

  it('a transform that throws leaves that part alone', () => {
    const { body, headers } = message(ALTERNATIVE);
    const result = rewriteBody(
      headers,
      body,
      (kind, t) => {
        if (kind === 'text') throw new Error('boom');
        return t + MARK;
      },
      LIMITS,
    );
    expect(result.parts.map((p) => [p.kind, p.changed, p.skipped?.code])).toEqual([
      ['text', false, 'transform-error'],
      ['html', true, undefined],
    ]);
  });

  it('new text the charset cannot hold leaves the part alone', () => {
    const result = rewriteBody([{ name: 'Content-Type', value: 'text/plain; charset=iso-8859-1' }], Buffer.from('a\r\n'), (_k, t) => `${t}日本`, LIMITS);
    expect(result.body).toBeNull();
    expect(result.parts[0]!.skipped?.code).toBe('unrepresentable');
  });

  it('malformed or conflicting part headers leave the part alone', () => {
    const bad = run(
      'Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\nthis is not a header\n\nx\n--B\nContent-Type: text/html\nContent-Transfer-Encoding: base64\nContent-Transfer-Encoding: 7bit\n\ny\n--B--\n',
    );
    expect(bad.result.parts.map((p) => p.skipped?.code)).toEqual(['malformed-headers', 'ambiguous-headers']);
    expect(bad.result.body).toBeNull();
  });

  it('a part without the blank line after its headers is left alone', () => {
    const result = run('Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/html\n--B\nno headers and no blank line\n--B--\n').result;
    expect(result.parts.map((p) => [p.kind, p.skipped?.code])).toEqual([
      ['html', 'no-body-separator'],
      ['text', 'no-body-separator'],
    ]);
    expect(result.body).toBeNull();
  });
});

describe('limits', () => {
  const nested = (depth: number): string => {
    let text = 'Content-Type: text/plain\n\ndeep\n';
    for (let i = depth; i > 0; i--) text = `Content-Type: multipart/mixed; boundary=b${i}\n\n--b${i}\n${text}--b${i}--\n`;
    return text;
  };

  it('skips the message past maxDepth and rewrites it within', () => {
    expect(run(nested(3), '\r\n', { ...LIMITS, maxDepth: 2 }).result.skipped?.code).toBe('depth-limit');
    expect(run(nested(3), '\r\n', { ...LIMITS, maxDepth: 3 }).result.parts[0]?.changed).toBe(true);
  });

  it('skips the message past maxParts', () => {
    const text = 'Content-Type: multipart/mixed; boundary=B\n\n--B\n\na\n--B\n\nb\n--B\n\nc\n--B--\n';
    expect(run(text, '\r\n', { ...LIMITS, maxParts: 2 }).result).toMatchObject({ body: null, skipped: { code: 'part-limit' } });
    expect(run(text, '\r\n', { ...LIMITS, maxParts: 3 }).result.body).not.toBeNull();
  });

  it('leaves a part over maxPartBytes alone', () => {
    const result = run('Content-Type: text/html\n\n<p>1234567890</p>\n', '\r\n', { ...LIMITS, maxPartBytes: 10 }).result;
    expect(result.body).toBeNull();
    expect(result.parts[0]!.skipped?.code).toBe('part-too-large');
  });
});

describe('lenient header and encoding reading', () => {
  it('reads MTA header values folded with LF, with or without a leading space', () => {
    const body = Buffer.from('--B\r\nContent-Type: text/html\r\n\r\nx\r\n--B--\r\n');
    for (const value of ['multipart/alternative;\n\tboundary="B"', ' multipart/alternative;\r\n boundary=B']) {
      expect(rewriteBody([{ name: 'content-type', value }], body, mark, LIMITS).parts[0]?.changed).toBe(true);
    }
  });

  it('skips an attachment named with RFC 2231 continuations', () => {
    const text = `Content-Type: multipart/mixed; boundary=B

--B
Content-Type: text/plain
Content-Disposition: inline;
 filename*0*=utf-8''%E3%81%8B.txt

attached
--B
Content-Type: text/plain

body
--B--
`;
    expect(changedParts(text)).toEqual([['text', 'body']]);
  });

  it.each(['7Bit', '8bits', 'quoted-printable;', ' Quoted-Printable ', ''])('understands Content-Transfer-Encoding %j', (cte) => {
    const result = rewriteBody(
      [
        { name: 'Content-Type', value: 'text/plain' },
        { name: 'Content-Transfer-Encoding', value: cte },
      ],
      Buffer.from('a=3Db\r\n'),
      mark,
      LIMITS,
    );
    expect(result.parts[0]?.changed).toBe(true);
    const decoded = decodeOutputPart(result.body!, result.parts[0]!);
    expect(decoded).toBe(/quoted/i.test(cte) ? `a=b\r\n${MARK}` : `a=3Db\r\n${MARK}`);
  });

  it('re-encodes sloppy base64 (stray characters, no padding) canonically, at 76 columns', () => {
    const data = 'x'.repeat(100);
    const sloppy = Buffer.from(data)
      .toString('base64')
      .replace(/=+$/, '')
      .replace(/(.{50})/g, '$1 !\r\n');
    const result = rewriteBody(
      [
        { name: 'Content-Type', value: 'text/plain; charset=utf-8' },
        { name: 'Content-Transfer-Encoding', value: 'base64' },
      ],
      Buffer.from(`${sloppy}\r\n`),
      mark,
      LIMITS,
    );
    expect(result.body!.toString()).toBe(
      `${Buffer.from(data + MARK)
        .toString('base64')
        .replace(/(.{76})/g, '$1\r\n')}\r\n`,
    );
  });

  const BASE64_TEXT: HeaderField[] = [
    { name: 'Content-Type', value: 'text/plain; charset=utf-8' },
    { name: 'Content-Transfer-Encoding', value: 'base64' },
  ];

  it('leaves sloppy base64 byte-for-byte when its text does not change', () => {
    const sloppy = Buffer.from(
      `${Buffer.from('x'.repeat(100))
        .toString('base64')
        .replace(/(.{50})/g, '$1 !\r\n')}\r\n`,
    );
    const result = rewriteBody(BASE64_TEXT, sloppy, (_kind, text) => text, LIMITS);
    expect(result.body).toBeNull();
    expect(result.parts[0]).toMatchObject({ changed: false });
    expect(result.parts[0]!.skipped).toBeUndefined();
  });

  it.each([
    [
      'padding in the middle (blocks glued together)',
      `${Buffer.from('shown by every reader ').toString('base64')}\r\n${Buffer.from('maybe hidden').toString('base64')}\r\n`,
    ],
    ['a stray "=" inside the data', `${Buffer.from('abcdef').toString('base64').slice(0, 4)}=${Buffer.from('abcdef').toString('base64').slice(4)}\r\n`],
    ['a lone last character (6 bits, no byte)', `${Buffer.from('abcdef').toString('base64')}Q\r\n`],
  ])('leaves base64 that readers may decode differently byte-for-byte, links or not: %s', (_name, content) => {
    const result = rewriteBody(BASE64_TEXT, Buffer.from(content), mark, LIMITS);
    expect(result.body).toBeNull();
    expect(result.parts[0]).toMatchObject({ changed: false, skipped: { code: 'ambiguous-base64' } });
  });
});
