import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeInfoHeader, encodeInfoHeader, INFO_CHUNK_CHARS, INFO_HEADER_NAME } from '../../src/tokens/info-header.js';
import { anyText, LONG_ADDRESS, testKey, testKeyring } from './fixtures.js';

const keyring = testKeyring();
const anyFields = fc.record({ recipient: fc.oneof(fc.emailAddress(), anyText), sendId: anyText, listId: anyText, emailCode: anyText });
const anyWhitespace = fc.constantFrom(' ', '\t', '\r\n ', '\r\n\t', '\n ', '  ', '\r\n  ');

/** Inserts whitespace at the given points, as a folding MTA or a bounce generator quoting the header might. */
function fold(value: string, cuts: Array<[number, string]>): string {
  const at = [...cuts].map(([seed, space]) => [seed % (value.length + 1), space] as const).sort((a, b) => b[0] - a[0]);
  let out = value;
  for (const [index, space] of at) out = out.slice(0, index) + space + out.slice(index);
  return out;
}

describe('X-Mailer-Info-Extra', () => {
  it('round trips, whatever whitespace is folded in wherever', () => {
    fc.assert(
      fc.property(anyFields, fc.array(fc.tuple(fc.nat(), anyWhitespace), { maxLength: 12 }), (fields, cuts) => {
        const value = encodeInfoHeader(keyring, fields);
        expect(decodeInfoHeader(keyring, fold(value, cuts))).toEqual({ ok: true, kid: 1, ...fields });
        expect(decodeInfoHeader(keyring, `  ${value}\r\n`)).toEqual({ ok: true, kid: 1, ...fields });
      }),
      { numRuns: 500 },
    );
  });

  it('comes in chunks an MTA can fold under 78 columns, the header name included', () => {
    const value = encodeInfoHeader(keyring, { recipient: LONG_ADDRESS, sendId: 'a100525', listId: 'list-2024-07', emailCode: 'c8f31d0e2a' });
    const chunks = value.split(' ');
    expect(chunks.length).toBeGreaterThan(1);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(INFO_CHUNK_CHARS);
    expect(`${INFO_HEADER_NAME}: ${chunks[0]}`.length).toBeLessThan(78);
    console.log(`${INFO_HEADER_NAME} for a ${LONG_ADDRESS.length}-character address: ${value.length} characters: ${value}`);
  });

  it('rejects any flipped bit, truncation, another key and an unknown key', () => {
    const twoKeys = testKeyring([testKey(1), testKey(2, 'b')], 1);
    fc.assert(
      fc.property(anyFields, fc.nat(), (fields, seed) => {
        const bytes = Buffer.from(encodeInfoHeader(keyring, fields).replace(/ /g, ''), 'base64url');
        const bit = seed % (bytes.length * 8);
        bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7));
        expect(decodeInfoHeader(twoKeys, bytes.toString('base64url')).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
    const value = encodeInfoHeader(keyring, { recipient: 'r@example.com', sendId: 'a1', listId: 'l', emailCode: 'e' }).replace(/ /g, '');
    for (let length = 0; length < value.length; length++) expect(decodeInfoHeader(keyring, value.slice(0, length)).ok).toBe(false);
    const moved = Buffer.from(value, 'base64url');
    moved[1] = 2;
    expect(decodeInfoHeader(twoKeys, moved.toString('base64url'))).toEqual({ ok: false, code: 'bad-mac' });
    expect(decodeInfoHeader(testKeyring([testKey(3)], 3), value)).toEqual({ ok: false, code: 'unknown-key' });
    expect(decodeInfoHeader(testKeyring([testKey(1, 'other')], 1), value)).toEqual({ ok: false, code: 'bad-mac' });
  });

  it('never throws on junk', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.base64String()), (junk) => {
        expect(decodeInfoHeader(keyring, junk).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
    expect(decodeInfoHeader(keyring, 'A'.repeat(100_000))).toEqual({ ok: false, code: 'malformed' });
    expect(decodeInfoHeader(keyring, undefined as unknown as string)).toEqual({ ok: false, code: 'malformed' });
  });
});
