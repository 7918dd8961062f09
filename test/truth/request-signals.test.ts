import { describe, expect, it } from 'vitest';
import { parseRangeFile, RangeTable } from '../../src/truth/address-ranges.js';
import { requestReasons, type RequestFacts } from '../../src/truth/request-signals.js';
import { userAgentReason } from '../../src/truth/user-agents.js';
import { verdictOf } from '../../src/truth/verdict.js';

const NOW = 1_700_000_000_000;
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const ranges = new RangeTable([
  parseRangeFile('v.txt', '# reason: range:vendor\n203.0.113.0/24\n'),
  parseRangeFile('a.txt', '# reason: apple-mpp\n# kind: open\n17.0.0.0/8\n'),
]);
const settings = { ranges, userAgentReason, fastClickMs: 0, earlyMs: 60_000 };

function facts(over: Partial<RequestFacts>): RequestFacts {
  return { kind: 'click', method: 'GET', userAgent: FIREFOX, ip: '198.51.100.4', deliveredAt: NOW - 3_600_000, now: NOW, ...over };
}

describe('requestReasons', () => {
  it('finds nothing in a browser GET an hour after delivery', () => {
    expect(requestReasons(facts({}), settings)).toEqual([]);
  });

  it('flags HEAD and OPTIONS', () => {
    expect(requestReasons(facts({ method: 'HEAD' }), settings)).toEqual(['head']);
    expect(requestReasons(facts({ method: 'OPTIONS' }), settings)).toEqual(['options']);
  });

  it('flags vendor ranges, and Apple MPP ranges on opens only', () => {
    expect(requestReasons(facts({ ip: '203.0.113.9' }), settings)).toEqual(['range:vendor']);
    expect(requestReasons(facts({ ip: '17.1.2.3', kind: 'open' }), settings)).toEqual(['apple-mpp']);
    expect(requestReasons(facts({ ip: '17.1.2.3' }), settings)).toEqual([]);
    // the user agent and the range say the same: one reason
    expect(requestReasons(facts({ ip: '17.1.2.3', kind: 'open', userAgent: 'Mozilla/5.0' }), settings)).toEqual(['apple-mpp']);
  });

  it('makes time since delivery a weak reason, and fast-click a strong one only when configured', () => {
    const early = requestReasons(facts({ deliveredAt: NOW - 5_000 }), settings);
    expect(early).toEqual(['early']);
    expect(verdictOf(early)).toBeUndefined();
    expect(requestReasons(facts({ deliveredAt: NOW - 5_000 }), { ...settings, fastClickMs: 10_000 })).toEqual(['fast-click', 'early']);
    expect(requestReasons(facts({ deliveredAt: NOW - 5_000, kind: 'open' }), { ...settings, fastClickMs: 10_000 })).toEqual(['early']);
    expect(requestReasons(facts({ deliveredAt: NOW - 5_000 }), { ...settings, earlyMs: 0 })).toEqual([]);
    expect(requestReasons(facts({ deliveredAt: undefined }), settings)).toEqual([]);
  });
});

describe('verdictOf', () => {
  it('needs one strong reason or two weak ones', () => {
    expect(verdictOf([])).toBeUndefined();
    expect(verdictOf(['early'])).toBeUndefined();
    expect(verdictOf(['no-open'])).toBeUndefined();
    expect(verdictOf(['early', 'no-open'])).toBe('early,no-open');
    expect(verdictOf(['early', 'burst'])).toBe('burst');
    expect(verdictOf(['head', 'automated'])).toBe('head,automated');
    expect(verdictOf(['burst'])).toBe('burst');
  });

  it('gives what its definition gives for every list of up to three reasons, short ones included', () => {
    // The definition: the strong reasons if any, else the weak ones when there are enough of them.
    const defined = (reasons: string[]): string | undefined => {
      const strong = reasons.filter((r) => r !== 'early' && r !== 'no-open');
      if (strong.length > 0) return strong.join(',');
      const weak = reasons.filter((r) => r === 'early' || r === 'no-open');
      return weak.length >= 2 ? weak.join(',') : undefined;
    };
    const pool = ['early', 'no-open', 'burst', 'head'];
    const lists: string[][] = [[]];
    for (let size = 1; size <= 3; size++) for (const list of lists.filter((l) => l.length === size - 1)) for (const r of pool) lists.push([...list, r]);
    expect(lists).toHaveLength(85);
    for (const list of lists) expect(verdictOf(list)).toBe(defined(list));
  });
});
