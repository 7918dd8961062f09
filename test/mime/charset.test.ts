import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { lookupCharset } from '../../src/mime/charset.js';

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
/** 日本語 (Japanese) in ISO-2022-JP: ESC $ B, three JIS X 0208 pairs, ESC ( B. */
const NIHONGO_JIS = hex('1b2442 467c 4b5c 386c 1b2842');

function codec(name: string, sample: Buffer = Buffer.alloc(0)) {
  const c = lookupCharset(name, sample);
  if (!c) throw new Error(`no codec for ${name}`);
  return c;
}

describe('charset lookup', () => {
  it.each([
    'utf-8',
    'UTF8',
    '"utf-8"',
    'latin1',
    'ISO-8859-1',
    'windows-1252',
    'cp1252',
    'x-sjis',
    'Shift_JIS',
    'iso-2022-jp',
    'utf-16',
    'UTF-16LE',
    'x-mac-cyrillic',
    'ks_c_5601-1987',
    'us-ascii',
    '',
  ])('knows %j', (name) => {
    expect(lookupCharset(name, Buffer.alloc(0))).not.toBeNull();
  });
  it.each(['x-unknown', 'unknown-8bit', 'klingon-1'])('refuses %j', (name) => {
    expect(lookupCharset(name, Buffer.alloc(0))).toBeNull();
  });
});

describe('ISO-2022-JP', () => {
  it('decodes escape sequences into real characters', () => {
    expect(codec('iso-2022-jp').decode(Buffer.concat([Buffer.from('a '), NIHONGO_JIS, Buffer.from(' b')]))).toBe('a 日本語 b');
  });
  it('encodes back to the same bytes, returning to ASCII before line breaks', () => {
    const c = codec('iso-2022-jp');
    expect(c.encode('日本語')!.equals(NIHONGO_JIS)).toBe(true);
    expect(c.encode('日\r\n本')!.equals(hex('1b2442 467c 1b2842 0d0a 1b2442 4b5c 1b2842'))).toBe(true);
  });
  it('decodes JIS X 0201 Roman and half-width katakana', () => {
    expect(codec('iso-2022-jp').decode(hex('1b284a 5c 7e 1b2849 31 1b2842'))).toBe('\u00a5\u203e\uff71');
  });
  it('refuses unknown escape sequences and 8-bit bytes', () => {
    expect(codec('iso-2022-jp').decode(hex('1b2444 4142'))).toBeNull();
    expect(codec('iso-2022-jp').decode(hex('41 e9'))).toBeNull();
  });
  it('cannot represent characters outside JIS X 0208', () => {
    expect(codec('iso-2022-jp').encode('é ☃')).toBeNull();
  });
  it('round-trips mixed Japanese text', () => {
    const chars = [...'abc xyz\r\n.日本語のテキストです漢字ｱｲｳ'];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...chars), { maxLength: 60 }), (list) => {
        const text = list.join('');
        const c = codec('iso-2022-jp');
        expect(c.decode(c.encode(text)!)).toBe(text);
      }),
    );
  });
});

