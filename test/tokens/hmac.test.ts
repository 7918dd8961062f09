import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hmacKey, hmacSha256 } from '../../src/tokens/hmac.js';

function ours(secret: Buffer, data: Uint8Array, size = 32): Buffer {
  const out = Buffer.alloc(size + 3);
  hmacSha256(hmacKey(createSecretKey(secret)), data, data.length, out, 3, size);
  return out.subarray(3);
}

describe('HMAC-SHA256 with precomputed pads', () => {
  it('equals node:crypto for every length across three blocks and both padding cases', () => {
    const secret = randomBytes(32);
    const key = hmacKey(createSecretKey(secret));
    for (let length = 0; length <= 200; length++) {
      const data = randomBytes(length);
      const out = Buffer.alloc(32);
      hmacSha256(key, data, length, out, 0);
      expect(out.toString('hex'), `length ${length}`).toBe(createHmac('sha256', secret).update(data).digest('hex'));
    }
  });

  it('equals node:crypto for any key of up to a block, any data, prefix and truncation', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ maxLength: 600 }),
        fc.nat(600),
        fc.integer({ min: 1, max: 32 }),
        (key, data, cut, size) => {
          const secret = Buffer.from(key);
          const length = Math.min(cut, data.length);
          const expected = createHmac('sha256', secret).update(data.subarray(0, length)).digest().subarray(0, size);
          const out = Buffer.alloc(size + 3);
          hmacSha256(hmacKey(createSecretKey(secret)), data, length, out, 3, size);
          expect(out.subarray(3)).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('matches RFC 4231 test case 2', () => {
    expect(ours(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?')).toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });

  it('keeps one prepared key per KeyObject and refuses keys longer than a block', () => {
    const key = createSecretKey(randomBytes(32));
    expect(hmacKey(key)).toBe(hmacKey(key));
    expect(() => hmacKey(createSecretKey(randomBytes(65)))).toThrow(RangeError);
  });
});
