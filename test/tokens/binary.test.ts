import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, MAX_VARINT } from '../../src/tokens/binary.js';
import { decodeTokenText, encodeTokenText } from '../../src/tokens/token-text.js';

describe('binary writer and reader', () => {
  it('round trips varints, bytes and strings', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: MAX_VARINT }),
        fc.uint8Array(),
        fc.string({ unit: 'grapheme' }),
        fc.integer({ min: 0, max: 255 }),
        (n, bytes, text, b) => {
          const reader = new ByteReader(new ByteWriter().varint(n).sizedBytes(bytes).string(text).byte(b).toBuffer());
          expect([reader.varint(), Buffer.from(reader.sizedBytes()), reader.string(), reader.byte()]).toEqual([n, Buffer.from(bytes), text, b]);
          expect(reader.complete).toBe(true);
        },
      ),
    );
  });

  it('varints are as short as they can be', () => {
    expect(new ByteWriter().varint(127).toBuffer()).toEqual(Buffer.of(0x7f));
    expect(new ByteWriter().varint(128).toBuffer()).toEqual(Buffer.of(0x80, 0x01));
    expect(new ByteWriter().varint(MAX_VARINT).toBuffer().length).toBe(5);
    expect(() => new ByteWriter().varint(MAX_VARINT + 1)).toThrow(RangeError);
    expect(() => new ByteWriter().varint(-1)).toThrow(RangeError);
  });

  it('the reader never throws and reports overruns, overlong varints and invalid UTF-8', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const reader = new ByteReader(Buffer.from(bytes));
        reader.varint();
        reader.string();
        reader.sizedBytes();
        reader.byte();
        expect(typeof reader.ok).toBe('boolean');
      }),
    );
    expect(new ByteReader(Buffer.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).varint()).toBe(0);
    const badUtf8 = new ByteReader(Buffer.of(2, 0xc3, 0x28));
    badUtf8.string();
    expect(badUtf8.ok).toBe(false);
    const overrun = new ByteReader(Buffer.of(5, 1));
    overrun.sizedBytes();
    expect(overrun.ok).toBe(false);
    const leftover = new ByteReader(Buffer.of(1, 2));
    leftover.byte();
    expect([leftover.ok, leftover.complete]).toEqual([true, false]);
  });
});

describe('token text', () => {
  it('round trips any bytes and refuses any spelling that is not canonical', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1 }), (bytes) => {
        expect(decodeTokenText(encodeTokenText(bytes))).toEqual(Buffer.from(bytes));
      }),
    );
    expect(decodeTokenText('AB')).toBeNull(); // 'AA' is the canonical spelling of byte 0x00
    expect(decodeTokenText('AAA=')).toBeNull();
    expect(decodeTokenText('A-A')).toBeNull();
    expect(decodeTokenText('A')).toBeNull();
    expect(decodeTokenText('')).toBeNull();
  });

  it('accepts exactly the spellings that encode back to themselves, whatever the characters', () => {
    // Text near the alphabet: its characters, base64's own `+/-=`, non-ASCII ones whose low byte is
    // in the alphabet (Ā is 0x100, 0x100 + 'A'), and spaces.
    const near = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~_+/-= \u0141\u0100\u00c1'.split(''));
    fc.assert(
      fc.property(fc.array(near, { maxLength: 24 }), (chars) => {
        const text = chars.join('');
        // The definition: what Node's base64url decoder makes of it, kept only if it spells itself.
        const loose = /^[A-Za-z0-9_~]+$/.test(text) ? Buffer.from(text.replaceAll('~', '-'), 'base64url') : null;
        const canonical = loose && encodeTokenText(loose) === text ? loose : null;
        expect(decodeTokenText(text)).toEqual(canonical);
      }),
      { numRuns: 5000 },
    );
    // Every last character of a 2- and 3-character tail: only those with the unused bits clear pass.
    for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789~_') {
      expect(decodeTokenText(`AA${c}`) !== null).toBe('AEIMQUYcgkosw048'.includes(c));
      expect(decodeTokenText(`AAA${c}`)).toEqual(Buffer.from(`AAA${c === '~' ? '-' : c}`, 'base64url'));
      expect(decodeTokenText(`A${c}`) !== null).toBe('AQgw'.includes(c));
    }
  });

  it('is base64url without padding, `~` for `-`, for any length (the table encoder grows past its first buffer)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (bytes) => {
        expect(encodeTokenText(bytes)).toBe(Buffer.from(bytes).toString('base64url').replaceAll('-', '~'));
      }),
      { numRuns: 300 },
    );
    const all = Buffer.from(Array.from({ length: 256 * 3 }, (_, i) => (i * 7) % 256));
    for (let length = 0; length <= all.length; length += 1) {
      expect(encodeTokenText(all.subarray(0, length))).toBe(all.subarray(0, length).toString('base64url').replaceAll('-', '~'));
    }
  });
});
