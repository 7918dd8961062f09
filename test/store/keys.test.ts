import { describe, expect, it } from 'vitest';
import { encodeSendId, encodeTime, eventKey, eventKeyFromRetentionKey, eventRetentionKey, parseEventKey } from '../../src/store/keys.js';

describe('key encoding', () => {
  it('times sort bytewise as numbers', () => {
    const times = [0, 1, 255, 256, 65_535, 2 ** 40, 1_700_000_000_000, 1_700_000_000_001, 2 ** 48 - 1];
    const keys = times.map((t) => encodeTime(new Date(t)));
    expect([...keys].sort(Buffer.compare)).toEqual(keys);
    expect(() => encodeTime(new Date(-1))).toThrow(RangeError);
    expect(() => encodeTime(new Date(2 ** 48))).toThrow(RangeError);
    expect(() => encodeTime(new Date(NaN))).toThrow(RangeError);
  });

  it('no sendId key is a prefix of another', () => {
    const sends = ['', 'a', 'a1', 'a10', 'a100', 'a1\u0000', 'ä'];
    for (const a of sends) {
      for (const b of sends) {
        if (a === b) continue;
        const ka = encodeSendId(a);
        expect(encodeSendId(b).subarray(0, ka.length).equals(ka)).toBe(false);
      }
    }
  });

  it('an event retention entry leads back to its event key', () => {
    const sendId = encodeSendId('a100525');
    const time = encodeTime(new Date(1_700_000_000_123));
    const id = Buffer.from('0011223344556677', 'hex');
    const key = eventKey(sendId, time, id);
    expect(eventKeyFromRetentionKey(eventRetentionKey(time, sendId, id))).toEqual(key);
    expect(parseEventKey(key)).toEqual({ sendIdLength: sendId.length, time: new Date(1_700_000_000_123), id });
  });
});