describe('Shift_JIS, UTF-16 and single-byte charsets', () => {
  it('Shift_JIS decodes 日本語', () => {
    expect(codec('shift_jis').decode(hex('93fa 967b 8cea'))).toBe('日本語');
  });
  it('UTF-16 with a BOM keeps its byte order and BOM', () => {
    const le = hex('fffe 6100 e900');
    const c = codec('utf-16', le);
    expect(c.decode(le)).toBe('\ufeffaé');
    expect(c.encode('\ufeffaé!')!.equals(hex('fffe 6100 e900 2100'))).toBe(true);
    expect(codec('utf-16', hex('feff 0061')).decode(hex('feff 0061'))).toBe('\ufeffa');
  });
  it('UTF-16 without a BOM: the zero bytes decide the byte order', () => {
    expect(codec('utf-16', hex('6100 6200')).decode(hex('6100 6200'))).toBe('ab');
    expect(codec('utf-16', hex('0061 0062')).decode(hex('0061 0062'))).toBe('ab');
    expect(codec('utf-16le').lineBreaksAreText).toBe(false);
  });
  it('windows-1252 and latin1 map € and é', () => {
    expect(codec('windows-1252').decode(hex('80 e9'))).toBe('€é');
    expect(codec('latin1').decode(hex('e9'))).toBe('é');
    expect(codec('iso-8859-1').encode('€')).toBeNull();
  });
  it('us-ascii carries undeclared 8-bit bytes through unchanged', () => {
    const bytes = hex('41 e9 c3 a9');
    const c = codec('us-ascii', bytes);
    expect(c.encode(c.decode(bytes)!)!.equals(bytes)).toBe(true);
  });
  it('a really-ASCII us-ascii part cannot take non-ASCII text', () => {
    expect(codec('us-ascii', hex('41 42')).encode('café')).toBeNull();
    expect(codec('', hex('41 42')).encode('cafe')!.toString()).toBe('cafe');
  });
  it('utf-8 keeps a BOM as U+FEFF and maps invalid bytes to U+FFFD (so the part is not reversible)', () => {
    const c = codec('utf-8');
    expect(c.decode(hex('efbbbf 41'))).toBe('\ufeffA');
    const bad = hex('41 ff');
    expect(c.encode(c.decode(bad)!)!.equals(bad)).toBe(false);
    expect(iconv.encodingExists('utf-8')).toBe(true);
  });

  // Node's own codecs stand in for iconv-lite's for these (src/mime/charset.ts), and the single-byte
  // charsets skip the round trip: they must agree exactly with it, and refuse the same texts.
  it.each([
    ['utf-8', 'utf8'],
    ['UTF8', 'utf8'],
    ['iso-8859-1', 'iso-8859-1'],
    ['latin1', 'latin1'],
    ['us-ascii', 'latin1'], // the carrier for undeclared 8-bit bytes in a us-ascii part
    ['windows-1252', 'windows1252'], // five unassigned bytes, all read as U+FFFD, which writes back as 0x9D
    ['koi8-r', 'koi8r'],
    ['iso-8859-15', 'iso885915'],
    ['windows-1251', 'windows1251'],
    ['cp437', 'cp437'],
    ['macroman', 'macroman'],
    // Single-byte, but not ASCII in 0x00-0x7F: iconv-lite's own loops, without the round trip.
    ['viscii', 'viscii'],
    ['cp864', 'cp864'],
  ])("%s decodes and encodes exactly as iconv-lite's %s, on any bytes and any string", (name, iconvName) => {
    // Bytes weighted toward UTF-8's edges: lead bytes, continuations, overlongs, surrogates (ED A0..BF), BOM, FF.
    const edgy = fc.constantFrom(0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xa0, 0xef, 0xbb, 0xf0, 0xf4, 0xf5, 0xff);
    const bytes = fc.array(fc.oneof(edgy, fc.integer({ min: 0, max: 255 })), { maxLength: 64 }).map((list) => Buffer.from(list));
    fc.assert(
      fc.property(bytes, (data) => {
        // A us-ascii part's codec depends on its bytes: with 8-bit ones it carries them as ISO-8859-1.
        const c = codec(name, data);
        expect(c.decode(data)).toBe(iconv.decode(data, iconvName, { stripBOM: false }));
        // What decodePart asks instead of making the round trip must be the round trip's answer.
        const roundTrip = iconv.encode(iconv.decode(data, iconvName, { stripBOM: false }), iconvName, { addBOM: false }).equals(data);
        expect(c.reversible?.(data)).toBe(roundTrip);
      }),
      { numRuns: 3000 },
    );
    // Strings with lone surrogates and characters past U+00FF: what a charset cannot hold is refused by
    // both. "?" is what iconv-lite writes for such a character; € and Cyrillic are in some of the charsets.
    const c = codec(name, Buffer.from([0xff]));
    const units = fc.array(
      fc.oneof(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0x1ff }),
        fc.constantFrom(0xd800, 0xdbff, 0xdc00, 0xdfff, 0xfeff, 0xfffd, 0x3f, 0x20ac, 0x2014, 0x0416, 0x0451, 0x2591),
      ),
      { maxLength: 32 },
    );
    fc.assert(
      fc.property(units, (codes) => {
        const text = String.fromCharCode(...codes);
        const theirs = iconv.encode(text, iconvName, { addBOM: false });
        const theirsOk = iconv.decode(theirs, iconvName, { stripBOM: false }) === text;
        expect(c.encode(text)?.toString('hex') ?? null).toBe(theirsOk ? theirs.toString('hex') : null);
      }),
      { numRuns: 3000 },
    );
  });
});

// The part's self-check compares bytes (src/mime/part.ts, decodesTo): it holds only if every codec's
// encode gives bytes just when they decode to the very text.
describe('encode gives bytes only when they decode to the text', () => {
  it.each([
    ['utf-8', Buffer.alloc(0)],
    ['iso-8859-1', Buffer.alloc(0)],
    ['us-ascii', Buffer.from('ab')],
    ['us-ascii', Buffer.from([0xe9])],
    ['windows-1252', Buffer.alloc(0)],
    ['koi8-r', Buffer.alloc(0)],
    ['shift_jis', Buffer.alloc(0)],
    ['iso-2022-jp', Buffer.alloc(0)],
    ['utf-16le', Buffer.alloc(0)],
    ['utf-16', Buffer.from([0xfe, 0xff])],
    ['utf-32', Buffer.alloc(0)],
  ])('%s (sample %o)', (name, sample) => {
    const c = codec(name, sample);
    const units = fc.array(
      fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0x1ff }), fc.constantFrom(0x3042, 0x65e5, 0xd800, 0xdc00, 0xfeff, 0x20ac)),
      { maxLength: 24 },
    );
    fc.assert(
      fc.property(units, (codes) => {
        const text = String.fromCharCode(...codes);
        const bytes = c.encode(text);
        if (bytes !== null) expect(c.decode(bytes)).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });
});
